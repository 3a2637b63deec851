package cli

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionLine(t *testing.T) {
	const sha = "05e9cbab74c83f2190b38b2c4913157f092f8a91"
	settings := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "rds-provision v1.2.3"},
		{"built outside git", settings("-trimpath", "true", "CGO_ENABLED", "0"), "rds-provision v1.2.3"},
		{"clean clone", settings("vcs", "git", "vcs.revision", sha, "vcs.modified", "false"), "rds-provision v1.2.3 (commit " + sha + ")"},
		{"uncommitted changes", settings("vcs", "git", "vcs.revision", sha, "vcs.modified", "true"), "rds-provision v1.2.3 (commit " + sha + ", modified)"},
		{"modified without a revision says nothing", settings("vcs.modified", "true"), "rds-provision v1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine("v1.2.3", tc.info); got != tc.want {
				t.Errorf("versionLine = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionCommand: --version and version print the VERSION file's
// release on standard output; a test binary carries no commit.
func TestVersionCommand(t *testing.T) {
	raw, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := "rds-provision " + strings.TrimSpace(string(raw)) + "\n"
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := cliRun(t, nil, args...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if diff := cmp.Diff(want, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("stray argument", func(t *testing.T) {
		code, stdout, stderr := cliRun(t, nil, "version", "extra")
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "unexpected arguments: extra") {
			t.Errorf("exit %d, stdout %q, stderr %q; want a usage error naming the argument", code, stdout, stderr)
		}
	})
}

// TestHelpListsVersion: the top-level help names --version and the
// version command.
func TestHelpListsVersion(t *testing.T) {
	code, stdout, _ := cliRun(t, nil, "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"rds-provision --version", "\n  --version  print the version", "\n  version    print the version"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout)
		}
	}
}
