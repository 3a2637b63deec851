package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// catalogInfra is an infra checkout whose test environment lists three
// entries, with their catalog pending; the shared dev catalog holds a
// test entry and a dev one.
func catalogInfra(t *testing.T) (dir string, files map[string]string) {
	t.Helper()
	dir = t.TempDir()
	files = map[string]string{
		"envs/test-rds/terraform.tfvars": "application_databases = {\n" +
			"  orders = { database_name = \"orders\", username = \"orders_user\" }\n" +
			"  broken = { database_name = \"broken\", username = \"broken_user\" }\n" +
			"  later  = { database_name = \"later\", username = \"later_user\" }\n" +
			"  billing = { database_name = \"billing\", username = \"billing_user\" }\n}\n",
		catalog.Path("test"): "# test catalog\nversion: \"1.0\"\nlast_updated: \"2026-01-15\"\nrds_instance: " + catalog.Instance("test") + "\ndatabases:\n" +
			"  orders:\n    metadata:\n      environment: test\n      status: pending\n" +
			"  broken:\n    metadata:\n      environment: test\n      status: pending\n" +
			"  later:\n    metadata:\n      environment: test\n      status: pending\n",
		catalog.Path("dev"): "last_updated: \"2026-01-15\"\nrds_instance: " + catalog.Instance("dev") + "\ndatabases:\n" +
			"  billing:\n    metadata:\n      environment: test\n      status: pending\n" +
			"  orders:\n    metadata:\n      environment: dev\n      status: pending\n",
	}
	for p, src := range files {
		write(t, filepath.Join(dir, p), src)
	}
	return dir, files
}

// auditOf writes an audit CSV: an older run (build 41) in which every
// entry failed, then the run to record (build 42), in which broken's
// secret was missing and later was never reached.
func auditOf(t *testing.T, dir string) string {
	t.Helper()
	header := strings.Join(audit.Header, ",") + "\n"
	old := "2026-01-15T10:00:00Z,test,41,1,orders,orders_user,create_role,error,1,connection refused\n" +
		"2026-01-15T10:00:00Z,test,41,1,billing,billing_user,create_role,error,1,connection refused\n"
	run := "2026-01-16T10:30:00Z,test,42,2,orders,orders_user,create_role,success,45,Role created\n" +
		"2026-01-16T10:30:00Z,test,42,2,orders,orders_user,create_database,success,300,Database created: orders with owner orders_user\n" +
		"2026-01-16T10:30:00Z,test,42,2,broken,broken_user,fetch_secret,error,0,Secret not found: goldenpath/test/broken/postgres\n" +
		"2026-01-16T10:30:00Z,test,42,2,billing,billing_user,create_role,no_change,12,Password updated for existing role: billing_user\n" +
		"2026-01-16T10:30:00Z,dev,9,9,orders,orders_user,create_role,error,1,another environment's run\n"
	p := filepath.Join(dir, "audit.csv")
	write(t, p, header+old+run)
	return p
}

func TestCatalogStatusLocal(t *testing.T) {
	t.Parallel()
	dir, files := catalogInfra(t)
	csv := auditOf(t, t.TempDir())
	args := []string{"catalog-status", "--env", "test", "--audit", csv, "--repo-root", dir}

	// A dry run prints the diff and writes nothing.
	code, stdout, stderr := runCLI(t, nil, append(args, "--dry-run")...)
	if code != ExitOK || !strings.Contains(stdout, "-      status: pending\n+      status: failed\n") || !strings.Contains(stderr, "[DRY-RUN] Would set the status of orders, broken, billing") {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for p, src := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, p)); string(b) != src {
			t.Errorf("the dry run changed %s", p)
		}
	}

	code, stdout, stderr = runCLI(t, nil, append(args, "--local")...)
	if code != ExitOK || stdout != "" {
		t.Fatalf("local: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"[INFO] orders: active\n", "[INFO] broken: failed (Secret not found: goldenpath/test/broken/postgres)\n", "[INFO] billing: active\n",
		"[INFO] Wrote the status of orders, broken, billing in " + dir} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	status := map[string]string{}
	for _, p := range []string{catalog.Path("test"), catalog.Path("dev")} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		entries, err := catalog.Entries(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			status[e.Environment+"/"+e.Name] = e.Status
		}
	}
	// The older run's errors and another environment's rows do not count;
	// an entry the run never reached keeps its status.
	want := map[string]string{"test/orders": "active", "test/broken": "failed", "test/later": "pending", "test/billing": "active", "dev/orders": "pending"}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	code, _, stderr = runCLI(t, nil, append(args, "--local")...)
	if code != ExitOK || !strings.Contains(stderr, "already says so: nothing to write") {
		t.Errorf("rerun: exit %d\n%s", code, stderr)
	}

	// --build-id and --run-id pick the older run of the file.
	code, _, stderr = runCLI(t, nil, append(args, "--local", "--build-id", "41", "--run-id", "1")...)
	if code != ExitOK || !strings.Contains(stderr, "[INFO] orders: failed (connection refused)") {
		t.Errorf("older run: exit %d\n%s", code, stderr)
	}
}

