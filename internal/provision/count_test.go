package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

// queryCounter counts statements sent to PostgreSQL, the instance-wide
// catalog reads and the per-database ACL reads among them.
type queryCounter struct {
	all, catalog, aclReads, batches, connects atomic.Int64
}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.batches.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c.count(data.SQL)
}
func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *queryCounter) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	c.connects.Add(1)
	return ctx
}

func (c *queryCounter) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.count(data.SQL)
	return ctx
}

func (c *queryCounter) count(sql string) {
	c.all.Add(1)
	switch sql {
	case sqlRoles, sqlDatabases, sqlAllPrivileges:
		c.catalog.Add(1)
	case sqlDatabaseACLs:
		c.aclReads.Add(1)
	}
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func manyApps(prefix string, n int) []app {
	apps := make([]app, n)
	for i := range apps {
		name := fmt.Sprintf("%s_%02d", prefix, i)
		apps[i] = app{key: name, db: name + "_db", user: name + "_user", password: "pw-" + name}
	}
	return apps
}

// counted runs once with fresh counters and returns them.
func (f *fixture) counted() (outcome, *queryCounter, *testenv.SecretsCounter) {
	f.t.Helper()
	qc := &queryCounter{}
	smc := &testenv.SecretsCounter{Client: servers.Secrets}
	out := f.run(func(o *Options) {
		o.Tracer = qc
		o.Secrets = secrets.New(smc)
	})
	if out.err != nil {
		f.t.Fatalf("%v\n%s", out.err, out.log)
	}
	return out, qc, smc
}

func TestRepeatedRunCostIsConstant(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			prefix := fmt.Sprintf("many%d", n)
			f := newFixture(t, prefix)
			f.seedApps(manyApps(prefix, n)...)
			f.counted()
			out, qc, smc := f.counted()
			if got := len(out.res.Rows); got != 3*n {
				t.Fatalf("rows = %d, want %d", got, 3*n)
			}
			t.Logf("%d entries, repeated run: %d catalog queries, %d ACL reads, %d statements in all, %d Secrets Manager calls", n, qc.catalog.Load(), qc.aclReads.Load(), qc.all.Load(), smc.Calls())
			if qc.catalog.Load() != 3 {
				t.Errorf("catalog queries = %d, want 3 whatever the number of entries", qc.catalog.Load())
			}
			if qc.aclReads.Load() != int64(n) {
				t.Errorf("ACL reads = %d, want one per database (%d)", qc.aclReads.Load(), n)
			}
			if smc.Calls() > 4 {
				t.Errorf("Secrets Manager calls = %d, want at most 4", smc.Calls())
			}
		})
	}
}

// BenchmarkRepeatedRun50 measures a no-change run over 50 databases: the
// everyday cost of the job after each merge.
func BenchmarkRepeatedRun50(b *testing.B) {

	f := newFixture(b, "bench50")
	f.seedApps(manyApps("bench50", 50)...)
	f.run()
	var queries, catalog, calls, batches, connects int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		out, qc, smc := f.counted()
		if out.err != nil {
			b.Fatal(out.err)
		}
		queries += qc.all.Load()
		catalog += qc.catalog.Load()
		calls += smc.Calls()
		batches += qc.batches.Load()
		connects += qc.connects.Load()
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N*50), "ms/database")
	b.ReportMetric(float64(queries)/float64(b.N), "statements/op")
	b.ReportMetric(float64(catalog)/float64(b.N), "catalog-queries/op")
	b.ReportMetric(float64(calls)/float64(b.N), "secrets-calls/op")
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	b.ReportMetric(float64(connects)/float64(b.N), "connections/op")
}

// BenchmarkFirstRun measures creating role, database and grants.
func BenchmarkFirstRun(b *testing.B) {

	var created int
	var elapsed time.Duration
	for i := range b.N {
		env := fmt.Sprintf("benchfirst%d", i)
		f := newFixture(b, env)
		f.seedApps(manyApps(env, 5)...)
		start := time.Now()
		if out := f.run(); out.err != nil {
			b.Fatal(out.err, out.log)
		}
		elapsed += time.Since(start)
		created += 5
	}
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(created), "ms/database")
}

