package secrets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tfPluginDir is where this machine's image keeps the hashicorp/aws
// provider (a filesystem mirror: no registry is reachable here).
func tfPluginDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RDSP_TF_PLUGIN_DIR")
	if dir == "" {
		dir = "/opt/tf-plugins"
	}
	if _, err := os.Stat(filepath.Join(dir, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Fatalf("terraform validate needs the hashicorp/aws provider in a plugin directory: %s has none (set RDSP_TF_PLUGIN_DIR to a directory laid out as registry.terraform.io/hashicorp/aws/<version>/<os_arch>/)", dir)
	}
	return dir
}

// The reference Terraform of the README (app secrets, rotation function)
// is formatted and valid against the real AWS provider.
func TestReferenceTerraformValidates(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("terraform is needed to validate the reference snippets: install the Terraform CLI: %v", err)
	}
	plugins := tfPluginDir(t)
	for _, name := range []string{"terraform-app-secrets.tf", "terraform-rotation-function.tf"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := filepath.Join("..", "..", "examples", name)
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"fmt", "-check", "-diff"},
				{"init", "-backend=false", "-input=false", "-plugin-dir=" + plugins},
				{"validate", "-no-color"},
			} {
				cmd := exec.Command(tf, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}
