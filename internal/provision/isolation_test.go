package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// This file is longer than the package's others (about 650 lines) on
// purpose: it is the one place that holds every attack of issue 15 with
// the harness that plants them, so a reviewer reads the threat model in
// one file; split it along the attacks, not the harness, if it grows.

// The attacks of issue 15, planted as a tenant plants them: logged in as
// the owner role of its own database with its own password, no pull
// request, no special setup. Each test asserts that nothing ran as the
// master: after a dry run and after a real run the attacker's memberships,
// attributes and access to the other team's table are what they were (and
// what they should be), and no function the attacker planted ran in a
// session of the master. make test-pg-matrix runs them on PostgreSQL 15 to
// 18.

// tenants is one test's shared instance: an attacker's team and a victim's
// team, provisioned by a first run, listed in that order (so a run that
// stopped at the attacker would not reach the victim), then any later
// entries.
type tenants struct {
	t        *testing.T
	f        *fixture
	prefix   string
	att, vic app
	listener *pgx.Conn
	mu       sync.Mutex
	ran      []string // "session_user current_user" of each planted call
}

// payloadSQL is the attacker's function: it says where it ran, then tries
// what a function running as the master could do (each attempt in its own
// subtransaction, so a refusal does not stop the others or the query that
// called it).
const payloadSQL = `
CREATE FUNCTION public.rdsp_payload() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM pg_catalog.pg_notify('rdsp_ran', session_user || ' ' || current_user);
  BEGIN EXECUTE 'GRANT %[1]s TO %[2]s'; EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN EXECUTE 'GRANT rds_superuser TO %[2]s'; EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN EXECUTE 'ALTER ROLE %[2]s CREATEROLE'; EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN EXECUTE 'GRANT CONNECT ON DATABASE %[3]s TO %[2]s'; EXCEPTION WHEN OTHERS THEN NULL; END;
  RETURN true;
END
$f$`

func newTenants(t *testing.T, name, attSchema string) *tenants {
	t.Helper()
	p := "iso_" + name
	h := &tenants{t: t, prefix: p,
		att: app{key: p + "_att", db: p + "_att_db", user: p + "_att_user", password: "pw-att-" + name, schema: attSchema},
		vic: app{key: p + "_vic", db: p + "_vic_db", user: p + "_vic_user", password: "pw-vic-" + name},
	}
	h.f = newFixture(t, "iso-"+name)
	h.f.seedApps(h.att, h.vic)
	mustRun(t, h.f)
	if err := as(t, h.vic.user, h.vic.password, h.vic.db, "CREATE TABLE payroll (secret text); INSERT INTO payroll VALUES ('salaries')"); err != nil {
		t.Fatal(err)
	}
	h.plant(fmt.Sprintf(payloadSQL, ident(h.vic.user), ident(h.att.user), ident(h.vic.db)))
	cfg, err := pgx.ParseConfig(adminURL(h.att.db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ran = append(h.ran, n.Payload)
	}
	if h.listener, err = pgx.ConnectConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.listener.Close(context.Background()) })
	if _, err := h.listener.Exec(context.Background(), "LISTEN rdsp_ran"); err != nil {
		t.Fatal(err)
	}
	return h
}

// plant runs the statements as the attacker, in its own database, in one
// session (the settings it plants would refuse the next one).
func (h *tenants) plant(sql ...string) {
	h.t.Helper()
	if err := as(h.t, h.att.user, h.att.password, h.att.db, strings.Join(sql, ";\n")); err != nil {
		h.t.Fatalf("plant: %v\n%s", err, strings.Join(sql, ";\n"))
	}
}

// calls returns the sessions the planted functions ran in since the last
// call. The listener's query makes the server deliver every notification
// of the transactions committed before it.
func (h *tenants) calls() []string {
	h.t.Helper()
	if _, err := h.listener.Exec(context.Background(), "SELECT 1"); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.ran
	h.ran = nil
	return out
}

// access is what the attacker holds that the tests watch.
type access struct {
	VictimMember, RDSSuperuser, Super, CreateRole, CreateDB, Replication, BypassRLS bool
	ConnLimit                                                                       int
	MemberOf                                                                        string
	VictimConnect, VictimSelect                                                     bool
}