// BenchmarkRerunUnrelated measures a no-change run of 10 entries on an
// instance that also holds databases and roles no entry names (each
// unrelated role owns a database and may connect to another): its cost
// must not grow with them. Compare the ns/op of the sub-benchmarks:
//
//	go test -run '^$' -bench RerunUnrelated -benchtime 10x ./internal/provision/
func BenchmarkRerunUnrelated(b *testing.B) {
	const entries = 10

	f := newFixture(b, "benchunrel")
	f.seedApps(manyApps("benchunrel", entries)...)
	if out := f.run(); out.err != nil {
		b.Fatal(out.err, out.log)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var dbs, roles []string
	for _, a := range manyApps("benchunrel", entries) {
		dbs, roles = append(dbs, a.db), append(roles, a.user)
	}
	for i := range 200 {
		dbs, roles = append(dbs, fmt.Sprintf("unrel_db_%03d", i)), append(roles, fmt.Sprintf("unrel_user_%03d", i))
	}
	pg.DropOnCleanup(b, dbs, roles)
	made := 0
	for _, unrelated := range []int{0, 200} {
		for ; made < unrelated; made++ {
			for _, sql := range []string{
				fmt.Sprintf("CREATE ROLE unrel_user_%03d LOGIN", made),
				fmt.Sprintf("CREATE DATABASE unrel_db_%03d OWNER unrel_user_%03d", made, made),
				fmt.Sprintf("GRANT CONNECT ON DATABASE unrel_db_%03d TO unrel_user_%03d", made, max(made-1, 0)),
			} {
				if _, err := conn.Exec(ctx, sql); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(fmt.Sprintf("unrelated=%d", unrelated), func(b *testing.B) {
			var catalog, connects int64
			for range b.N {
				out, qc, _ := f.counted()
				if out.err != nil {
					b.Fatal(out.err)
				}
				catalog += qc.catalog.Load()
				connects += qc.connects.Load()
			}
			b.ReportMetric(float64(catalog)/float64(b.N), "catalog-queries/op")
			b.ReportMetric(float64(connects)/float64(b.N), "connections/op")
			// The buffers the reads touch do not depend on the machine's
			// load (autovacuum visits every database): the time-free
			// measure of what the reads cost.
			catalogBlocks, aclBlocks := readBlocks(b, f, entries)
			b.ReportMetric(float64(catalogBlocks), "catalog-blocks/op")
			b.ReportMetric(float64(aclBlocks), "acl-blocks/database")
		})
	}
}

// readBlocks is the shared buffers the instance reads touch: the catalog
// queries on the master's database, and the privilege read in one entry's
// database.
func readBlocks(b *testing.B, f *fixture, entries int) (catalog, acl int) {
	b.Helper()
	var users, dbs []string
	for _, a := range manyApps(f.env, entries) {
		users, dbs = append(users, a.user), append(dbs, a.db)
	}
	blocks := map[string]int{}
	for _, q := range []struct {
		db, sql string
		args    []any
	}{
		{"postgres", sqlRoles, []any{users, privilegedPredefined}},
		{"postgres", sqlDatabases, []any{dbs}},
		{dbs[0], sqlDatabaseACLs, []any{users}},
	} {
		conn, err := pgx.Connect(context.Background(), adminURL(q.db))
		if err != nil {
			b.Fatal(err)
		}
		var plan string
		err = conn.QueryRow(context.Background(), "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q.sql, q.args...).Scan(&plan)
		conn.Close(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		var out []struct {
			Plan struct {
				Hit  int `json:"Shared Hit Blocks"`
				Read int `json:"Shared Read Blocks"`
			}
		}
		if err := json.Unmarshal([]byte(plan), &out); err != nil || len(out) != 1 {
			b.Fatalf("EXPLAIN output %q: %v", plan, err)
		}
		blocks[q.db] += out[0].Plan.Hit + out[0].Plan.Read
	}
	return blocks["postgres"], blocks[dbs[0]]
}
