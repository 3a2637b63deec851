// Command release-version moves the release to a new version in every file
// that names it: VERSION, action.yml's image and the reusable workflows'
// images. The CHANGELOG must already carry the release's notes.
//
//	go run ./scripts/release-version v1.2.3    # or: make release-version NEW_VERSION=v1.2.3
package main

import (
	"fmt"
	"os"

	"github.com/goldenpath/rds-provision/internal/release"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: release-version vX.Y.Z")
		os.Exit(2)
	}
	if err := release.SetVersion(".", os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "release-version:", err)
		os.Exit(1)
	}
	if err := release.CheckVersions("."); err != nil {
		fmt.Fprintln(os.Stderr, "release-version: still out of step:", err)
		os.Exit(1)
	}
	fmt.Printf("version %s set; commit, then push the tag %s to release\n", os.Args[1], os.Args[1])
}