// safe is what a provisioned app role holds: CREATEDB, nothing else.
var safe = access{CreateDB: true, ConnLimit: -1}

func (h *tenants) access() access {
	h.t.Helper()
	var a access
	ctx := context.Background()
	err := adminConn(h.t, "postgres").QueryRow(ctx, `
SELECT pg_has_role(r.oid, $2::regrole, 'MEMBER'), pg_has_role(r.oid, 'rds_superuser'::regrole, 'MEMBER'),
       r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       COALESCE((SELECT string_agg(m.roleid::regrole::text, ',' ORDER BY 1) FROM pg_auth_members m WHERE m.member = r.oid), ''),
       has_database_privilege(r.oid, $3, 'CONNECT')
FROM pg_roles r WHERE r.rolname = $1`, h.att.user, h.vic.user, h.vic.db).Scan(
		&a.VictimMember, &a.RDSSuperuser, &a.Super, &a.CreateRole, &a.CreateDB, &a.Replication, &a.BypassRLS, &a.ConnLimit, &a.MemberOf, &a.VictimConnect)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := adminConn(h.t, h.vic.db).QueryRow(ctx, `SELECT has_table_privilege($1, 'public.payroll', 'SELECT')`, h.att.user).Scan(&a.VictimSelect); err != nil {
		h.t.Fatal(err)
	}
	return a
}

// unharmed asserts that nothing the attacker planted ran as the master, and
// that the attacker still cannot read the victim's table.
func (h *tenants) unharmed(label string) {
	h.t.Helper()
	for _, c := range h.calls() {
		if strings.HasPrefix(c, masterUser+" ") {
			h.t.Errorf("%s: a planted function ran in a session of the master (session_user current_user = %s)", label, c)
		}
	}
	if diff := cmp.Diff(safe, h.access()); diff != "" {
		h.t.Errorf("%s: the attacker's access changed (-safe +now):\n%s", label, diff)
	}
	if conn, err := login(h.att.user, h.att.password, h.vic.db); err == nil {
		var secret string
		err := conn.QueryRow(context.Background(), "SELECT secret FROM payroll").Scan(&secret)
		conn.Close(context.Background())
		if err == nil {
			h.t.Errorf("%s: the attacker reads the victim's payroll: %q", label, secret)
		}
	}
}

// dryAndReal runs a dry run, then a real run, each followed by unharmed,
// and returns both outcomes.
func (h *tenants) dryAndReal(apps []app, mutate ...func(*Options)) (dry, real outcome) {
	h.t.Helper()
	h.f.seedApps(apps...)
	h.calls()
	dry = h.f.run(append([]func(*Options){dryRun}, mutate...)...)
	h.unharmed("dry run")
	real = h.f.run(mutate...)
	h.unharmed("real run")
	return dry, real
}

// newcomer is an entry listed after the attacker's and the victim's, new
// to the instance: provisioned only if the run got past the attacker.
func (h *tenants) newcomer() app {
	n := h.prefix + "_new"
	return app{key: n, db: n + "_db", user: n + "_user", password: "pw-" + n}
}

// noErrors asserts a run recorded no error row.
func noErrors(t *testing.T, label string, out outcome) {
	t.Helper()
	if rows := errorRows(out); len(rows) > 0 || out.err != nil {
		t.Errorf("%s: err %v, error rows %+v\n%s", label, out.err, rows, out.log)
	}
}

// TestTenantOperatorRunsNothingAsTheMaster: pg_catalog has no =(oid,
// integer), so a tenant's public.=(oid, integer) was the best match for an
// oid compared with a literal, even behind pg_catalog in the search path.
func TestTenantOperatorRunsNothingAsTheMaster(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "op", "")
	h.plant(
		`CREATE FUNCTION public.rdsp_oideq(oid, integer) RETURNS boolean LANGUAGE sql AS 'SELECT public.rdsp_payload() AND $1 OPERATOR(pg_catalog.=) $2::oid'`,
		`CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = integer, FUNCTION = public.rdsp_oideq)`,
	)
	// A planted operator does run when public is searched, as in an
	// ordinary session of the attacker: the test's control.
	if err := as(t, h.att.user, h.att.password, h.att.db, "SELECT count(*) FROM pg_roles WHERE oid = 10"); err != nil {
		t.Fatal(err)
	}
	if got := h.calls(); len(got) == 0 {
		t.Fatal("the planted operator does not run even in the attacker's own session: the test proves nothing")
	}
	dry, real := h.dryAndReal([]app{h.att, h.vic})
	noErrors(t, "dry run", dry)
	noErrors(t, "real run", real)
}

