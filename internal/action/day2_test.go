package action

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// TestDay2RequestThenProvision drives day-2 requests end to end on the
// real parts: the action in request mode opens the pull request on the
// GitHub test server, the merge lands in the checkout, and the action in
// provision mode converges PostgreSQL as the RDS-like master. A grant gives
// the new role exactly its level on the database; change-access from
// editor to reader takes its write access away; the catalog's access
// records turn active through the write-back.
func TestDay2RequestThenProvision(t *testing.T) {
	t.Parallel()
	const env, db, owner = "act-d2", "act_d2_orders", "act_d2_orders_user"
	const reader, editor = "act_d2_bi", "act_d2_etl"
	// Dropped after the database (cleanups run last first).
	pg.DropOnCleanup(t, nil, []string{reader, editor})
	in := newInfra(t, env, []app{{db, db, owner}})
	in.write(catalog.Path(env), `# RDS catalog of act-d2
version: "1.0"
last_updated: "2026-01-16"
rds_instance: goldenpath-platform-db-act-d2
databases:
  act_d2_orders:
    metadata:
      id: DATABASE_ACT_D2_ORDERS
      owner: app-team
      requested_by: jane-doe
      domain: catalog
      risk: medium
      environment: act-d2
      status: pending
      created_date: "2026-01-10"
    configuration:
      username: act_d2_orders_user
      size_tier: small
      instance_class: db.t3.micro
      secret_path: goldenpath/act-d2/act_d2_orders/postgres
`)
	// The infra repo's own vocabulary knows this test's environment.
	in.write("schemas/metadata/enums.yaml", "environments: [dev, test, staging, prod, act-d2]\n")

	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SetIdentity(ghtest.AppTokenWithMembers("rds-provision"))
	srv.AddTeam("app-team")
	files := map[string]string{}
	for _, p := range []string{in.tfvars, catalog.Path(env), "schemas/metadata/enums.yaml"} {
		b, err := os.ReadFile(filepath.Join(in.workspace, p))
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(b)
	}
	srv.SeedBranch("development", files)

	provision := func(what string) {
		t.Helper()
		r := in.provisionRunner().input("github_token", srv.Token()).input("comment_on_pr", "false")
		r.env["GITHUB_API_URL"] = srv.URL()
		r.env["GITHUB_REPOSITORY"] = srv.Repository()
		r.env["GITHUB_REF"] = "refs/heads/development"
		if res := r.run(); res.err != nil || res.outputs["error_count"] != "0" {
			t.Fatalf("provision after %s: %v\n%s", what, res.err, res.log)
		}
		checkout(t, srv, in) // the write-back committed the catalog
	}
	request := func(typ, user, level string) int {
		t.Helper()
		r := newRunner(t, t.TempDir()).
			input("mode", "request").input("github_token", srv.Token()).
			input("request_type", typ).input("database_name", db).input("username", user).
			input("access_level", level).input("owner", "sre-team").input("user", "bo-bi").
			input("environment", env).input("base_branch", "development").input("initial_schema", "none")
		r.env["GITHUB_API_URL"] = srv.URL()
		r.env["GITHUB_REPOSITORY"] = srv.Repository()
		r.env["GITHUB_ACTOR"] = "bo-bi"
		res := r.run()
		if res.err != nil || res.outputs["changed"] != "true" {
			t.Fatalf("%s %s: %v\n%s", typ, user, res.err, res.log)
		}
		var n int
		fmt.Sscan(res.outputs["pr_number"], &n)
		pr := srv.PullRequests()[n-1]
		if !cmp.Equal(pr.RequestedTeams, []string{"app-team"}) {
			t.Errorf("%s %s: requested teams %v, want the owning team", typ, user, pr.RequestedTeams)
		}
		srv.MergePR(n)
		checkout(t, srv, in)
		return n
	}

	// The database and its owner, then a table and a sequence of the
	// owner's, as an application would have them.
	provision("the database's create")
	asRole(t, owner, in.passwords[db], db, "CREATE TABLE public.orders (id serial PRIMARY KEY, item text)", "INSERT INTO public.orders (item) VALUES ('first')")

	// Terraform creates each granted role's secret at merge.
	for _, role := range []string{reader, editor} {
		in.passwords[role] = randomPassword(t)
		servers.MustPutSecret(t, "goldenpath/"+env+"/"+role+"/postgres", map[string]any{"username": role, "password": in.passwords[role]})
	}
	request("grant", reader, "reader")
	request("grant", editor, "editor")
	provision("the grants")

	reading := map[string][]string{"database": {"CONNECT"}, "schema": {"USAGE"}, "table": {"SELECT"}, "sequence": {"SELECT"}}
	writing := map[string][]string{"database": {"CONNECT"}, "schema": {"USAGE"}, "table": {"DELETE", "INSERT", "SELECT", "UPDATE"}, "sequence": {"SELECT", "USAGE"}}
	if diff := cmp.Diff(reading, grantsOf(t, db, reader)); diff != "" {
		t.Errorf("reader %s's privileges (-want +got):\n%s", reader, diff)
	}
	if diff := cmp.Diff(writing, grantsOf(t, db, editor)); diff != "" {
		t.Errorf("editor %s's privileges (-want +got):\n%s", editor, diff)
	}
	asRole(t, reader, in.passwords[reader], db, "SELECT count(*) FROM public.orders")
	if err := tryAs(t, reader, in.passwords[reader], db, "INSERT INTO public.orders (item) VALUES ('by the reader')"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the reader wrote: %v", err)
	}
	asRole(t, editor, in.passwords[editor], db, "INSERT INTO public.orders (item) VALUES ('by the editor')", "UPDATE public.orders SET item = item", "SELECT count(*) FROM public.orders")
	for _, role := range []string{reader, editor} {
		if err := tryAs(t, role, in.passwords[role], db, "CREATE TABLE public.squat (x int)"); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s created a table in public: %v", role, err)
		}
	}
	cat := catalogOf(t, in, env, db)
	for _, role := range []string{reader, editor} {
		if rec, ok := cat.AccessOf(role); !ok || rec.Status != "active" || rec.Team != "sre-team" || rec.RequestedBy != "bo-bi" {
			t.Errorf("catalog record of %s after provisioning: %+v", role, rec)
		}
	}
	if cat.Status != "active" {
		t.Errorf("the database's status is %q", cat.Status)
	}

	// The ETL job only needs to read now.
	request("change-access", editor, "reader")
	provision("the change of access")
	if diff := cmp.Diff(reading, grantsOf(t, db, editor)); diff != "" {
		t.Errorf("%s's privileges after change-access to reader (-want +got):\n%s", editor, diff)
	}
	if err := tryAs(t, editor, in.passwords[editor], db, "INSERT INTO public.orders (item) VALUES ('after the change')"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the former editor still writes: %v", err)
	}
	asRole(t, editor, in.passwords[editor], db, "SELECT count(*) FROM public.orders")
	// The owner's own later tables follow the new level too (default
	// privileges).
	asRole(t, owner, in.passwords[db], db, "CREATE TABLE public.later (x int)")
	if err := tryAs(t, editor, in.passwords[editor], db, "INSERT INTO public.later VALUES (1)"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the former editor writes a later table: %v", err)
	}
	asRole(t, editor, in.passwords[editor], db, "SELECT count(*) FROM public.later")
	if rec, _ := catalogOf(t, in, env, db).AccessOf(editor); rec.Level != "reader" || rec.Status != "active" || rec.ChangedBy != "bo-bi" {
		t.Errorf("catalog record of %s after the change: %+v", editor, rec)
	}
}

