package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/rotate"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func TestRotateFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		want    rotate.Options
		wantErr string
	}{
		{"due with defaults", []string{"--env", "dev", "--due"}, rotate.Options{Env: "dev", Due: true, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: "goldenpath", BuildID: "manual", RunID: "local", SSLMode: "verify-full", LockTimeout: rotate.DefaultLockTimeout, StatementTimeout: rotate.DefaultStatementTimeout}, ""},
		{"app, dry run, RDS-managed master endpoint", []string{"--env", "prod", "--app", "keycloak", "--dry-run", "--master-secret", "rds!db-1", "--db-host", "db.internal", "--db-port", "5433", "--db-name", "platform", "--lock-timeout", "1m"},
			rotate.Options{Env: "prod", App: "keycloak", DryRun: true, MasterSecret: "rds!db-1", MasterEndpoint: secrets.Endpoint{Host: "db.internal", Port: 5433, DBName: "platform"}, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: "goldenpath", BuildID: "manual", RunID: "local", SSLMode: "verify-full", LockTimeout: time.Minute, StatementTimeout: rotate.DefaultStatementTimeout}, ""},
		{"neither --app nor --due", []string{"--env", "dev"}, rotate.Options{}, "give --app KEY (one entry) or --due"},
		{"both", []string{"--env", "dev", "--app", "x_app", "--due"}, rotate.Options{}, "--app and --due exclude each other"},
		{"no env", []string{"--due"}, rotate.Options{}, "--env is required"},
		{"bad key", []string{"--env", "dev", "--app", "Bad Key"}, rotate.Options{}, `--app "Bad Key"`},
		{"bad port", []string{"--env", "dev", "--due", "--db-port", "70000"}, rotate.Options{}, "--db-port 70000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := parseRotate(tc.args, Env{Stdout: new(strings.Builder), Stderr: new(strings.Builder)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitCode(Env{Stderr: new(strings.Builder)}, err) != ExitUsage {
					t.Fatalf("err = %v, want a usage error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(rotate.Options{}, "Now", "Random", "Audit", "Log", "Mask", "Secrets", "RDS")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// rotate, end to end through the command line: the CSV alone on stdout,
// no password anywhere, and the dry run after it finds nothing due.
func TestRotateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tf := filepath.Join(dir, "terraform.tfvars")
	os.WriteFile(tf, []byte(`application_databases = {
  cli_rot = { database_name = "cli_rot_db", username = "cli_rot_user" }
}
`), 0o644)
	pg.DropOnCleanup(t, []string{"cli_rot_db"}, []string{"cli_rot_user"})
	const old = "cli-rot-old-password-1"
	servers.MustPutSecret(t, "goldenpath/clirot/rds/master", pg.MasterSecret())
	servers.MustPutSecret(t, "goldenpath/clirot/cli_rot/postgres", map[string]any{"username": "cli_rot_user", "password": old, "dbname": "cli_rot_db"})
	common := []string{"--env", "clirot", "--tfvars", tf, "--repo-root", dir, "--sslmode", "disable"}
	if code, _, stderr := cliRun(t, nil, append([]string{"provision", "--skip-preflight"}, common...)...); code != ExitOK {
		t.Fatalf("provision: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := cliRun(t, nil, append([]string{"rotate", "--app", "cli_rot"}, common...)...)
	if code != ExitOK {
		t.Fatalf("rotate: exit %d\n%s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(records) != 2 || records[1][6] != "rotate_secret" || records[1][7] != "success" {
		t.Fatalf("stdout is not the header and one rotate_secret success row (%v):\n%s", err, stdout)
	}
	if !strings.Contains(stderr, "[SUCCESS] Rotated goldenpath/clirot/cli_rot/postgres") {
		t.Errorf("stderr:\n%s", stderr)
	}
	for _, p := range []string{old, pg.MasterPassword} {
		if strings.Contains(stdout+stderr, p) {
			t.Error("a password leaked into the output")
		}
	}
	code, stdout, stderr = cliRun(t, nil, append([]string{"rotate", "--due", "--dry-run"}, common...)...)
	if code != ExitOK || !strings.Contains(stdout, ",rotate_secret,no_change,") || !strings.Contains(stderr, "[NO_CHANGE] Not due: last rotated") {
		t.Errorf("dry run after the rotation: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// One rotation step by hand through the rotation function's code.
	event := filepath.Join(dir, "event.json")
	os.WriteFile(event, []byte(`{"Step":"createSecret","SecretId":"goldenpath/clirot/cli_rot/postgres","ClientRequestToken":"5d0c2a4e-0000-4000-8000-00000000c11e"}`), 0o644)
	lenv := map[string]string{"RDSP_MASTER_SECRET": "goldenpath/clirot/rds/master", "RDSP_SSLMODE": "disable", "AWS_REGION": "eu-west-2"}
	if code, _, stderr := cliRun(t, lenv, "lambda", "--event", event); code != ExitOK || !strings.Contains(stderr, "[SUCCESS] createSecret") {
		t.Errorf("lambda --event: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cliRun(t, lenv, "lambda"); code != ExitError || !strings.Contains(stderr, "inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set)") {
		t.Errorf("lambda outside Lambda: exit %d\n%s", code, stderr)
	}
}