// TestTenantSearchPathRunsNothingAsTheMaster: the tenant puts public first
// in its database's search path and plants functions and operators with
// the exact signatures of those the tool's queries call.
func TestTenantSearchPathRunsNothingAsTheMaster(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "sp", "")
	h.plant(
		`CREATE FUNCTION public.pg_get_userbyid(oid) RETURNS name LANGUAGE sql AS 'SELECT CASE WHEN public.rdsp_payload() THEN pg_catalog.pg_get_userbyid($1) END'`,
		`CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql AS 'SELECT public.rdsp_payload() AND pg_catalog.pg_has_role($1, $2, $3)'`,
		`CREATE FUNCTION public.acldefault("char", oid) RETURNS aclitem[] LANGUAGE sql AS 'SELECT CASE WHEN public.rdsp_payload() THEN pg_catalog.acldefault($1, $2) END'`,
		`CREATE FUNCTION public.current_setting(text) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN public.rdsp_payload() THEN pg_catalog.current_setting($1) END'`,
		`CREATE FUNCTION public.rdsp_oideq(oid, oid) RETURNS boolean LANGUAGE sql AS 'SELECT public.rdsp_payload() AND $1 OPERATOR(pg_catalog.=) $2'`,
		`CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.rdsp_oideq)`,
		`CREATE FUNCTION public.rdsp_textcat(text, text) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN public.rdsp_payload() THEN $1 OPERATOR(pg_catalog.||) $2 END'`,
		`CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.rdsp_textcat)`,
		fmt.Sprintf(`ALTER DATABASE %s SET search_path = public, pg_catalog`, ident(h.att.db)),
	)
	dry, real := h.dryAndReal([]app{h.att, h.vic})
	noErrors(t, "dry run", dry)
	noErrors(t, "real run", real)
}

// hostileSettings are what a tenant can set on its database and its own
// role to break or take over the sessions that enter it.
func hostileSettings(target string) []string {
	var out []string
	for _, set := range []string{
		"statement_timeout = 1", "lock_timeout = 1", "idle_in_transaction_session_timeout = 1", "idle_session_timeout = 1",
		"default_transaction_read_only = on", "default_transaction_isolation = serializable", "default_transaction_deferrable = on",
		"exit_on_error = on", "local_preload_libraries = 'rdsp_missing_library'", "standard_conforming_strings = off",
		"client_encoding = 'LATIN1'", "DateStyle = 'SQL, DMY'", "search_path = public, pg_catalog",
	} {
		out = append(out, "ALTER "+target+" SET "+set)
	}
	return out
}

// TestTenantSettingsDoNotApplyToTheToolsSessions: the tenant sets timeouts
// of 1 ms, read-only and serializable deferrable transactions, a library
// that does not exist and more on its database and on its own role (the
// owner's session of its schema template), and makes every session that
// enters its database switch to its role. The run converges every entry
// as if nothing were set, and a later entry is provisioned.
func TestTenantSettingsDoNotApplyToTheToolsSessions(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "gucs", "")
	h.plant(append(append(hostileSettings("DATABASE "+ident(h.att.db)), hostileSettings("ROLE "+ident(h.att.user))...),
		fmt.Sprintf("ALTER DATABASE %s SET role = %s", ident(h.att.db), quoteLiteral(h.att.user)))...)
	// The template is applied in a session of the attacker's role, under
	// its hostile role settings.
	h.att.schema = "basic-app"
	newcomer := h.newcomer()
	dry, real := h.dryAndReal([]app{h.att, h.vic, newcomer})
	noErrors(t, "dry run", dry)
	noErrors(t, "real run", real)
	if got := real.statuses(newcomer.user); !cmp.Equal(got, []string{"create_role:success", "create_database:success", "apply_grants:success"}) {
		t.Errorf("the later entry: %v", got)
	}
	if got := real.message(h.att.user, "apply_schema"); got != "Applied schema template basic-app (v1) to "+h.att.db {
		t.Errorf("apply_schema in the tenant's database = %q\n%s", got, real.log)
	}
}

