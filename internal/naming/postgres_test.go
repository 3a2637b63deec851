package naming_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

// TestRoleKeywordsAgainstPostgres holds the role-name rules to a real
// server: every name the rules call reserved by PostgreSQL is refused by
// CREATE ROLE even quoted, and every keyword that stands for the caller
// really grants to the caller when a person writes it unquoted.
func TestRoleKeywordsAgainstPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := testenv.StartPostgres(ctx, testenv.MasterUser)
	if err != nil {
		t.Fatalf("PostgreSQL for the role-name rules: %v", err)
	}
	t.Cleanup(pg.Stop)
	conn, err := pgx.Connect(ctx, pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	for _, name := range naming.RoleKeywords {
		t.Run(name, func(t *testing.T) {
			if naming.CheckUsername(name) == nil {
				t.Fatalf("CheckUsername(%q) accepted a role keyword", name)
			}
			_, createErr := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{name}.Sanitize())
			if createErr != nil {
				if !strings.Contains(createErr.Error(), "is reserved") {
					t.Fatalf("CREATE ROLE %q failed for another reason: %v", name, createErr)
				}
				return // PostgreSQL refuses it outright
			}
			t.Cleanup(func() { conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize()) })
			// Accepted quoted: the unquoted word must stand for the caller.
			if _, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{name}.Sanitize()+" TO "+name); err != nil {
				t.Fatalf("unquoted %s in GRANT: %v", name, err)
			}
			var member bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_auth_members m
				JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
				WHERE r.rolname = $1 AND u.rolname = current_user)`, name).Scan(&member); err != nil {
				t.Fatal(err)
			}
			if !member {
				t.Fatalf("GRANT %q TO %s did not go to the caller: the keyword needs no refusal", name, name)
			}
		})
	}
}
