package provision

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

// The package's tests share one PostgreSQL server and one moto_server; each
// test uses its own environment name, secrets and roles.
var (
	servers *testenv.Servers
	pg      *testenv.Postgres
)

const masterUser = testenv.MasterUser

func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(s *testenv.Servers) { servers, pg = s, s.Postgres }))
}

// fixture is one test's environment: its tfvars, secrets and names.
type fixture struct {
	t      testing.TB // a test or a benchmark
	env    string     // unique per test, used in secret paths
	dir    string
	tfvars string
	// made lists the roles and databases the test's entries name that did
	// not exist when they were first seeded: the cleanup drops them.
	madeRoles, madeDBs []string
	seen               map[string]bool
}

func newFixture(t testing.TB, env string) *fixture {
	t.Helper()
	f := &fixture{t: t, env: env, dir: t.TempDir(), seen: map[string]bool{}}
	f.putSecret("goldenpath/"+env+"/rds/master", pg.MasterSecret())
	t.Cleanup(f.cleanup)
	return f
}

// track notes the entries' roles and databases that do not exist yet.
func (f *fixture) track(apps []app) {
	conn := adminConn(f.t, "postgres")
	ctx := context.Background()
	for _, a := range apps {
		if !f.seen["r:"+a.user] {
			f.seen["r:"+a.user] = true
			var n int
			conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", a.user).Scan(&n)
			if n == 0 {
				f.madeRoles = append(f.madeRoles, a.user)
			}
		}
		if !f.seen["d:"+a.db] {
			f.seen["d:"+a.db] = true
			var n int
			conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", a.db).Scan(&n)
			if n == 0 {
				f.madeDBs = append(f.madeDBs, a.db)
			}
		}
	}
}

// cleanup drops what the test made: its databases and those its roles
// own (plugin databases), then the roles.
func (f *fixture) cleanup() {
	if len(f.madeRoles)+len(f.madeDBs) == 0 {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		f.t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	dbs := append([]string(nil), f.madeDBs...)
	rows, _ := conn.Query(ctx, "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = ANY($1)", f.madeRoles)
	owned, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, db := range append(dbs, owned...) {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(db)+" WITH (FORCE)"); err != nil {
			f.t.Logf("cleanup: drop database %s: %v", db, err)
		}
	}
	for _, r := range f.madeRoles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(r)); err != nil {
			f.t.Logf("cleanup: drop role %s: %v", r, err)
		}
	}
}

// app is one application_databases entry of a test.
type app struct {
	key, db, user, password, access string
	adopt                           []string // adopt_owned_databases
	schema                          string   // initial_schema
	secret                          string   // secret_name; empty = the default path of key
}

func (f *fixture) writeTfvars(apps ...app) {
	f.t.Helper()
	f.track(apps)
	var b strings.Builder
	b.WriteString("aws_region = \"eu-west-2\"\nmaster_username = \"platform_admin\"\n\napplication_databases = {\n")
	for _, a := range apps {
		fmt.Fprintf(&b, "  %s = {\n    database_name = %q\n    username      = %q\n", a.key, a.db, a.user)
		if a.access != "" {
			fmt.Fprintf(&b, "    access_level  = %q\n", a.access)
		}
		if a.schema != "" {
			fmt.Fprintf(&b, "    initial_schema = %q\n", a.schema)
		}
		if a.secret != "" {
			fmt.Fprintf(&b, "    secret_name   = %q\n", a.secret)
		}
		if a.adopt != nil {
			fmt.Fprintf(&b, "    adopt_owned_databases = [%s]\n", quotedList(a.adopt))
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	f.tfvars = filepath.Join(f.dir, "terraform.tfvars")
	if err := os.WriteFile(f.tfvars, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// seedApps writes the tfvars and the app secrets.
func (f *fixture) seedApps(apps ...app) {
	f.t.Helper()
	f.writeTfvars(apps...)
	for _, a := range apps {
		if a.password != "" {
			path := a.secret
			if path == "" {
				path = f.appSecret(a.key)
			}
			f.putSecret(path, map[string]any{"username": a.user, "password": a.password})
		}
	}
}

func (f *fixture) appSecret(key string) string {
	return "goldenpath/" + f.env + "/" + key + "/postgres"
}

func (f *fixture) putSecret(name string, value map[string]any) {
	f.t.Helper()
	servers.MustPutSecret(f.t, name, value)
}

// outcome is what one run produced.
type outcome struct {
	res    Result
	err    error
	csv    string
	log    string
	masked []string
}

func (f *fixture) options() Options {
	return Options{
		Env:        f.env,
		TfvarsPath: f.tfvars,
		SSLMode:    "disable",
		Getenv:     func(string) string { return "" },
		Parallel:   testParallel(f.t),
	}
}

// testParallel is Options.Parallel for the tests: RDSP_TEST_PARALLEL when
// set (RDSP_TEST_PARALLEL=1 go test ./internal/provision/ runs the suite
// serially), else 0, the default.
func testParallel(t testing.TB) int {
	v := os.Getenv("RDSP_TEST_PARALLEL")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("RDSP_TEST_PARALLEL=%q: want a positive number", v)
	}
	return n
}

func (f *fixture) run(mutate ...func(*Options)) outcome {
	f.t.Helper()
	opts := f.options()
	for _, m := range mutate {
		m(&opts)
	}
	return runWith(f.t, opts)
}

func runWith(t testing.TB, opts Options) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runCtx(t, ctx, opts)
}

// runCtx is runWith under the caller's context (cancellation tests).
func runCtx(t testing.TB, ctx context.Context, opts Options) outcome {
	t.Helper()
	var out outcome
	var csvBuf, logBuf bytes.Buffer
	opts.Audit = audit.NewLog()
	if err := opts.Audit.AddSink(&csvBuf, true); err != nil {
		t.Fatal(err)
	}
	opts.Log = &logBuf
	opts.Mask = func(s string) { out.masked = append(out.masked, s) }
	out.res, out.err = Run(ctx, opts)
	out.csv, out.log = csvBuf.String(), logBuf.String()
	return out
}

// statuses lists "action:status" per row for one username.
func (o outcome) statuses(user string) []string {
	var s []string
	for _, r := range o.res.Rows {
		if r.Username == user {
			s = append(s, r.Action+":"+string(r.Status))
		}
	}
	return s
}

func (o outcome) message(user, action string) string {
	for _, r := range o.res.Rows {
		if r.Username == user && r.Action == action {
			return r.Message
		}
	}
	return ""
}

func adminConn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminURL(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func adminURL(db string) string {
	return strings.Replace(pg.AdminURL, "/postgres?", "/"+db+"?", 1)
}

func adminExec(t testing.TB, sql string) {
	t.Helper()
	if _, err := adminConn(t, "postgres").Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// login connects as user with password to db.
func login(user, password, db string) (*pgx.Conn, error) {
	return pgx.Connect(context.Background(), pg.URL(user, password, db))
}