// TestTenantDatabaseThatRefusesSessionsFailsOnlyItself: a database whose
// owner lets no session in fails its own entry, with one error row naming
// it and the remedy; the entries after it are provisioned.
func TestTenantDatabaseThatRefusesSessionsFailsOnlyItself(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, set, want string }{
		{"limit", "CONNECTION LIMIT 0", "CONNECTION LIMIT -1"},
		{"closed", "ALLOW_CONNECTIONS false", "ALLOW_CONNECTIONS true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTenants(t, tc.name, "")
			// From another database: a database cannot close itself to
			// the session that closes it.
			if err := as(t, h.att.user, h.att.password, pg.MasterDB, fmt.Sprintf("ALTER DATABASE %s %s", ident(h.att.db), tc.set)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { adminExec(t, "ALTER DATABASE "+ident(h.att.db)+" CONNECTION LIMIT -1 ALLOW_CONNECTIONS true") })
			newcomer := h.newcomer()
			dry, real := h.dryAndReal([]app{h.att, h.vic, newcomer})
			for label, out := range map[string]outcome{"dry run": dry, "real run": real} {
				rows := errorRows(out)
				if len(rows) != 1 || rows[0].Database != h.att.db || !strings.Contains(rows[0].Message, "Cannot read the privileges in database "+h.att.db) ||
					!strings.Contains(rows[0].Message, tc.want) {
					t.Errorf("%s: error rows %+v, want one naming %s and %q\n%s", label, rows, h.att.db, tc.want, out.log)
				}
				if strings.Contains(out.log, "Stopping at the first failure") {
					t.Errorf("%s: the tenant's database stopped the run:\n%s", label, out.log)
				}
			}
			want := []string{"create_role:success", "create_database:success", "apply_grants:success"}
			if got := real.statuses(newcomer.user); !cmp.Equal(got, want) {
				t.Errorf("the entry after the tenant's: %v, want %v\n%s", got, want, real.log)
			}
			if got := real.statuses(h.vic.user); !cmp.Equal(got, []string{"create_role:no_change", "create_database:no_change", "apply_grants:no_change"}) {
				t.Errorf("the victim's entry: %v", got)
			}
			if !errors.Is(real.err, ErrActionsFailed) {
				t.Errorf("real run err = %v, want ErrActionsFailed (exit 1)", real.err)
			}
		})
	}
}

// TestTenantMarkerViewIsReadOnlyAsTheTenant: the tenant replaces its schema
// template's marker table by a view that calls its function. The marker is
// read, in the dry run and in the real run, but only in a session logged
// in as the tenant's own role.
func TestTenantMarkerViewIsReadOnlyAsTheTenant(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "view", "basic-app")
	h.plant(
		`ALTER TABLE public.rds_provision_schema RENAME TO rdsp_real_marker`,
		`CREATE VIEW public.rds_provision_schema AS SELECT m.* FROM public.rdsp_real_marker m WHERE public.rdsp_payload()`,
	)
	h.calls()
	dry := h.f.run(dryRun)
	if calls := h.calls(); !cmp.Equal(calls, []string{h.att.user + " " + h.att.user}) {
		t.Errorf("the view ran in sessions %v, want one of the tenant's own role", calls)
	}
	h.unharmed("dry run")
	real := h.f.run()
	if calls := h.calls(); len(calls) == 0 {
		t.Error("the real run did not read the marker")
	}
	h.unharmed("real run")
	noErrors(t, "dry run", dry)
	noErrors(t, "real run", real)
	if got := real.message(h.att.user, "apply_schema"); !strings.Contains(got, "already applied") {
		t.Errorf("apply_schema = %q", got)
	}
}

