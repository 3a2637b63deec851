package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestForeignRoleWithoutOwnedDatabaseIsRefused a login role that
// owns no database but owns tables or holds privileges in another team's
// database, or belongs to another team's role, is another team's login: taking it over hands its
// access to whoever reads the entry's app secret. Refuse it, role unchanged.
func TestForeignRoleWithoutOwnedDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE r8_victim LOGIN PASSWORD 'victim-pw'")
	adminExec(t, "CREATE DATABASE r8_victim_db OWNER r8_victim")
	adminExec(t, "CREATE ROLE r8_tables LOGIN PASSWORD 'tables-pw'")
	adminExec(t, "CREATE ROLE r8_member LOGIN PASSWORD 'member-pw' IN ROLE r8_victim")
	adminExec(t, "CREATE ROLE r8_acl LOGIN PASSWORD 'acl-pw'")
	adminExec(t, "GRANT r8_tables, r8_member, r8_acl TO platform_admin WITH ADMIN OPTION")
	c := adminConn(t, "r8_victim_db")
	if _, err := c.Exec(context.Background(), "CREATE TABLE payslips(x int); ALTER TABLE payslips OWNER TO r8_tables; CREATE TABLE salaries(x int); GRANT SELECT ON salaries TO r8_acl"); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS r8_victim_db WITH (FORCE)")
		for _, db := range []string{"r8_tables_db", "r8_member_db", "r8_acl_db"} {
			adminExec(t, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		}
		adminExec(t, "DROP ROLE IF EXISTS r8_tables")
		adminExec(t, "DROP ROLE IF EXISTS r8_member")
		adminExec(t, "DROP ROLE IF EXISTS r8_acl")
		adminExec(t, "DROP ROLE IF EXISTS r8_victim")
	})
	for _, user := range []string{"r8_tables", "r8_member", "r8_acl"} {
		t.Run(user, func(t *testing.T) {
			f := newFixture(t, "r8"+strings.TrimPrefix(user, "r8_"))
			f.seedApps(app{key: user, db: user + "_db", user: user, password: "new-pw"})
			var before string
			adminConn(t, "postgres").QueryRow(context.Background(), "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user).Scan(&before)
			out := f.run()
			rows := errorRows(out)
			if !errors.Is(out.err, ErrActionsFailed) || len(rows) != 1 || !strings.Contains(rows[0].Message, "Refusing to manage role "+user) {
				t.Errorf("err %v rows %+v", out.err, out.res.Rows)
			}
			var after string
			adminConn(t, "postgres").QueryRow(context.Background(), "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user).Scan(&after)
			if after != before {
				t.Error("the foreign role's password was replaced")
			}
		})
	}
}
