package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// TestProvisionRefusesHostileInputs: inputs refused before any file outside
// the tfvars, network or database access, with the exit code of their kind.
func TestProvisionRefusesHostileInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nested := write("nested.tfvars", "application_databases = "+strings.Repeat("[", 120<<10)+"\n")
	prod := write("prod.tfvars", "environment = \"prod\"\napplication_databases = {\n  shop = { database_name = \"shop\", username = \"shop_user\" }\n}\n")

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"env with a path", []string{"provision", "--env", "../../tmp/x"}, ExitUsage, []string{`--env "../../tmp/x": must match ^[a-z0-9][a-z0-9-]{0,30}$`}},
		{"env with a slash", []string{"provision", "--env", "dev/x", "--dry-run"}, ExitUsage, []string{`--env "dev/x"`}},
		{"nested brackets", []string{"provision", "--env", "dev", "--tfvars", nested}, ExitError, []string{nested, "the limit is 32"}},
		{"another environment's tfvars", []string{"provision", "--env", "dev", "--require-approval", "--tfvars", prod}, ExitError, []string{prod + ` sets environment = "prod" but the run is for --env dev`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cliRun(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			// Nothing was provisioned: no CSV row after the header.
			if want := map[int]string{ExitUsage: "", ExitError: strings.Join(audit.Header, ",") + "\n"}[code]; stdout != want {
				t.Errorf("stdout = %q, want %q", stdout, want)
			}
		})
	}
}
