package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequestLocalRefusals: a catalog that cannot be edited safely, and a
// path leading outside --repo-root, exit 1 with the reason and leave
// every file as it was.
func TestRequestLocalRefusals(t *testing.T) {
	const cat = "rds_instance: goldenpath-platform-db-dev\ndatabases: {}\n"
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, catPath string)
		want    string
	}{
		{"two catalogs in one file", func(t *testing.T, dir, catPath string) {
			write(t, catPath, cat+"---\n"+cat)
		}, "keep one catalog per file"},
		{"catalog symlink outside the repo", func(t *testing.T, dir, catPath string) {
			outside := filepath.Join(t.TempDir(), "catalog.yaml")
			write(t, outside, cat)
			if err := os.MkdirAll(filepath.Dir(catPath), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, catPath); err != nil {
				t.Fatal(err)
			}
		}, "resolves outside --repo-root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := infraDir(t)
			catPath := filepath.Join(dir, "docs/20-contracts/resource-catalogs/rds-catalog.yaml")
			tc.prepare(t, dir, catPath)
			tfPath := filepath.Join(dir, "envs/dev-rds/terraform.tfvars")
			tfBefore, _ := os.ReadFile(tfPath)
			catBefore, _ := os.ReadFile(catPath)
			code, _, stderr := runCLI(t, nil, requestArgs(dir, "--local")...)
			if code != ExitError || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 saying %q", code, stderr, tc.want)
			}
			tfAfter, _ := os.ReadFile(tfPath)
			catAfter, _ := os.ReadFile(catPath)
			if string(tfAfter) != string(tfBefore) || string(catAfter) != string(catBefore) {
				t.Error("files changed")
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