// checkout writes the files of development into the workspace, as the
// apply workflow's checkout of the merge would.
func checkout(t *testing.T, srv *ghtest.Server, in *infra) {
	t.Helper()
	for p, content := range srv.Files("development") {
		in.write(p, content)
	}
}

func catalogOf(t *testing.T, in *infra, env, db string) catalog.Entry {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(in.workspace, catalog.Path(env)))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := catalog.Entries(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == db {
			return e
		}
	}
	t.Fatalf("no catalog entry %s:\n%s", db, src)
	return catalog.Entry{}
}

// grantsOf reads, as the superuser, the privileges granted to role itself
// on db, its schema public, and the tables and sequences there (their ACLs,
// without PUBLIC's), and the default privileges on the owner's later
// tables and sequences must say the same.
func grantsOf(t *testing.T, db, role string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT 'database', a.privilege_type FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a
		 WHERE d.datname = current_database() AND a.grantee = $1::regrole
		UNION
		SELECT 'schema', a.privilege_type FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
		 WHERE n.nspname = 'public' AND a.grantee = $1::regrole
		UNION
		SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, a.privilege_type
		  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, pg_catalog.aclexplode(c.relacl) a
		 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') AND a.grantee = $1::regrole
		UNION
		SELECT CASE d.defaclobjtype WHEN 'S' THEN 'default sequence' ELSE 'default table' END, a.privilege_type
		  FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
		 WHERE a.grantee = $1::regrole`, role)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for rows.Next() {
		var kind, priv string
		if err := rows.Scan(&kind, &priv); err != nil {
			t.Fatal(err)
		}
		got[kind] = append(got[kind], priv)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k := range got {
		slices.Sort(got[k])
	}
	for _, k := range []string{"table", "sequence"} {
		if !slices.Equal(got[k], got["default "+k]) {
			t.Errorf("%s: default privileges on later %ss %v differ from those on the existing ones %v", role, k, got["default "+k], got[k])
		}
		delete(got, "default "+k)
	}
	return got
}

// tryAs runs statements in db logged in as role, as its application
// would.
func tryAs(t *testing.T, role, password, db string, statements ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL(role, password, db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func asRole(t *testing.T, role, password, db string, statements ...string) {
	t.Helper()
	if err := tryAs(t, role, password, db, statements...); err != nil {
		t.Fatalf("as %s: %v", role, err)
	}
}
