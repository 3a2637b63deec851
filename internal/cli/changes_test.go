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

func TestChangesDirs(t *testing.T) {
	empty := t.TempDir()
	after := filepath.Join(t.TempDir(), "after")
	if err := os.CopyFS(after, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	before := filepath.Join(t.TempDir(), "before")
	if err := os.CopyFS(before, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	tfvars := filepath.Join(after, "envs/dev-rds/terraform.tfvars")
	raw, err := os.ReadFile(tfvars)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), "application_databases = {\n", "application_databases = {\n  orders = {\n    database_name = \"orders\"\n    username      = \"orders_user\"\n  }\n", 1)
	if err := os.WriteFile(tfvars, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		output     string // --output file and its wanted content; "" none
		wantOutput string
	}{
		{"new standalone entry", []string{"--before-dir", before, "--after-dir", after}, ExitOK, "[\"dev\"]\n", "", "", ""},
		{"empty before directory", []string{"--before-dir", empty, "--after-dir", before}, ExitOK, "[\"dev\",\"test\"]\n", "", "", ""},
		{"output file", []string{"--before-dir", before, "--after-dir", after, "--output", filepath.Join(outDir, "changes.json")}, ExitOK, "[\"dev\"]\n", "",
			"changes.json", "[\"dev\"]\n"},
		{"empty list to the output file", []string{"--before-dir", before, "--after-dir", before, "--output", filepath.Join(outDir, "none.json")}, ExitOK, "[]\n", "",
			"none.json", "[]\n"},
		{"by instance: dev's one implicit instance", []string{"--by-instance", "--before-dir", before, "--after-dir", after, "--output", filepath.Join(outDir, "pairs.json")}, ExitOK,
			"[{\"environment\":\"dev\",\"instance\":\"\"}]\n", "", "pairs.json", "[{\"environment\":\"dev\",\"instance\":\"\"}]\n"},
		{"by instance: nothing changed prints an empty list", []string{"--by-instance", "--before-dir", before, "--after-dir", before}, ExitOK, "[]\n", "", "", ""},
		{"no output file on failure", []string{"--before-dir", before, "--after-dir", after + "/envs/dev-rds/terraform.tfvars", "--output", filepath.Join(outDir, "failed.json")}, ExitUsage, "", "--after-dir " + after + "/envs/dev-rds/terraform.tfvars is not a directory",
			"failed.json", ""},
		{"output into a missing directory", []string{"--before-dir", before, "--after-dir", after, "--output", filepath.Join(outDir, "no-such-dir", "x.json")}, ExitError, "", "write --output",
			"", ""},
		{"empty output", []string{"--before-dir", before, "--after-dir", after, "--output", ""}, ExitUsage, "", "--output must not be empty", "", ""},
		{"before-dir with before", []string{"--before-dir", before, "--after-dir", after, "--before", "HEAD~1"}, ExitUsage, "", "--before cannot be used with --before-dir", "", ""},
		{"after-dir with after", []string{"--before-dir", before, "--after-dir", after, "--after", "HEAD"}, ExitUsage, "", "--after cannot be used with --before-dir", "", ""},
		{"after-dir with repo-root", []string{"--before-dir", before, "--after-dir", after, "--repo-root", after}, ExitUsage, "", "--repo-root cannot be used with --before-dir", "", ""},
		{"after-dir alone", []string{"--after-dir", after}, ExitUsage, "", "--before-dir is required", "", ""},
		{"before-dir alone", []string{"--before-dir", before}, ExitUsage, "", "--after-dir is required", "", ""},
		{"missing before-dir", []string{"--before-dir", filepath.Join(empty, "gone"), "--after-dir", after}, ExitUsage, "", "--before-dir " + filepath.Join(empty, "gone") + ": no such file or directory", "", ""},
		{"neither mode", []string{}, ExitUsage, "", "or --before-dir and --after-dir", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), append([]string{"changes"}, tt.args...), Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now})
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.output == "" {
				return
			}
			got, err := os.ReadFile(filepath.Join(outDir, tt.output))
			switch {
			case tt.wantOutput == "" && !os.IsNotExist(err):
				t.Errorf("--output %s written (%q, %v), want no file", tt.output, got, err)
			case tt.wantOutput != "" && string(got) != tt.wantOutput:
				t.Errorf("--output %s = %q (%v), want %q", tt.output, got, err, tt.wantOutput)
			}
		})
	}
	// Only the output files: no temporary file left behind.
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "changes.json none.json pairs.json" {
		t.Errorf("files beside the output: %v, want changes.json none.json pairs.json", names)
	}
}