// TestTenantMarkerTriggerCannotResetToTheMaster: the tenant creates the
// marker before its template is applied, with a trigger that runs RESET
// ROLE (which, in a session of the master under SET ROLE, returns to the
// master) and then its function. The template is applied in a session
// logged in as the tenant: RESET ROLE leaves it the tenant.
func TestTenantMarkerTriggerCannotResetToTheMaster(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "trig", "")
	h.plant(
		`CREATE TABLE public.rds_provision_schema (template text NOT NULL, version integer NOT NULL, file_name text NOT NULL,
		   sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT session_user,
		   PRIMARY KEY (template, version))`,
		`CREATE FUNCTION public.rdsp_reset() RETURNS trigger LANGUAGE plpgsql AS $f$
		 BEGIN RESET ROLE; PERFORM public.rdsp_payload(); RETURN NEW; END $f$`,
		`CREATE TRIGGER rdsp_reset BEFORE INSERT ON public.rds_provision_schema FOR EACH ROW EXECUTE FUNCTION public.rdsp_reset()`,
	)
	h.att.schema = "basic-app"
	_, real := h.dryAndReal([]app{h.att, h.vic})
	noErrors(t, "real run", real)
	if got := real.message(h.att.user, "apply_schema"); got != "Applied schema template basic-app (v1) to "+h.att.db {
		t.Errorf("apply_schema = %q\n%s", got, real.log)
	}
	var by string
	if err := adminConn(t, h.att.db).QueryRow(context.Background(), "SELECT applied_by FROM rds_provision_schema").Scan(&by); err != nil || by != h.att.user {
		t.Errorf("marker applied_by = %q (%v), want the tenant's role %s", by, err, h.att.user)
	}
}

// TestTemplateKeyHeldFailsOnlyItsEntryAtOnce: the tenant holds the schema
// template's advisory key in its database. The template is tried, not
// waited for: its entry fails at once with the holder's role and pid, and
// the other entries are provisioned.
func TestTemplateKeyHeldFailsOnlyItsEntryAtOnce(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "key", "")
	squatter, err := login(h.att.user, h.att.password, h.att.db)
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close(context.Background())
	if _, err := squatter.Exec(context.Background(), "SELECT pg_advisory_lock(pg_catalog.hashtextextended('rds-provision initial_schema', 0))"); err != nil {
		t.Fatal(err)
	}
	h.att.schema = "basic-app"
	newcomer := h.newcomer()
	h.f.seedApps(h.att, h.vic, newcomer)
	// A statement timeout the test could wait for: the run must not.
	out := h.f.run(func(o *Options) { o.StatementTimeout = 20 * time.Second })
	rows := errorRows(out)
	want := fmt.Sprintf("is held by role %s (pid %d", h.att.user, squatter.PgConn().PID())
	if len(rows) != 1 || rows[0].Action != audit.ActionApplySchema || rows[0].Database != h.att.db || !strings.Contains(rows[0].Message, want) {
		t.Fatalf("error rows %+v, want one apply_schema row for %s saying %q\n%s", rows, h.att.db, want, out.log)
	}
	if strings.Contains(rows[0].Message, "statement-timeout") {
		t.Errorf("the run waited for the key: %s", rows[0].Message)
	}
	if got := out.statuses(newcomer.user); !cmp.Equal(got, []string{"create_role:success", "create_database:success", "apply_grants:success"}) {
		t.Errorf("the later entry: %v", got)
	}
	h.unharmed("real run")
}

