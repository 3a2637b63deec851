package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestPostgresMasterIsRDSLike(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx, "platform_admin")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	conn, err := pgx.Connect(ctx, pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var super, createrole, createdb bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createrole, &createdb)
	if err != nil {
		t.Fatal(err)
	}
	if super || !createrole || !createdb {
		t.Fatalf("master: super=%v createrole=%v createdb=%v, want false true true", super, createrole, createdb)
	}
	var version string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL %s", version)
	if dir := os.Getenv(PGBinEnv); dir != "" {
		// The server must be the one PG_BIN names, not one found on PATH.
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err != nil {
			t.Fatalf("%s/postgres --version: %v", dir, err)
		}
		if want := strings.Fields(string(out)); len(want) == 0 || want[len(want)-1] != version {
			t.Errorf("server_version %q, want the version of %s/postgres: %q", version, dir, out)
		}
	}
}

func TestPGBinMissingBinaryNamesTheVariable(t *testing.T) {
	t.Setenv(PGBinEnv, t.TempDir())
	_, err := findPGBinary("initdb")
	if err == nil || !strings.Contains(err.Error(), PGBinEnv+"=") {
		t.Fatalf("findPGBinary with an empty %s: %v, want an error naming %s", PGBinEnv, err, PGBinEnv)
	}
}

func TestMotoAnswers(t *testing.T) {
	m, err := StartMoto(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
}

func TestDropOnCleanupLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx, "platform_admin")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	conn, err := pgx.Connect(ctx, pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var other *pgx.Conn
	defer func() {
		if other != nil {
			other.Close(context.Background())
		}
	}()
	t.Run("creates", func(t *testing.T) {
		pg.DropOnCleanup(t, []string{"cleanup_db", "never_made_db"}, []string{"cleanup_user", "never_made_user"})
		for _, s := range []string{`CREATE ROLE cleanup_user LOGIN`, `CREATE DATABASE cleanup_db`} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		// A session still connected to the database (closed only after the
		// cleanup) must not keep it.
		if other, err = pgx.Connect(ctx, pg.URL(pg.MasterUser, pg.MasterPassword, "cleanup_db")); err != nil {
			t.Fatal(err)
		}
		if !pg.RoleExists(t, "cleanup_user") || !pg.DatabaseExists(t, "cleanup_db") {
			t.Fatal("RoleExists/DatabaseExists do not see what was just created")
		}
	})
	if pg.RoleExists(t, "cleanup_user") || pg.DatabaseExists(t, "cleanup_db") {
		t.Error("the role or database outlived the test that registered its cleanup")
	}
}

func TestUnqualified(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{`SELECT pg_catalog.count(*) FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) 10::pg_catalog.oid`, nil},
		{`SELECT count(*) FROM pg_roles WHERE oid = 10`, []string{"function count", "operator ="}},
		{`SELECT x::text || 'a=b' FROM t WHERE y IN (1, 2) AND NULLIF(a, b) IS NOT DISTINCT FROM c`,
			[]string{"construct IN (", "construct IS NOT DISTINCT", "construct NULLIF", "function nullif", "operator ||", "type text"}},
		{`SELECT CASE c.relkind WHEN 'S' THEN 1 END, CASE WHEN a THEN 2 END`, []string{"construct CASE C"}},
		{`WITH up (m, r) AS (SELECT 1), n AS MATERIALIZED (SELECT m.* FROM up m) SELECT t.k FROM pg_catalog.unnest('{a}'::pg_catalog."char"[]) AS t(k)`, nil},
		{`DO $x$ DECLARE g pg_catalog.text; BEGIN g := lower('A'); END $x$`, []string{"function lower"}},
	} {
		if diff := cmp.Diff(tc.want, Unqualified(tc.sql)); diff != "" {
			t.Errorf("Unqualified(%s) (-want +got):\n%s", tc.sql, diff)
		}
	}
}
