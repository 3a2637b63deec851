package provision

import (
	"context"
	"strings"
	"testing"
)

// TestStaticConflictsChangeNothing conflicts the tfvars alone
// shows (one username from two secrets; an entry repeating another's
// database and username) are refused before anything is created, as two
// owner entries for one database are (issue 8 item 5).
func TestStaticConflictsChangeNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		apps []app
	}{
		{"one username two secrets", []app{
			{key: "r8s_a", db: "r8s_db1", user: "r8s_u1", password: "pw-a"},
			{key: "r8s_b", db: "r8s_db2", user: "r8s_u1", password: "pw-b"},
		}},
		{"repeated entry", []app{
			{key: "r8t_a", db: "r8t_db1", user: "r8t_u1", password: "pw-a"},
			{key: "r8t_b", db: "r8t_db1", user: "r8t_u2", password: "pw-b", access: "reader"},
			{key: "r8t_c", db: "r8t_db1", user: "r8t_u2", password: "pw-b", access: "editor"},
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, []string{"r8static", "r8repeat"}[i])
			f.seedApps(tc.apps...)
			out := f.run()
			if out.err == nil || !strings.Contains(out.err.Error(), "(nothing was changed)") || len(out.res.Rows) != 0 {
				t.Fatalf("err %v rows %+v, want the run refused before any I/O", out.err, out.res.Rows)
			}
			for _, a := range tc.apps {
				if roleExists(t, a.user) {
					t.Errorf("role %s was created before the conflict was reported:\n%s", a.user, out.log)
				}
			}
		})
	}
}

// TestReaderOfForeignDatabaseIsRefused an editor or reader entry
// on an existing database that no owner entry of the tfvars names (another
// team's database) must not get access to its tables: README says such
// entries use a database whose owner entry is listed first.
func TestReaderOfForeignDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE r8_payroll_owner LOGIN PASSWORD 'owner-pw'")
	adminExec(t, "GRANT r8_payroll_owner TO platform_admin WITH ADMIN OPTION")
	adminExec(t, "CREATE DATABASE r8_payroll OWNER r8_payroll_owner")
	c := adminConn(t, "r8_payroll")
	if _, err := c.Exec(context.Background(), "CREATE TABLE payslips(x int); ALTER TABLE payslips OWNER TO r8_payroll_owner"); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS r8_payroll WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS r8_payroll_owner")
	})
	for _, level := range []string{"reader", "editor"} {
		t.Run(level, func(t *testing.T) {
			f := newFixture(t, "r8foreign"+level)
			user := "r8_spy_" + level
			f.seedApps(app{key: user, db: "r8_payroll", user: user, password: "spy-pw", access: level})
			out := f.run()
			if out.err == nil || !strings.Contains(out.err.Error(), "on database r8_payroll, which no owner entry of application_databases lists") {
				t.Errorf("err %v, want the entry refused:\n%s", out.err, out.log)
			}
			if roleExists(t, user) {
				t.Errorf("role %s was made for another team's database", user)
			}
		})
	}
}
