// Package rdsprovision holds what the binary takes from the repository's
// root at build time: the release version in VERSION, the one source of the
// version (internal/release checks action.yml, the workflows and CHANGELOG.md
// against the same file). It sits at the root because go:embed cannot reach
// a parent directory.
package rdsprovision

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var version string

// Version is the release this source tree is, as VERSION says (vX.Y.Z).
func Version() string { return strings.TrimSpace(version) }
