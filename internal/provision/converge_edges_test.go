package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// A privilege that a role no entry names granted (with its grant option)
// cannot be revoked by the owner's REVOKE. The run must not report it as
// revoked on every run while the reader keeps it: either it is really
// gone (the master can SET ROLE to the grantor), or the row is a warning
// naming the grantor; either way a rerun sends no REVOKE.
func TestReaderKeepsNoWriteGrantedByAnotherGrantor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix       string
		masterMember bool // the master may SET ROLE to the grantor
	}{
		{"rvg", false},
		{"rvm", true},
	} {
		t.Run(fmt.Sprintf("master member of the grantor %v", tc.masterMember), func(t *testing.T) {
			t.Parallel()
			p := tc.prefix
			f := newFixture(t, p+"grantor")
			owner := app{key: p + "_owner", db: p + "_db", user: p + "_owner_user", password: "pw-o"}
			x := app{key: p + "_x", db: p + "_db", user: p + "_x_user", password: "pw-x", access: "reader"}
			grantor := p + "_grantor"
			f.seedApps(owner, x)
			mustRun(t, f)
			if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE t1 (id integer)"); err != nil {
				t.Fatal(err)
			}
			adminExec(t, "CREATE ROLE "+grantor+" NOLOGIN")
			t.Cleanup(func() {
				ctx := context.Background()
				for _, db := range []string{owner.db, "postgres"} {
					if conn, err := pgxConnectAdmin(db); err == nil {
						conn.Exec(ctx, "DROP OWNED BY "+grantor)
						conn.Close(ctx)
					}
				}
				if conn, err := pgxConnectAdmin("postgres"); err == nil {
					conn.Exec(ctx, "DROP ROLE IF EXISTS "+grantor)
					conn.Close(ctx)
				}
			})
			if tc.masterMember {
				adminExec(t, "GRANT "+grantor+" TO platform_admin")
			}
			db := adminConn(t, owner.db)
			for _, sql := range []string{
				"GRANT INSERT ON t1 TO " + grantor + " WITH GRANT OPTION",
				"SET ROLE " + grantor,
				"GRANT INSERT ON t1 TO " + ident(x.user),
				"RESET ROLE",
			} {
				if _, err := db.Exec(context.Background(), sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}

			first := mustRun(t, f)
			log := &statementLog{}
			second := mustRun(t, f, func(o *Options) { o.Tracer = log })

			var stillInsert bool
			if err := db.QueryRow(context.Background(), "SELECT has_table_privilege($1, 't1', 'INSERT')", x.user).Scan(&stillInsert); err != nil {
				t.Fatal(err)
			}
			if stillInsert == tc.masterMember {
				t.Errorf("reader %s has INSERT on t1 (granted by %s): %v, want %v", x.user, grantor, stillInsert, !tc.masterMember)
			}
			for name, out := range map[string]outcome{"first": first, "second": second} {
				var row audit.Row
				for _, r := range out.res.Rows {
					if r.Username == x.user && r.Action == audit.ActionApplyGrants {
						row = r
					}
				}
				if stillInsert && (row.Status != audit.Warning || !strings.Contains(row.Message, grantor)) {
					t.Errorf("%s run: reader %s still has INSERT on t1 (granted by %s), but apply_grants is %s %q; want a warning naming %s",
						name, x.user, grantor, row.Status, row.Message, grantor)
				}
			}
			for _, s := range log.changes() {
				if strings.HasPrefix(strings.ToUpper(s), "REVOKE") {
					t.Errorf("the rerun sent %q again: a revoke that cannot take effect is repeated on every run", s)
				}
			}
		})
	}
}

func pgxConnectAdmin(db string) (*pgx.Conn, error) {
	return pgx.Connect(context.Background(), adminURL(db))
}

// An existing login role, made before rds-provision by the master (on
// RDS, PostgreSQL 16+: ADMIN OPTION only, no inherited privileges), owns
// its database and, as a hardened database should, has revoked CONNECT
// from PUBLIC. The first run adopts it: it grants the role to the master,
// so it can then read that database's privileges. The dry run and the
// first real run must not end in an error row that only a second run
// clears.
func TestAdoptedOwnerOfAHardenedDatabaseConvergesInOneRun(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE rvh_owner_user LOGIN PASSWORD 'old-pw'")
	adminExec(t, "CREATE DATABASE rvh_db OWNER rvh_owner_user")
	adminExec(t, "REVOKE ALL ON DATABASE rvh_db FROM PUBLIC")
	var version int
	if err := adminConn(t, "postgres").QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version >= 160000 {
		adminExec(t, "GRANT rvh_owner_user TO platform_admin WITH ADMIN TRUE, INHERIT FALSE, SET FALSE")
	}
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS rvh_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS rvh_ro_user")
		adminExec(t, "DROP ROLE IF EXISTS rvh_owner_user")
	})
	f := newFixture(t, "rvhardened")
	owner := app{key: "rvh_owner", db: "rvh_db", user: "rvh_owner_user", password: "pw-o"}
	ro := app{key: "rvh_ro", db: "rvh_db", user: "rvh_ro_user", password: "pw-r", access: "reader"}
	f.seedApps(owner, ro)

	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun = dry })
		for _, r := range out.res.Rows {
			if r.Status == audit.Error {
				t.Errorf("dry run %v: %s %s: error %q", dry, r.Username, r.Action, r.Message)
			}
		}
	}
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE t1 (id integer)"); err != nil {
		t.Fatal(err)
	}
	can(t, ro, map[string]bool{"SELECT count(*) FROM t1": true, "INSERT INTO t1 VALUES (1)": false})
}

