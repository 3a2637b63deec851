package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	rdsprovision "github.com/goldenpath/rds-provision"
)

const versionUsage = `Usage: rds-provision version   (or: rds-provision --version)

Prints the release (the VERSION file, embedded at build) and, when the
binary was built from a git clone, the commit it was built from, marked
"modified" when the tree had uncommitted changes. A build outside git (the
Dockerfile's, or a linked git worktree, which Go does not stamp) prints the
release alone.
`

// runVersion is the version command, and what --version runs.
func runVersion(_ context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	if err := parseFlags(fs, args, versionUsage); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(env.Stdout, versionLine(rdsprovision.Version(), info))
	return nil
}

// versionLine is "rds-provision vX.Y.Z", followed by the commit that go
// build stamped into the binary (vcs.revision, vcs.modified) when it has one.
func versionLine(version string, info *debug.BuildInfo) string {
	line := "rds-provision " + version
	if info == nil {
		return line
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case revision == "":
		return line
	case modified == "true":
		return line + " (commit " + revision + ", modified)"
	default:
		return line + " (commit " + revision + ")"
	}
}
