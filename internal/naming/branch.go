package naming

import (
	"errors"
	"strings"
)

// MaxBranch bounds a branch name this tool reads from or writes to.
const MaxBranch = 100

// CheckBranch returns why b is not a branch name this tool accepts, or
// nil: 1-100 characters A-Z a-z 0-9 . _ / -, a letter or digit first, and
// none of what git refuses in a ref name (git check-ref-format) or an API
// path would read otherwise: "..", "//", "/.", a trailing "/", "." or
// ".lock".
func CheckBranch(b string) error {
	branchByte := func(c byte) bool { return alnum(c) || strings.IndexByte("._/-", c) >= 0 }
	if !matches(b, 1, MaxBranch, alnum, branchByte) || strings.Contains(b, "..") || strings.Contains(b, "//") ||
		strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock") || strings.Contains(b, "/.") {
		return errors.New("must be a branch name of 1-100 characters A-Z a-z 0-9 . _ / -, starting with a letter or digit, without '..', '//', '/.', or a trailing '/', '.' or '.lock'")
	}
	return nil
}