func TestCatalogStatusRefusals(t *testing.T) {
	t.Parallel()
	dir, _ := catalogInfra(t)
	csv := auditOf(t, t.TempDir())
	notCSV := filepath.Join(t.TempDir(), "audit.csv")
	write(t, notCSV, "timestamp,env\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no such run", []string{"--env", "test", "--audit", csv, "--run-id", "3"}, `has no row of environment test with build_id "42" and run_id "3"`},
		{"no rows of the environment", []string{"--env", "prod", "--audit", csv}, "has no row of environment prod"},
		{"not an audit", []string{"--env", "test", "--audit", notCSV}, "line 1 is not the header"},
		{"no audit file", []string{"--env", "test", "--audit", filepath.Join(dir, "none.csv")}, "read --audit"},
		{"no tfvars", []string{"--env", "test", "--audit", csv, "--tfvars", filepath.Join(dir, "none.tfvars")}, "none.tfvars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"catalog-status", "--repo-root", dir, "--local"}, tc.args...)...)
			if code != ExitError || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 1 saying %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
		})
	}
}

// Through GitHub, a dry run only reads; the status is one commit on the
// branch, its SHA on standard output; the audit comes on standard input.
func TestCatalogStatusCommitsThroughGitHub(t *testing.T) {
	t.Parallel()
	dir, files := catalogInfra(t)
	csv, err := os.ReadFile(auditOf(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", map[string]string{catalog.Path("test"): files[catalog.Path("test")], catalog.Path("dev"): files[catalog.Path("dev")]})
	getenv := map[string]string{"GITHUB_TOKEN": srv.Token(), "GITHUB_REPOSITORY": srv.Repository(), "GITHUB_API_URL": srv.URL()}
	args := []string{"catalog-status", "--env", "test", "--audit", "-", "--repo-root", dir}
	before := len(srv.Commits("development"))

	// A dry run through GitHub reads the branch only, and prints the diff.
	code, stdout, stderr := runCLIWithStdin(t, getenv, string(csv), append(args, "--dry-run")...)
	for _, c := range srv.Calls() {
		if !strings.HasPrefix(c, "GET ") {
			t.Errorf("the dry run wrote: %s", c)
		}
	}
	if code != ExitOK || !strings.Contains(stdout, "+      status: failed\n") || !strings.Contains(stderr, "[DRY-RUN] Would set the status of orders, broken, billing on branch development") {
		t.Errorf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLIWithStdin(t, getenv, string(csv), args...)
	commits := srv.Commits("development")
	if code != ExitOK || len(commits) != before+1 || stdout != commits[0].SHA+"\n" {
		t.Fatalf("exit %d, %d new commits\nstdout:\n%s\nstderr:\n%s", code, len(commits)-before, stdout, stderr)
	}
	if !strings.HasPrefix(commits[0].Message, "catalog: billing, broken, orders in test after provisioning\n") {
		t.Errorf("commit message %q", commits[0].Message)
	}
	if got := srv.Files("development")[catalog.Path("test")]; !strings.Contains(got, "  broken:\n    metadata:\n      environment: test\n      status: failed\n") {
		t.Errorf("test catalog:\n%s", got)
	}
	for p, src := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, p)); string(b) != src {
			t.Errorf("the commit through GitHub changed the working tree's %s", p)
		}
	}

	// A rerun makes no commit.
	code, stdout, stderr = runCLIWithStdin(t, getenv, string(csv), args...)
	if code != ExitOK || stdout != "" || len(srv.Commits("development")) != before+1 || !strings.Contains(stderr, "already says so") {
		t.Errorf("rerun: exit %d, stdout %q, %d commits\n%s", code, stdout, len(srv.Commits("development"))-before, stderr)
	}
}

func runCLIWithStdin(t *testing.T, getenv map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return getenv[k] },
		Now:    func() time.Time { return time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC) },
	})
	return code, out.String(), errb.String()
}