// TestSquattedDatabaseFailsOnlyItsEntry: a database appears between the
// read and CREATE DATABASE (someone made it first). That entry fails, and
// the entries on that database with it, each with one row naming it; the
// other entries are provisioned and the run says why it went on.
func TestSquattedDatabaseFailsOnlyItsEntry(t *testing.T) {
	t.Parallel()
	for _, p := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel=%d", p), func(t *testing.T) {
			t.Parallel()
			prefix := fmt.Sprintf("sq%d", p)
			f := newFixture(t, "squat"+fmt.Sprint(p))
			apps := manyApps(prefix, 5)
			editor := app{key: prefix + "_ed", db: apps[1].db, user: prefix + "_ed_user", password: "pw-ed", access: "editor"}
			all := append(append(append([]app(nil), apps[:2]...), editor), apps[2:]...)
			f.seedApps(all...)
			admin := adminConn(t, "postgres")
			clash := &firstStatement{prefix: "CREATE DATABASE " + ident(apps[1].db), fn: func() {
				if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+ident(apps[1].db)); err != nil {
					t.Error(err)
				}
			}}
			out := f.run(func(o *Options) { o.Parallel, o.Tracer = p, clash })
			if !errors.Is(out.err, ErrActionsFailed) {
				t.Fatalf("err %v\n%s", out.err, out.log)
			}
			full := []string{"create_role:success", "create_database:success", "apply_grants:success"}
			for _, a := range all {
				want := full
				switch a.user {
				case apps[1].user:
					want = []string{"create_role:success", "create_database:error"}
				case editor.user:
					want = []string{"create_role:success", "create_database:error"}
				}
				if got := out.statuses(a.user); !cmp.Equal(got, want) {
					t.Errorf("%s rows = %v, want %v\n%s", a.user, got, want, out.log)
				}
			}
			if msg := out.message(editor.user, "create_database"); !strings.HasPrefix(msg, "Not run: database "+apps[1].db+" failed (create_database for "+apps[1].user+")") {
				t.Errorf("editor's row: %q", msg)
			}
			if strings.Contains(out.log, "Stopping at the first failure") || !strings.Contains(out.log, "[INFO] Database "+apps[1].db+" failed (create_database for "+apps[1].user+")") {
				t.Errorf("log:\n%s", out.log)
			}
		})
	}
}

// TestAdoptionThroughAGroupIsRefused: a login role that owns nothing and
// holds nothing itself, but belongs (directly, or through a group of
// groups) to a NOLOGIN group with CONNECT and table rights on another
// team's database, is refused as a new entry's username, naming the group
// and the remedy; its password is not replaced.
func TestAdoptionThroughAGroupIsRefused(t *testing.T) {
	t.Parallel()
	h := newTenants(t, "grp", "")
	readers, mid := h.prefix+"_readers", h.prefix+"_mid"
	adminExec(t, "CREATE ROLE "+ident(readers)+" NOLOGIN")
	adminExec(t, "CREATE ROLE "+ident(mid)+" NOLOGIN IN ROLE "+ident(readers))
	t.Cleanup(func() {
		// Its grants in the victim's database and on it.
		if _, err := adminConn(t, h.vic.db).Exec(context.Background(), "DROP OWNED BY "+ident(readers)); err != nil {
			t.Error(err)
		}
		adminExec(t, "DROP ROLE IF EXISTS "+ident(mid))
		adminExec(t, "DROP ROLE IF EXISTS "+ident(readers))
	})
	adminExec(t, "GRANT CONNECT ON DATABASE "+ident(h.vic.db)+" TO "+ident(readers))
	if _, err := adminConn(t, h.vic.db).Exec(context.Background(), "GRANT SELECT ON payroll TO "+ident(readers)); err != nil {
		t.Fatal(err)
	}
	for _, nested := range []bool{false, true} {
		t.Run(fmt.Sprintf("nested=%v", nested), func(t *testing.T) {
			etl := fmt.Sprintf("%s_etl%v_user", h.prefix, nested)
			adminExec(t, "CREATE ROLE "+ident(etl)+" LOGIN PASSWORD 'etl-before'")
			// The master made it, as on RDS (16+: ADMIN OPTION on it).
			adminExec(t, "GRANT "+ident(etl)+" TO "+ident(masterUser)+" WITH ADMIN OPTION")
			t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS "+ident(etl)) })
			if nested {
				adminExec(t, "GRANT "+ident(mid)+" TO "+ident(etl))
			} else {
				adminExec(t, "GRANT "+ident(readers)+" TO "+ident(etl))
			}
			entry := app{key: strings.TrimSuffix(etl, "_user"), db: strings.TrimSuffix(etl, "_user") + "_db", user: etl, password: "etl-after"}
			for _, dry := range []bool{true, false} {
				h.f.seedApps(h.att, h.vic, entry)
				out := h.f.run(func(o *Options) { o.DryRun = dry })
				rows := errorRows(out)
				want := fmt.Sprintf("Refusing to manage role %s: it already exists and belongs to group %s (database %s)", etl, readers, h.vic.db)
				if len(rows) != 1 || !strings.HasPrefix(rows[0].Message, want) || !strings.Contains(rows[0].Message, fmt.Sprintf("adopt_owned_databases = [%q]", h.vic.db)) ||
					!strings.Contains(rows[0].Message, "REVOKE "+ident(readers)) && !strings.Contains(rows[0].Message, "REVOKE "+ident(mid)) {
					t.Errorf("dry run %v: error rows %+v, want one starting %q\n%s", dry, rows, want, out.log)
				}
			}
			if conn, err := login(etl, "etl-after", pg.MasterDB); err == nil {
				conn.Close(context.Background())
				t.Error("the entry's secret now logs in as the group's member")
			}
			if roleExists(t, etl) && databaseExists(t, entry.db) {
				t.Error("the refused entry's database was created")
			}
		})
	}
}

