package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
)

type privilegedRole struct {
	name  string
	since int
}

// privilegedRoles are the predefined and RDS roles whose members no entry
// may take over (role.go's privilegedPredefined), written out here so that
// dropping one from the list fails this test. since is the PostgreSQL
// major that has it (0: every version; RDS's own roles are made by the
// test where the server has none, as RDS has them).
var privilegedRoles = []privilegedRole{
	{"rds_superuser", 0}, {"rds_password", 0}, {"rds_replication", 0},
	{"pg_read_server_files", 0}, {"pg_write_server_files", 0}, {"pg_execute_server_program", 0},
	{"pg_read_all_data", 0}, {"pg_write_all_data", 0}, {"pg_signal_backend", 0}, {"pg_checkpoint", 15},
	{"pg_monitor", 0}, {"pg_read_all_stats", 0}, {"pg_read_all_settings", 0}, {"pg_stat_scan_tables", 0},
	{"pg_maintain", 17}, {"pg_create_subscription", 16}, {"pg_use_reserved_connections", 16},
}

// TestPrivilegedPredefinedRolesAreRefused grants each privileged role to a
// login role of its own and names that login in an entry: every entry is
// refused, naming the privileged role, its password left alone, and
// nothing made for it. The list the rule uses has no entry this test does
// not cover.
func TestPrivilegedPredefinedRolesAreRefused(t *testing.T) {
	t.Parallel()
	for _, name := range privilegedPredefined {
		if !slices.ContainsFunc(privilegedRoles, func(r privilegedRole) bool { return r.name == name }) {
			t.Errorf("privilegedPredefined holds %s, which this test does not grant and check: add it to privilegedRoles", name)
		}
	}
	ctx := context.Background()
	admin := adminConn(t, "postgres")
	var major int
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "privpredef")
	var apps []app
	want := map[string][]string{}
	for i, r := range privilegedRoles {
		if major < r.since {
			t.Logf("%s does not exist before PostgreSQL %d (this server is %d): make test-pg-matrix checks it there", r.name, r.since, major)
			continue
		}
		if strings.HasPrefix(r.name, "rds_") {
			if _, err := admin.Exec(ctx, fmt.Sprintf("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE %s NOLOGIN; END IF; END $$",
				quoteLiteral(r.name), ident(r.name))); err != nil {
				t.Fatal(err)
			}
		}
		user := fmt.Sprintf("pp_%02d_user", i)
		adminExec(t, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'before-%d' IN ROLE %s", ident(user), i, ident(r.name)))
		adminExec(t, fmt.Sprintf("GRANT %s TO %s WITH ADMIN OPTION", ident(user), ident(masterUser)))
		t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS "+ident(user)) })
		apps = append(apps, app{key: fmt.Sprintf("pp_%02d", i), db: fmt.Sprintf("pp_%02d_db", i), user: user, password: fmt.Sprintf("after-%d", i)})
		want[user] = []string{"create_role:error " + r.name}
	}
	t.Cleanup(func() {
		// Only the rds_ roles this test made: RDS's own stay.
		for _, r := range []string{"rds_password", "rds_replication"} {
			adminExec(t, "DROP ROLE IF EXISTS "+ident(r))
		}
	})
	f.seedApps(apps...)
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun, o.NoFailFast = dry, true })
		got := map[string][]string{}
		for _, r := range out.res.Rows {
			status := r.Action + ":" + string(r.Status)
			if r.Status == audit.Error {
				// The message names the privileged role it belongs to.
				_, via, _ := strings.Cut(r.Message, "it is a member of the privileged role ")
				via, _, _ = strings.Cut(via, ";")
				status += " " + via
			}
			got[r.Username] = append(got[r.Username], status)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dry run %v: rows per role (-want +got):\n%s\n%s", dry, diff, out.log)
		}
	}
	for i, a := range apps {
		if conn, err := login(a.user, a.password, pg.MasterDB); err == nil {
			conn.Close(ctx)
			t.Errorf("%s: the entry's password now logs in as a member of %s", a.user, privilegedRoles[i].name)
		}
		if databaseExists(t, a.db) {
			t.Errorf("%s: its database was created", a.user)
		}
	}
}

// TestReservedDatabasesAreRefused: the databases PostgreSQL and RDS keep
// for themselves are refused as an entry's database_name before anything
// is read or made, in the dry run and the real run alike; nothing of them
// changes.
func TestReservedDatabasesAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := adminConn(t, "postgres")
	reserved := []string{"postgres", "template0", "template1", "rdsadmin"}
	acls := func() map[string]string {
		rows, err := admin.Query(ctx, "SELECT datname::text, pg_get_userbyid(datdba)::text || ' ' || COALESCE(datacl::text, '') FROM pg_database WHERE datname = ANY($1)", reserved)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var name, acl string
			if err := rows.Scan(&name, &acl); err != nil {
				t.Fatal(err)
			}
			out[name] = acl
		}
		return out
	}
	before := acls()
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS rdsadmin") })
	f := newFixture(t, "reserveddb")
	var apps []app
	want := map[string][]string{}
	for i, db := range reserved {
		a := app{key: fmt.Sprintf("rsv_%d", i), db: db, user: fmt.Sprintf("rsv_%d_user", i), password: fmt.Sprintf("pw-%d", i)}
		apps = append(apps, a)
		want[a.user] = []string{fmt.Sprintf("validate:error database_name %q is reserved by PostgreSQL or RDS", db)}
	}
	f.seedApps(apps...)
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun, o.NoFailFast = dry, true })
		got := map[string][]string{}
		for _, r := range out.res.Rows {
			status := r.Action + ":" + string(r.Status)
			if _, why, ok := strings.Cut(r.Message, ": database_name "); ok {
				status += " database_name " + why
			}
			got[r.Username] = append(got[r.Username], status)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dry run %v: rows per entry (-want +got):\n%s\n%s", dry, diff, out.log)
		}
	}
	if diff := cmp.Diff(before, acls()); diff != "" {
		t.Errorf("databases changed (-before +after):\n%s", diff)
	}
	for _, a := range apps {
		if roleExists(t, a.user) {
			t.Errorf("role %s was made for a reserved database", a.user)
		}
	}
}
