package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChangesPrintsJSON(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required for this test: install git")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "development")
	if err := os.CopyFS(dir, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "infra")
	base := git("rev-parse", "HEAD")
	tfvars := filepath.Join(dir, "envs/dev-rds/terraform.tfvars")
	raw, err := os.ReadFile(tfvars)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), "application_databases = {\n", "application_databases = {\n  orders = {\n    database_name = \"orders\"\n    username      = \"orders_user\"\n  }\n", 1)
	if err := os.WriteFile(tfvars, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-q", "-am", "orders")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"new standalone entry", []string{"changes", "--before", base, "--after", "HEAD", "--repo-root", dir}, ExitOK, "[\"dev\"]\n", ""},
		{"nothing changed prints an empty list", []string{"changes", "--before", base, "--after", base, "--repo-root", dir}, ExitOK, "[]\n", ""},
		{"before is required", []string{"changes", "--repo-root", dir}, ExitUsage, "", "--before is required"},
		{"unknown revision", []string{"changes", "--before", "no-such-branch", "--repo-root", dir}, ExitError, "", `revision "no-such-branch" is not in the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tt.args, Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now})
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
