package provision

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// parallels are the --parallel values the engine tests run with.
var parallels = []int{1, DefaultParallel}

// TestPlanWhereGrantsRun checks the rule that skips the connection into a
// database: a step of database-ACL statements only runs on the master's
// session; a database this run creates needs nothing more for its owner
// only when template1 is plain.
func TestPlanWhereGrantsRun(t *testing.T) {
	type where struct {
		Action, On string
		SQL        []string
	}
	for _, tc := range []struct {
		name    string
		plain   bool
		entries []*entry
		want    []where
	}{
		{"plain template1: owner only, no connection into the database", true, []*entry{planEntry("shop", "shop", "shop_user", "")}, []where{
			{"create_role", "", []string{`CREATE ROLE "shop_user" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_user" TO "platform_admin"`, `COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}'`}},
			{"create_database", "", []string{`CREATE DATABASE "shop" OWNER "shop_user"`}},
			{"apply_grants", "", []string{`REVOKE ALL ON DATABASE "shop" FROM PUBLIC`}},
		}},
		{"template1 not plain: the owner's schema grant, inside the database", false, []*entry{planEntry("shop", "shop", "shop_user", "")}, []where{
			{"create_role", "", []string{`CREATE ROLE "shop_user" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_user" TO "platform_admin"`, `COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}'`}},
			{"create_database", "", []string{`CREATE DATABASE "shop" OWNER "shop_user"`}},
			{"apply_grants", "shop", []string{`REVOKE ALL ON DATABASE "shop" FROM PUBLIC`, `GRANT USAGE, CREATE ON SCHEMA public TO "shop_user"`}},
		}},
		{"plain template1: a reader's schema and default privileges need the database", true, []*entry{planEntry("shop", "shop", "shop_user", ""), planEntry("shop_ro", "shop", "shop_ro", tfvars.AccessReader)}, []where{
			{"create_role", "", []string{`CREATE ROLE "shop_user" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_user" TO "platform_admin"`, `COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}'`}},
			{"create_database", "", []string{`CREATE DATABASE "shop" OWNER "shop_user"`}},
			{"apply_grants", "", []string{`REVOKE ALL ON DATABASE "shop" FROM PUBLIC`}},
			{"create_role", "", []string{`CREATE ROLE "shop_ro" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_ro" TO "platform_admin"`, `COMMENT ON ROLE "shop_ro" IS 'rds-provision: {"secret":"goldenpath/dev/shop_ro/postgres","v":1}'`}},
			{"create_database", "", nil},
			{"apply_grants", "shop", []string{
				`GRANT CONNECT ON DATABASE "shop" TO "shop_ro"`,
				`GRANT USAGE ON SCHEMA public TO "shop_ro"`,
				`ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" IN SCHEMA public GRANT SELECT ON TABLES TO "shop_ro"`,
				`ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" IN SCHEMA public GRANT SELECT ON SEQUENCES TO "shop_ro"`,
			}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeState().st
			st.plainTemplate = tc.plain
			var got []where
			for _, s := range runPlan(st, false, tc.entries...) {
				got = append(got, where{s.Action, s.On, s.SQL})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlainTemplateRule reads databases made like template1 can be: plain
// as initdb of PostgreSQL 15+ makes it, with a table in public, with
// default privileges there, with public owned by a role.
func TestPlainTemplateRule(t *testing.T) {
	t.Parallel()
	admin := adminConn(t, "postgres")
	ctx := context.Background()
	r := &run{opts: Options{SSLMode: "disable", StatementTimeout: DefaultStatementTimeout, Getenv: func(string) string { return "" }}}
	var dbs []string
	t.Cleanup(func() {
		for _, db := range dbs {
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(db)+" WITH (FORCE)")
		}
	})
	for _, tc := range []struct {
		name, setup string
		want        bool
	}{
		{"as initdb makes it", "", true},
		{"a table in public", "CREATE TABLE public.seeded (id int)", false},
		{"a sequence in public", "CREATE SEQUENCE public.seeded_seq", false},
		{"default privileges in public", "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC", false},
		{"public owned by a role (an upgraded cluster)", "ALTER SCHEMA public OWNER TO " + masterUser, false},
		{"public granted to a role", "GRANT USAGE ON SCHEMA public TO " + masterUser, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("plaintpl_%d", len(dbs))
			dbs = append(dbs, db)
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(db)); err != nil {
				t.Fatal(err)
			}
			if tc.setup != "" {
				if _, err := adminConn(t, db).Exec(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			r.master = pgMaster(t)
			if got := r.readPlainTemplate(ctx, db); got != tc.want {
				t.Errorf("plain = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("template1 of the test server", func(t *testing.T) {
		r.master = pgMaster(t)
		if !r.readPlainTemplate(ctx, templateDatabase) {
			t.Error("template1 of a PostgreSQL 15+ initdb is plain")
		}
	})
}

// pgMaster is the test server's master credentials.
func pgMaster(t *testing.T) secrets.Master {
	t.Helper()
	return secrets.Master{Host: pg.Host, Port: pg.Port, Username: pg.MasterUser, Password: pg.MasterPassword, DBName: pg.MasterDB}
}

// connectLog records the databases connected to.
type connectLog struct {
	statementLog
	dbs []string
}

func (c *connectLog) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dbs = append(c.dbs, data.ConnConfig.Database)
	return ctx
}

func (c *connectLog) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}

func TestCreatedDatabaseNeedsNoConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "noconn")
	owner := app{key: "nc_owner", db: "nc_db", user: "nc_owner_user", password: "pw-o"}
	f.seedApps(owner)
	log := &connectLog{}
	out := mustRun(t, f, func(o *Options) { o.Tracer = log })
	// The master's session, the template1 read, the pool connection that
	// creates the database and revokes PUBLIC's access: none into nc_db.
	if want := []string{"postgres", "template1", "postgres"}; !cmp.Equal(log.dbs, want) {
		t.Errorf("connected to %v, want %v: the owner's grants on a database created from a plain template1 need no connection into it", log.dbs, want)
	}
	if got := out.statuses(owner.user); !cmp.Equal(got, []string{"create_role:success", "create_database:success", "apply_grants:success"}) {
		t.Errorf("rows = %v\n%s", got, out.log)
	}
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE made (id serial); INSERT INTO made DEFAULT VALUES"); err != nil {
		t.Errorf("the owner cannot use schema public: %v", err)
	}
	again := mustRun(t, f)
	for _, r := range again.res.Rows {
		if r.Status != audit.NoChange {
			t.Errorf("rerun row: %+v", r)
		}
	}
}

// firstStatement runs fn once, before the first statement starting with
// prefix, on whatever connection sends it.
type firstStatement struct {
	prefix string
	fn     func()
	once   sync.Once
}

func (o *firstStatement) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(data.SQL, o.prefix) {
		o.once.Do(o.fn)
	}
	return ctx
}

func (o *firstStatement) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// rowKeys lists a run's rows as username/action/status with the test's
// prefix removed, so runs of different fixtures compare.
func rowKeys(out outcome, prefix string) []string {
	var keys []string
	for _, r := range out.res.Rows {
		keys = append(keys, strings.TrimPrefix(r.Username, prefix)+"/"+r.Action+"/"+string(r.Status))
	}
	return keys
}

// pairs lists n owner entries, each followed by an editor of its
// database, so every entry has work inside a database.
func pairs(prefix string, n int) []app {
	var apps []app
	for i := range n {
		name := fmt.Sprintf("%s%02d", prefix, i)
		apps = append(apps,
			app{key: name, db: name + "_db", user: name + "_own", password: "pw-" + name},
			app{key: name + "_ed", db: name + "_db", user: name + "_ed", password: "pw-ed-" + name, access: "editor"})
	}
	return apps
}

func TestParallelRowsFollowThePlan(t *testing.T) {
	t.Parallel()
	var cold, rerun [][]string
	for _, p := range parallels {
		prefix := fmt.Sprintf("ord%d_", p)
		f := newFixture(t, fmt.Sprintf("order%d", p))
		f.seedApps(pairs(prefix, 6)...)
		for i, dst := range []*[][]string{&cold, &rerun} {
			out := mustRun(t, f, func(o *Options) { o.Parallel = p })
			// Every step has its row, in plan order, and the log lines
			// follow the rows.
			if len(out.res.Rows) != len(out.res.Steps) {
				t.Fatalf("parallel %d: %d rows for %d steps\n%s", p, len(out.res.Rows), len(out.res.Steps), out.log)
			}
			lines := strings.Split(out.log, "\n")
			next := 0
			for k, s := range out.res.Steps {
				if r := out.res.Rows[k]; r.Username != s.Username || r.Action != s.Action {
					t.Errorf("parallel %d, run %d: row %d is %s/%s, the plan's step is %s/%s", p, i, k, r.Username, r.Action, s.Username, s.Action)
				}
				for next < len(lines) && !strings.Contains(lines[next], out.res.Rows[k].Message) {
					next++
				}
				if next == len(lines) {
					t.Errorf("parallel %d: log line of row %d (%s) missing or out of order\n%s", p, k, out.res.Rows[k].Message, out.log)
					break
				}
			}
			*dst = append(*dst, rowKeys(out, prefix))
		}
	}
	for _, runs := range [][][]string{cold, rerun} {
		if diff := cmp.Diff(runs[0], runs[1]); diff != "" {
			t.Errorf("rows differ between --parallel 1 and %d (-serial +parallel):\n%s", DefaultParallel, diff)
		}
	}
}

// TestFailFastStopsScheduling makes the second entry's role step fail on
// the master's session while the run executes (its role appears just
// before the batch, so the batch fails and the role steps run one by one):
// an instance-level failure, so fail-fast lets the entries of its wave
// finish, starts no other, and says which kind of failure stopped it.
// (A failure inside one database does not stop the run: see
// TestSquattedDatabaseFailsOnlyItsEntry.)
func TestFailFastStopsScheduling(t *testing.T) {
	t.Parallel()
	for _, p := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel=%d", p), func(t *testing.T) {
			prefix := fmt.Sprintf("ffs%d_", p)
			f := newFixture(t, fmt.Sprintf("ffsched%d", p))
			apps := manyApps(prefix, 8)
			f.seedApps(apps...)
			admin := adminConn(t, "postgres")
			clash := &beforeBatch{firstStatement{prefix: "CREATE ROLE", fn: func() {
				if _, err := admin.Exec(context.Background(), "CREATE ROLE "+ident(apps[1].user)); err != nil {
					t.Error(err)
				}
			}}}
			out := f.run(func(o *Options) { o.Parallel, o.Tracer = p, clash })
			if out.err == nil {
				t.Fatalf("the run did not fail\n%s", out.log)
			}
			full := []string{"create_role:success", "create_database:success", "apply_grants:success"}
			for i, a := range apps {
				var want []string
				switch {
				case i == 1:
					want = []string{"create_role:error"}
				case i < max(p, 2): // the failing entry's wave runs whole
					want = full
				default: // the batch failed: nothing of the later entries ran
				}
				if got := out.statuses(a.user); !cmp.Equal(got, want) {
					t.Errorf("%s rows = %v, want %v", a.user, got, want)
				}
				if i >= max(p, 2) && (databaseExists(t, a.db) || roleExists(t, a.user)) {
					t.Errorf("role or database of %s, of a later wave, was created", a.key)
				}
			}
			want := fmt.Sprintf("Stopping at the first failure (fail-fast): an instance-level failure (create_role for %s, on the master's session); %d later database(s) not processed", apps[1].user, len(apps)-max(p, 2))
			if !strings.Contains(out.log, want) {
				t.Errorf("no fail-fast line %q:\n%s", want, out.log)
			}
		})
	}
}

