package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
)

func dryRun(o *Options) { o.DryRun = true }

// logLines returns the log's lines with one of the given prefixes.
func logLines(log string, prefixes ...string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return out
}

func TestLiveDryRunSaysWhatIsInPlace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "livedry")
	owner := app{key: "ld_owner", db: "ld_db", user: "ld_owner_user", password: "pw-o"}
	rd := app{key: "ld_rd", db: "ld_db", user: "ld_rd_user", password: "pw-r", access: "reader"}
	f.seedApps(owner, rd)
	mustRun(t, f)

	// A new reader on the same database: only its steps are changes.
	newRd := app{key: "ld_new", db: "ld_db", user: "ld_new_user", password: "pw-n", access: "reader"}
	f.seedApps(owner, rd, newRd)
	log := &statementLog{}
	out := mustRun(t, f, dryRun, func(o *Options) { o.Tracer = log })
	want := []string{
		"[NO_CHANGE] Role ld_owner_user exists: its password would be set from goldenpath/livedry/ld_owner/postgres",
		"[NO_CHANGE] Database ld_db exists with owner ld_owner_user",
		"[NO_CHANGE] Grants already in place: ALL on ld_db to ld_owner_user",
		"[NO_CHANGE] Role ld_rd_user exists: its password would be set from goldenpath/livedry/ld_rd/postgres",
		"[NO_CHANGE] Database ld_db exists with owner ld_owner_user (access_level reader)",
		"[NO_CHANGE] Grants already in place: SELECT on ld_db to ld_rd_user",
		"[DRY-RUN] Would create/update role: ld_new_user",
		"[NO_CHANGE] Database ld_db exists with owner ld_owner_user (access_level reader)",
		"[DRY-RUN] Would grant SELECT on ld_db to ld_new_user",
	}
	if diff := cmp.Diff(want, logLines(out.log, "[NO_CHANGE]", "[DRY-RUN]", "[WARNING]", "[ERROR]")); diff != "" {
		t.Errorf("dry-run lines (-want +got):\n%s", diff)
	}
	if got := log.changes(); len(got) != 0 {
		t.Errorf("the dry run sent:\n%s", strings.Join(got, "\n"))
	}
	if roleExists(t, "ld_new_user") {
		t.Error("the dry run created a role")
	}
}

func TestDryRunRefusesWhatTheRealRunRefuses(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE dref_super LOGIN SUPERUSER PASSWORD 'super-pw'")
	t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS dref_super") })
	f := newFixture(t, "dryrefuse")
	f.seedApps(app{key: "dref", db: "dref_db", user: "dref_super", password: "attacker-pw"})
	dry := f.run(dryRun)
	real := f.run()
	for name, out := range map[string]outcome{"dry run": dry, "real run": real} {
		if !errors.Is(out.err, ErrActionsFailed) {
			t.Errorf("%s: err = %v, want ErrActionsFailed (exit 1)", name, out.err)
		}
	}
	if d, r := dry.message("dref_super", "create_role"), real.message("dref_super", "create_role"); d != r || !strings.Contains(d, "it is a superuser") {
		t.Errorf("dry run says %q, real run %q: want the same refusal", d, r)
	}
}

func TestDryRunBeforeTheAppSecretExists(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "drynosecret")
	f.seedApps(app{key: "dns_app", db: "dns_db", user: "dns_user"}) // no secret: Terraform makes it at merge
	out := f.run(dryRun)
	if out.err != nil {
		t.Fatalf("a missing app secret must not fail the preview: %v\n%s", out.err, out.log)
	}
	want := []string{
		"[WARNING] Secret goldenpath/drynosecret/dns_app/postgres does not exist yet: terraform apply creates it (make rds-apply ENV=drynosecret); planning as if it did",
		"[DRY-RUN] Would create/update role: dns_user",
		"[DRY-RUN] Would create database: dns_db with owner dns_user",
		"[DRY-RUN] Would grant ALL on dns_db to dns_user",
	}
	if diff := cmp.Diff(want, logLines(out.log, "[NO_CHANGE]", "[DRY-RUN]", "[WARNING]", "[ERROR]")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The real run still refuses.
	if real := f.run(); !errors.Is(real.err, ErrActionsFailed) {
		t.Errorf("real run err = %v, want ErrActionsFailed", real.err)
	}
}

func TestDryRunFallsBackOfflineWhenUnreachable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dryoffline")
	f.putSecret("goldenpath/dryoffline/rds/master", map[string]any{
		"host": "127.0.0.1", "port": closedPort(t), "username": "admin", "password": "offline-master-pw", "dbname": "platform",
	})
	f.seedApps(app{key: "keycloak", db: "keycloak", user: "keycloak_user", password: "pw"})
	out := f.run(dryRun)
	if out.err != nil {
		t.Fatalf("err = %v, want exit 0\n%s", out.err, out.log)
	}
	lines := logLines(out.log, "[DRY-RUN]", "[WARNING]", "[ERROR]")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "[WARNING] Failed to connect to RDS: cannot reach 127.0.0.1:") || !strings.Contains(lines[0], "this preview is offline") {
		t.Fatalf("lines:\n%s", strings.Join(lines, "\n"))
	}
	want := []string{
		"[DRY-RUN] Would create/update role: keycloak_user",
		"[DRY-RUN] Would create database: keycloak with owner keycloak_user",
		"[DRY-RUN] Would grant ALL on keycloak to keycloak_user",
	}
	if diff := cmp.Diff(want, lines[1:]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if out.res.Rows[0].Status != audit.Warning || out.res.Rows[0].Action != "connect" {
		t.Errorf("first row = %+v, want a connect warning", out.res.Rows[0])
	}
}

func TestServerWithoutTLSIsNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "notls")
	f.seedApps(app{key: "nt_app", db: "nt_db", user: "nt_user", password: "pw"})
	for _, dry := range []bool{false, true} {
		out := f.run(func(o *Options) { o.SSLMode, o.DryRun = "require", dry })
		if !errors.Is(out.err, ErrActionsFailed) || !strings.Contains(out.log, "the server refused TLS (--sslmode require needs it)") {
			t.Errorf("dry=%v: err %v, log:\n%s", dry, out.err, out.log)
		}
	}
}
