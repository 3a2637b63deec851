package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DropOnCleanup makes the test leave nothing behind on the shared server:
// when it ends, the databases and then the roles are dropped as the
// superuser. Names that do not exist are fine (the test may have stopped
// before creating them); a drop that fails fails the test, since whatever
// kept it would also break a rerun.
func (p *Postgres) DropOnCleanup(t testing.TB, databases, roles []string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, p.AdminURL)
		if err != nil {
			t.Errorf("cleanup: connect as admin: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, db := range databases {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("cleanup: drop database %s: %v", db, err)
			}
		}
		for _, role := range roles {
			if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
				t.Errorf("cleanup: drop role %s: %v", role, err)
			}
		}
	})
}

// RoleExists and DatabaseExists look in the catalog as the superuser, for
// tests that assert what a run must not have created.
func (p *Postgres) RoleExists(t testing.TB, name string) bool {
	t.Helper()
	return p.exists(t, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name)
}

// DatabaseExists: see RoleExists.
func (p *Postgres) DatabaseExists(t testing.TB, name string) bool {
	t.Helper()
	return p.exists(t, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name)
}

func (p *Postgres) exists(t testing.TB, query, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		t.Fatalf("connect as admin: %v", err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, query, name).Scan(&ok); err != nil {
		t.Fatalf("query the catalog for %s: %v", name, err)
	}
	return ok
}

// leftovers lists the roles and databases still on the server besides the
// ones StartPostgres made, "" when there are none.
func (p *Postgres) leftovers() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		return "(cannot connect to check: " + err.Error() + ")"
	}
	defer conn.Close(ctx)
	var roles, dbs []string
	err = conn.QueryRow(ctx, `SELECT
		ARRAY(SELECT rolname::text FROM pg_roles WHERE rolname NOT LIKE 'pg\_%' AND rolname <> ALL($1) ORDER BY 1),
		ARRAY(SELECT datname::text FROM pg_database WHERE datname <> ALL($2) ORDER BY 1)`,
		[]string{"postgres", "rds_superuser", p.MasterUser}, []string{"postgres", "template0", "template1", p.MasterDB}).Scan(&roles, &dbs)
	if err != nil {
		return "(cannot check: " + err.Error() + ")"
	}
	if len(roles) == 0 && len(dbs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d role(s) %s, %d database(s) %s", len(roles), firstFew(roles), len(dbs), firstFew(dbs))
}

func firstFew(names []string) string {
	if len(names) > 5 {
		return fmt.Sprintf("%v…", names[:5])
	}
	return fmt.Sprint(names)
}