// Default privileges the owner set for all schemas (ALTER DEFAULT
// PRIVILEGES without IN SCHEMA, as migration tools write them) also give
// a reader write access on the tables the owner creates later. A reader
// must not keep it: editor to reader removes write access "now and for
// tables the owner creates later".
func TestReaderLosesWriteFromTheOwnersGlobalDefaultPrivileges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "rvglobal")
	owner := app{key: "rvd_owner", db: "rvd_db", user: "rvd_owner_user", password: "pw-o"}
	x := app{key: "rvd_x", db: "rvd_db", user: "rvd_x_user", password: "pw-x", access: "editor"}
	f.seedApps(owner, x)
	mustRun(t, f)
	if err := as(t, owner.user, owner.password, owner.db, "ALTER DEFAULT PRIVILEGES GRANT INSERT, UPDATE, DELETE ON TABLES TO "+ident(x.user)); err != nil {
		t.Fatal(err)
	}
	x.access = "reader"
	f.writeTfvars(owner, x)
	mustRun(t, f)
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE later (id integer)"); err != nil {
		t.Fatal(err)
	}
	can(t, x, map[string]bool{"SELECT count(*) FROM later": true, "INSERT INTO later VALUES (1)": false, "DELETE FROM later": false})
}

// Adopting an existing database revokes PUBLIC's CONNECT and TEMP on it:
// every login that no entry names and that connected through PUBLIC
// loses access. The dry run a reviewer reads, and the audit row, must say
// so; the runbook's bare "Would grant ALL on <db> to <user>" is right only
// for a database the run creates.
func TestAdoptingAnExistingDatabaseSaysItRevokesPublic(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE rvp_owner_user LOGIN PASSWORD 'old-pw'")
	// The master made it, as on RDS (PostgreSQL 16+: ADMIN OPTION to it).
	adminExec(t, "GRANT rvp_owner_user TO platform_admin WITH ADMIN OPTION")
	adminExec(t, "CREATE DATABASE rvp_db OWNER rvp_owner_user")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS rvp_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS rvp_owner_user")
	})
	f := newFixture(t, "rvpublic")
	owner := app{key: "rvp_owner", db: "rvp_db", user: "rvp_owner_user", password: "pw-o"}
	f.seedApps(owner)
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun = dry })
		if got := out.message(owner.user, "apply_grants"); !strings.Contains(got, "PUBLIC") {
			t.Errorf("dry run %v: apply_grants %q does not say that PUBLIC loses CONNECT on rvp_db", dry, got)
		}
	}
}

// A column privilege (GRANT UPDATE (col) ON t TO x) is write access too:
// a reader must not keep it. (REVOKE on the table takes column privileges
// with it, so editor to reader clears them; one granted to a reader later
// is never seen: the table's ACL looks right.)
func TestReaderLosesColumnWritePrivileges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "rvcolumn")
	owner := app{key: "rvc_owner", db: "rvc_db", user: "rvc_owner_user", password: "pw-o"}
	x := app{key: "rvc_x", db: "rvc_db", user: "rvc_x_user", password: "pw-x", access: "reader"}
	f.seedApps(owner, x)
	mustRun(t, f)
	for _, sql := range []string{
		"CREATE TABLE t1 (id integer, note text)",
		"INSERT INTO t1 VALUES (1, 'a')",
		"GRANT UPDATE (note), INSERT (id, note) ON t1 TO " + ident(x.user),
	} {
		if err := as(t, owner.user, owner.password, owner.db, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustRun(t, f)
	can(t, x, map[string]bool{
		"SELECT note FROM t1":                true,
		"UPDATE t1 SET note = 'b'":           false,
		"INSERT INTO t1 (id) VALUES (2)":     false,
		"INSERT INTO t1 (note) VALUES ('c')": false,
	})
}

// An entry asks for a template on a database someone else owns: grants
// are skipped with a warning, and the template must be named too, not
// silently dropped (the dry run a reviewer reads says nothing of it).
func TestTemplateOnADatabaseOwnedByAnotherRoleIsAWarning(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE DATABASE rvs_db")
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS rvs_db WITH (FORCE)") })
	f := newFixture(t, "rvschema")
	owner := app{key: "rvs_owner", db: "rvs_db", user: "rvs_owner_user", password: "pw-o", schema: "basic-app"}
	f.seedApps(owner)
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun = dry })
		var row audit.Row
		for _, r := range out.res.Rows {
			if r.Username == owner.user && r.Action == audit.ActionApplySchema {
				row = r
			}
		}
		if row.Status != audit.Warning || !strings.Contains(row.Message, "basic-app") {
			t.Errorf("dry run %v: apply_schema row %+v; want a warning that basic-app is not applied to rvs_db (owner postgres)\n%s", dry, row, out.log)
		}
	}
}

// A run-level failure (here a tfvars file that does not exist) comes
// before the summary, which counts it, and is not logged twice.
func TestRunLevelFailureIsCountedInTheSummary(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	_, err := Run(context.Background(), Options{Env: "dev", TfvarsPath: t.TempDir() + "/missing.tfvars", Log: &log})
	if err == nil || !Logged(err) {
		t.Fatalf("err = %v; want a run-level failure that Run logged", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[ERROR] ") || !strings.Contains(lines[0], "missing.tfvars") ||
		!strings.HasPrefix(lines[1], "[INFO] Summary: ") || !strings.Contains(lines[1], "1 error") {
		t.Errorf("log:\n%s\nwant the [ERROR] line, then a summary counting 1 error", log.String())
	}
}
