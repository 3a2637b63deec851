package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

var (
	servers *testenv.Servers
	pg      *testenv.Postgres
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(s *testenv.Servers) { servers, pg = s, s.Postgres }))
}

// cliRun runs the whole command line in-process.
func cliRun(t *testing.T, getenv map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{
		Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return getenv[k] },
		Now:    time.Now,
	})
	return code, out.String(), errb.String()
}

func TestProvisionCommandWritesOnlyCSVOnStdout(t *testing.T) {
	t.Parallel()
	// testdata/infra's dev entries.
	pg.DropOnCleanup(t, []string{"keycloak", "backstage"}, []string{"keycloak_user", "backstage_user"})
	servers.MustPutSecret(t, "goldenpath/dev/rds/master", map[string]any{"host": pg.Host, "port": fmt.Sprint(pg.Port), "username": pg.MasterUser, "password": pg.MasterPassword, "dbname": pg.MasterDB})
	servers.MustPutSecret(t, "goldenpath/dev/keycloak/postgres", map[string]any{"username": "keycloak_user", "password": "kc-pw"})
	servers.MustPutSecret(t, "goldenpath/dev/backstage/postgres", map[string]any{"password": "bs-pw"})
	auditFile := filepath.Join(t.TempDir(), "audit.csv")
	summaryFile := filepath.Join(t.TempDir(), "summary.md")
	args := []string{"provision", "--env", "dev", "--tfvars", "../../testdata/infra/envs/dev-rds/terraform.tfvars",
		"--master-secret", "goldenpath/dev/rds/master", "--sslmode", "disable",
		"--build-id", "16-01-26-01", "--run-id", "12345678", "--audit-output", auditFile, "--summary-output", summaryFile}
	wantSummary := []string{"## RDS provisioning: dev\n\n**6 rows:** ✅ **6 changed**\n", "## RDS provisioning: dev\n\n**6 rows:** ➖ 6 in place\n"}

	for i, wantStatus := range []audit.Status{audit.Success, audit.NoChange} {
		code, stdout, stderr := cliRun(t, nil, args...)
		if code != ExitOK {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr)
		}
		records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatalf("stdout is not CSV: %v\n%s", err, stdout)
		}
		if diff := cmp.Diff(audit.Header, records[0]); diff != "" {
			t.Fatalf("header (-want +got):\n%s", diff)
		}
		if len(records) != 7 {
			t.Fatalf("want header + 6 rows, got %d records:\n%s", len(records), stdout)
		}
		for _, rec := range records[1:] {
			if rec[1] != "dev" || rec[2] != "16-01-26-01" || rec[3] != "12345678" || rec[7] != string(wantStatus) {
				t.Errorf("run %d row: %v", i, rec)
			}
		}
		if !strings.Contains(stderr, "[INFO] Summary:") {
			t.Errorf("stderr lacks the summary:\n%s", stderr)
		}
		// --summary-output holds this run's report, the same as the
		// action's job summary.
		if md, err := os.ReadFile(summaryFile); err != nil || !strings.HasPrefix(string(md), wantSummary[i]) || !strings.Contains(string(md), "build 16-01-26-01 · run 12345678") {
			t.Errorf("run %d --summary-output (%v):\n%s", i, err, md)
		}
	}
	b, _ := os.ReadFile(auditFile)
	if got := strings.Count(string(b), "timestamp_utc,"); got != 1 {
		t.Errorf("--audit-output has %d header lines, want 1", got)
	}
	if got := strings.Count(string(b), "\n"); got != 13 {
		t.Errorf("--audit-output has %d lines, want 13", got)
	}
}

func TestProvisionExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		getenv map[string]string
		code   int
		stderr string
	}{
		{"no env", []string{"provision"}, nil, ExitUsage, "--env is required"},
		{"bad flag", []string{"provision", "--env", "dev", "--bogus"}, nil, ExitUsage, "flag provided but not defined: -bogus"},
		{"bad mode", []string{"provision", "--env", "dev", "--rds-mode", "x"}, nil, ExitUsage, "--rds-mode"},
		{"bad sslmode", []string{"provision", "--env", "dev", "--sslmode", "none"}, nil, ExitUsage, "invalid --sslmode"},
		{"bad lock timeout", []string{"provision", "--env", "dev", "--lock-timeout", "0s"}, nil, ExitUsage, "--lock-timeout and --statement-timeout must be positive"},
		{"approval", []string{"provision", "--env", "prod", "--require-approval"}, nil, ExitError, "ALLOW_DB_PROVISION=true required for prod environment"},
		{"no tfvars for the environment", []string{"provision", "--env", "qa", "--repo-root", "../../testdata/infra"}, nil, ExitError, "[ERROR] no tfvars file for environment qa: neither ../../testdata/infra/envs/qa/terraform.tfvars (coupled layout) nor ../../testdata/infra/envs/qa-rds/terraform.tfvars (standalone layout) exists; check the environment name"},
		{"help", []string{"provision", "--help"}, nil, ExitOK, "--require-approval"},
		{"help describes the plan", []string{"provision", "--help"}, nil, ExitOK, "executes exactly those steps"},
		{"help names the lock timeout", []string{"provision", "--help"}, nil, ExitOK, "--lock-timeout"},
		{"bad parallel", []string{"provision", "--env", "dev", "--parallel", "0"}, nil, ExitUsage, "--parallel 0: want a number from 1 (serial) to 64"},
		{"help names parallel", []string{"provision", "--help"}, nil, ExitOK, "--parallel"},
		{"unknown command", []string{"deploy"}, nil, ExitUsage, `unknown command "deploy"`},
		{"summary output in no directory", []string{"provision", "--env", "dev", "--summary-output", "/no/such/dir/summary.md"}, nil, ExitUsage, "--summary-output /no/such/dir/summary.md: its directory does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cliRun(t, tc.getenv, tc.args...)
			if code != tc.code || !strings.Contains(stderr+stdout, tc.stderr) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.stderr, stdout, stderr)
			}
			// Standard output is always a CSV document: empty after a usage
			// error, the header alone after a failure before any action.
			want := map[int]string{ExitUsage: "", ExitError: strings.Join(audit.Header, ",") + "\n"}
			if w, ok := want[tc.code]; ok && stdout != w {
				t.Errorf("stdout = %q, want %q", stdout, w)
			}
		})
	}
}

func TestProvisionCoupledModeFromRepoRoot(t *testing.T) {
	t.Parallel()
	servers.MustPutSecret(t, "goldenpath/test/rds/master", map[string]any{"host": pg.Host, "port": pg.Port, "username": pg.MasterUser, "password": pg.MasterPassword, "dbname": pg.MasterDB})
	code, stdout, stderr := cliRun(t, nil, "provision", "--env", "test", "--repo-root", "../../testdata/infra", "--dry-run", "--sslmode", "disable")
	// The test env's app secrets are missing, as before a merge: the plan
	// warns that Terraform creates them and goes on; coupled mode was picked.
	if code != ExitOK || !strings.Contains(stderr, "(coupled mode)") || !strings.Contains(stdout, "Secret goldenpath/test/keycloak/postgres does not exist yet: terraform apply creates it") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
