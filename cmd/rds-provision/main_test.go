package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionOfTheBuiltBinary builds the command (with -buildvcs=auto, as make build) and
// checks what --version prints: the release from VERSION and, in a git
// clone, the commit go build stamped (HEAD, "modified" when git status
// lists anything, as cmd/go decides). Go stamps nothing in a linked git
// worktree (golang/go#58218), whose .git is a file, nor outside git.
func TestVersionOfTheBuiltBinary(t *testing.T) {
	raw, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSpace(string(raw))
	bin := filepath.Join(t.TempDir(), "rds-provision")
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("rds-provision --version: %v\n%s", err, out)
	}
	got := strings.TrimSuffix(string(out), "\n")

	want := "rds-provision " + release
	switch layout := gitLayout(t); layout {
	case "clone":
		want += " (commit " + git(t, "rev-parse", "HEAD")
		if git(t, "status", "--porcelain") != "" {
			want += ", modified"
		}
		want += ")"
	case "worktree", "none":
		t.Logf("source is %s: go build stamps no commit", map[string]string{"worktree": "a linked git worktree", "none": "not a git clone"}[layout])
	}
	if got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
	if v, err := exec.Command(bin, "version").Output(); err != nil || string(v) != string(out) {
		t.Errorf("version printed %q (%v), want what --version printed, %q", v, err, out)
	}
}

// gitLayout says how the source is checked out: "clone" (a .git directory,
// which go build stamps), "worktree" (a linked worktree) or "none".
func gitLayout(t *testing.T) string {
	if _, err := exec.LookPath("git"); err != nil {
		return "none"
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "none"
	}
	fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git"))
	switch {
	case err != nil:
		t.Fatalf("git says %s is the top of the checkout, but: %v", top, err)
	case fi.IsDir():
		return "clone"
	}
	return "worktree"
}

func git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