// beforeBatch runs fn once, before the first batch that holds a statement
// starting with prefix.
type beforeBatch struct {
	firstStatement
}

func (b *beforeBatch) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	for _, q := range data.Batch.QueuedQueries {
		if strings.HasPrefix(q.SQL, b.prefix) {
			b.once.Do(b.fn)
		}
	}
	return ctx
}

func (b *beforeBatch) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (b *beforeBatch) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestFailedRoleBatchRunsStepByStep makes the role batch fail (a role it
// creates appears just before): nothing of the batch took effect, and the
// role steps run one by one, so only the clashing entry has an error row.
func TestFailedRoleBatchRunsStepByStep(t *testing.T) {
	t.Parallel()
	for _, p := range parallels {
		t.Run(fmt.Sprintf("parallel=%d", p), func(t *testing.T) {
			prefix := fmt.Sprintf("rb%d_", p)
			f := newFixture(t, fmt.Sprintf("rolebatch%d", p))
			apps := manyApps(prefix, 3)
			f.seedApps(apps...)
			admin := adminConn(t, "postgres")
			clash := &beforeBatch{firstStatement{prefix: "CREATE ROLE", fn: func() {
				if _, err := admin.Exec(context.Background(), "CREATE ROLE "+ident(apps[1].user)); err != nil {
					t.Error(err)
				}
			}}}
			out := f.run(func(o *Options) { o.Parallel, o.Tracer, o.NoFailFast = p, clash, true })
			full := []string{"create_role:success", "create_database:success", "apply_grants:success"}
			for i, want := range [][]string{full, {"create_role:error"}, full} {
				if got := out.statuses(apps[i].user); !cmp.Equal(got, want) {
					t.Errorf("%s rows = %v, want %v\n%s", apps[i].user, got, want, out.log)
				}
			}
			if msg := out.message(apps[1].user, "create_role"); !strings.Contains(msg, "Failed to create role "+apps[1].user+": role \""+apps[1].user+"\" already exists") {
				t.Errorf("message = %q", msg)
			}
		})
	}
}