// TestAdoptionIsAVisibleChange: an existing role no entry managed before is
// adopted with a row of its own, in the dry run and in the real run; the
// next run is no_change.
func TestAdoptionIsAVisibleChange(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE iso_adopt_etl LOGIN PASSWORD 'before'")
	adminExec(t, "GRANT iso_adopt_etl TO "+ident(masterUser)+" WITH ADMIN OPTION")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS iso_adopt_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS iso_adopt_etl")
	})
	f := newFixture(t, "iso-adopt")
	f.seedApps(app{key: "iso_adopt", db: "iso_adopt_db", user: "iso_adopt_etl", password: "after"})
	secret := "goldenpath/iso-adopt/iso_adopt/postgres"
	dry := f.run(dryRun)
	if got, want := dry.message("iso_adopt_etl", "create_role"), "Would adopt existing role iso_adopt_etl: its password would be set from "+secret; got != want {
		t.Errorf("dry run: %q, want %q", got, want)
	}
	if !strings.Contains(dry.log, "[DRY-RUN] Would adopt existing role iso_adopt_etl") {
		t.Errorf("dry run log:\n%s", dry.log)
	}
	real := mustRun(t, f)
	if got := real.statuses("iso_adopt_etl"); got[0] != "create_role:success" || real.message("iso_adopt_etl", "create_role") != "Adopted existing role iso_adopt_etl: its password is now set from "+secret {
		t.Errorf("real run: %v %q", got, real.message("iso_adopt_etl", "create_role"))
	}
	again := mustRun(t, f)
	if got := again.statuses("iso_adopt_etl"); got[0] != "create_role:no_change" {
		t.Errorf("rerun: %v", got)
	}
}

// TestChangedSecretIsAVisibleChange: pointing an existing entry at another
// secret changes the role's password; the plan says so and names both
// secrets, and the role's record follows.
func TestChangedSecretIsAVisibleChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "iso-moved")
	a := app{key: "iso_moved", db: "iso_moved_db", user: "iso_moved_user", password: "first"}
	f.seedApps(a)
	mustRun(t, f)
	old := "goldenpath/iso-moved/iso_moved/postgres"
	a.secret, a.password = "goldenpath/iso-moved/elsewhere", "second"
	f.seedApps(a)
	dry := f.run(dryRun)
	want := fmt.Sprintf("Would change the password source of role iso_moved_user: its password would be set from secret %s instead of %s", a.secret, old)
	if got := dry.message(a.user, "create_role"); got != want {
		t.Errorf("dry run: %q, want %q", got, want)
	}
	if got := dry.statuses(a.user); got[0] != "create_role:dry_run" {
		t.Errorf("dry run rows %v", got)
	}
	real := mustRun(t, f)
	want = fmt.Sprintf("Password source of role iso_moved_user changed: its password is now set from secret %s (was %s)", a.secret, old)
	if got := real.message(a.user, "create_role"); got != want || real.statuses(a.user)[0] != "create_role:success" {
		t.Errorf("real run: %v %q, want success %q", real.statuses(a.user), got, want)
	}
	if got := roleComment(t, a.user); got != recordPrefix+`{"secret":"`+a.secret+`","v":1}` {
		t.Errorf("record after the change: %q", got)
	}
	if conn, err := login(a.user, "second", a.db); err != nil {
		t.Errorf("the new secret's password does not log in: %v", err)
	} else {
		conn.Close(context.Background())
	}
	if again := mustRun(t, f); again.statuses(a.user)[0] != "create_role:no_change" {
		t.Errorf("rerun: %v", again.statuses(a.user))
	}
}

