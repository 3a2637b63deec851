package provision

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

// masterQueries are the queries the master's sessions send, with their
// arguments: those that run inside tenant databases (sqlDatabaseACLs, and
// sqlPlainTemplate in template1) and those of the master's own database.
var masterQueries = map[string]struct {
	sql  string
	args []any
}{
	"sqlDatabaseACLs":  {sqlDatabaseACLs, []any{[]string{"iso_q_owner"}}},
	"sqlPlainTemplate": {sqlPlainTemplate, nil},
	"sqlRoles":         {sqlRoles, []any{[]string{"iso_q_owner"}, privilegedPredefined}},
	"sqlDatabases":     {sqlDatabases, []any{[]string{"iso_q_db"}}},
	"sqlAllPrivileges": {sqlAllPrivileges, nil},
}

// TestMasterQueriesNamePgCatalog: every function, operator and type in the
// master's queries is named in pg_catalog, and none looks an operator up
// by the search path.
func TestMasterQueriesNamePgCatalog(t *testing.T) {
	for name, q := range masterQueries {
		if got := testenv.Unqualified(q.sql); len(got) > 0 {
			t.Errorf("%s resolves by the search path: %v", name, got)
		}
	}
}

var (
	qualifiedCall = regexp.MustCompile(`pg_catalog\.([a-z_]+)\(`)
	qualifiedOp   = regexp.MustCompile(`OPERATOR\(pg_catalog\.([^)\s]+)\)`)
	qualifiedType = regexp.MustCompile(`::pg_catalog\.("char"|[a-z0-9_]+)`)
)

// TestMasterQueriesIgnoreTwinsInPublic runs the master's queries in a
// database whose schema public holds a twin of every function, operator
// and type they name (same name, same argument types, raising an error
// when called), in a session whose search_path puts public before
// pg_catalog, as a tenant's ALTER DATABASE ... SET would without the
// session's own setting. No twin runs.
func TestMasterQueriesIgnoreTwinsInPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	adminExec(t, "CREATE ROLE iso_q_owner LOGIN")
	adminExec(t, "CREATE DATABASE iso_q_db OWNER iso_q_owner")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS iso_q_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS iso_q_owner")
	})
	var funcs, ops, types []string
	for _, q := range masterQueries {
		for _, m := range qualifiedCall.FindAllStringSubmatch(q.sql, -1) {
			funcs = append(funcs, m[1])
		}
		for _, m := range qualifiedOp.FindAllStringSubmatch(q.sql, -1) {
			ops = append(ops, m[1])
		}
		for _, m := range qualifiedType.FindAllStringSubmatch(q.sql, -1) {
			types = append(types, strings.Trim(m[1], `"`))
		}
	}
	slices.Sort(funcs)
	slices.Sort(ops)
	slices.Sort(types)
	funcs, ops, types = slices.Compact(funcs), slices.Compact(ops), slices.Compact(types)

	// The twins are made by the superuser, so every signature can be: a
	// tenant makes the ones its own rights allow, a subset.
	admin := adminConn(t, "iso_q_db")
	var made int
	_, err := admin.Exec(ctx, `
CREATE FUNCTION pg_temp.rdsp_plant(fs text[], os text[], ts text[]) RETURNS void LANGUAGE plpgsql AS $twins$
DECLARE
  f record;
  n integer := 0;
BEGIN
  FOR f IN SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result
             FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY(fs)
  LOOP
    BEGIN
      EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                     f.proname, f.args, f.result, 'BEGIN RAISE EXCEPTION ''twin of ' || f.proname || ' ran''; END');
    EXCEPTION WHEN OTHERS THEN NULL; -- internal or pseudo types: no plpgsql twin
    END;
  END LOOP;
  FOR f IN SELECT o.oprname, o.oprleft::regtype AS l, o.oprright::regtype AS r, o.oprresult::regtype AS res
             FROM pg_operator o WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprname = ANY(os)
              AND o.oprleft <> 0 AND o.oprright <> 0
  LOOP
    n := n + 1;
    BEGIN
      EXECUTE format('CREATE FUNCTION public.rdsp_twin_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
                     n, f.l, f.r, f.res, 'BEGIN RAISE EXCEPTION ''twin of operator ' || f.oprname || ' ran''; END');
      EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.rdsp_twin_%s)', f.oprname, f.l, f.r, n);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END LOOP;
  FOR f IN SELECT unnest(ts) AS t LOOP
    EXECUTE format('CREATE TYPE public.%I AS (rdsp_twin integer)', f.t);
  END LOOP;
END
$twins$`)
	if err == nil {
		_, err = admin.Exec(ctx, "SELECT pg_temp.rdsp_plant($1, $2, $3)", funcs, ops, types)
	}
	if err != nil {
		t.Fatalf("plant the twins: %v", err)
	}
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace`).Scan(&made); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d twins in public for %d functions, %d operators and %d types named in the queries", made, len(funcs), len(ops), len(types))

	conn, err := pgx.Connect(ctx, pg.URL(pg.MasterUser, pg.MasterPassword, "iso_q_db"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path = public, pg_catalog"); err != nil {
		t.Fatal(err)
	}
	// The control: unqualified, the twins do run.
	for _, control := range []string{
		"SELECT pg_get_userbyid(d.datdba) FROM pg_database d",
		"SELECT d.oid = d.datdba FROM pg_database d",
		"SELECT d.datname::pg_catalog.text || d.datname::pg_catalog.text FROM pg_database d",
	} {
		if _, err := conn.Exec(ctx, control); err == nil || !strings.Contains(err.Error(), "twin of") {
			t.Fatalf("%s: %v, want a twin to run: the test proves nothing", control, err)
		}
	}
	for name, q := range masterQueries {
		rows, err := conn.Query(ctx, q.sql, q.args...)
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			t.Errorf("%s in a database with twins in public: %v", name, err)
		}
	}
}