// TestEditorsCannotWriteTheMarker: the owner's default privileges give an
// editor DML on every new table; the marker is left to its owner, and DML
// an older run left on it is revoked.
func TestEditorsCannotWriteTheMarker(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "iso-marker")
	owner := app{key: "iso_mk_owner", db: "iso_mk_db", user: "iso_mk_owner_user", password: "pw-o", schema: "basic-app"}
	editor := app{key: "iso_mk_ed", db: "iso_mk_db", user: "iso_mk_ed_user", password: "pw-e", access: "editor"}
	f.seedApps(owner, editor)
	mustRun(t, f)
	refused := map[string]bool{
		"INSERT INTO rds_provision_schema (template, version, file_name, sha256) VALUES ('basic-app', 99, 'x', 'x')": false,
		"UPDATE rds_provision_schema SET version = 99":                                                               false,
		"DELETE FROM rds_provision_schema":                                                                           false,
		"SELECT count(*) FROM rds_provision_schema":                                                                  true,
		"INSERT INTO settings (key, value) VALUES ('k', '1') ON CONFLICT DO NOTHING":                                 true,
	}
	can(t, editor, refused)
	// As an rds-provision before this one left it.
	if err := as(t, owner.user, owner.password, owner.db, "GRANT INSERT, UPDATE, DELETE ON rds_provision_schema TO "+ident(editor.user)); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, f)
	if got := out.message(editor.user, "apply_grants"); !strings.Contains(got, "revoked INSERT, UPDATE, DELETE on 1 table") {
		t.Errorf("apply_grants = %q", got)
	}
	can(t, editor, refused)
	if again := mustRun(t, f); again.message(editor.user, "apply_grants") != "Grants already in place: SELECT, INSERT, UPDATE, DELETE on iso_mk_db to iso_mk_ed_user" {
		t.Errorf("rerun: %q", again.message(editor.user, "apply_grants"))
	}
}

// TestTenantLockOnItsRoleFailsOnlyItsEntry: the tenant keeps a transaction
// open that changed its own role (ALTER ROLE ... PASSWORD, which any role
// may run on itself), so the master's ALTER ROLE waits for that row. The
// wait ends at the session's lock_timeout: the tenant's entry fails, with
// a message that says what to look for, and fail-fast goes on to the
// others.
func TestTenantLockOnItsRoleFailsOnlyItsEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newTenants(t, "rowlock", "")
	holder, err := login(h.att.user, h.att.password, h.att.db)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, "BEGIN; ALTER ROLE "+ident(h.att.user)+" PASSWORD 'held-open'"); err != nil {
		t.Fatal(err)
	}
	defer holder.Exec(ctx, "ROLLBACK")
	newcomer := h.newcomer()
	h.f.seedApps(h.att, h.vic, newcomer)
	// Serial, so a fail-fast stop at the tenant's entry would show.
	out := h.f.run(func(o *Options) { o.lockWait, o.Parallel = time.Second, 1 })
	rows := errorRows(out)
	if len(rows) != 1 || rows[0].Username != h.att.user || rows[0].Action != audit.ActionCreateRole ||
		!strings.Contains(rows[0].Message, "lock timeout") || !strings.Contains(rows[0].Message, "another session held a lock") {
		t.Fatalf("error rows %+v, want one create_role row for %s on its lock\n%s", rows, h.att.user, out.log)
	}
	if strings.Contains(out.log, "Stopping at the first failure") {
		t.Errorf("the tenant's lock stopped the run:\n%s", out.log)
	}
	if got := out.statuses(newcomer.user); !cmp.Equal(got, []string{"create_role:success", "create_database:success", "apply_grants:success"}) {
		t.Errorf("the later entry: %v\n%s", got, out.log)
	}
}
