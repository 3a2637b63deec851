// Command bench measures rds-provision against the equivalent serial psql
// script over a simulated network (make bench). It starts its own servers —
// a throwaway PostgreSQL with an RDS-like master (internal/testenv),
// moto_server as Secrets Manager, and a Shopify toxiproxy in front of
// PostgreSQL adding latency each way — and prints one Markdown table: for
// each N and latency, a cold run (nothing exists) and a rerun (everything
// in place), wall time of each side, their ratio, round trips, connections
// and Secrets Manager calls per run.
//
// Each side runs on a fresh server, so neither pays for the other's
// databases. rds-provision runs in-process through provision.Run, the code
// the command line runs (no process start-up); psql is the psql client.
// Nothing here asserts a time: it measures and prints.
//
//	go run ./scripts/bench -n 20,100 -latency 0,10 -repeat 1
//	BENCH_N=20 BENCH_LATENCY_MS=10 BENCH_REPEAT=3 make bench
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measure is one run of one side.
type measure struct {
	elapsed   time.Duration
	conns     int64
	flights   int64 // -1: not counted (0 ms latency)
	smCalls   int64
	hasFlight bool
}

// roundTrips is the client's waits for the server: the counted flights
// plus one TCP handshake per connection.
func (m measure) roundTrips() int64 { return m.flights + m.conns }

type result struct {
	n, latency int
	repeat     int
	run        string // cold or rerun
	psql, ours measure
}

func run() error {
	nFlag := flag.String("n", envOr("BENCH_N", "20,100"), "comma-separated numbers of databases (env BENCH_N)")
	latFlag := flag.String("latency", envOr("BENCH_LATENCY_MS", "0,10"), "comma-separated latencies in ms, added each way (env BENCH_LATENCY_MS)")
	parallelFlag := flag.Int("parallel", envInt("BENCH_PARALLEL", 0), "rds-provision's --parallel; 0 = its default (env BENCH_PARALLEL)")
	repeatFlag := flag.String("repeat", envOr("BENCH_REPEAT", "1"), "measure each side this many times, each on a fresh server, and show the median time (env BENCH_REPEAT)")
	flag.Parse()
	repeat, err := strconv.Atoi(*repeatFlag)
	if err != nil || repeat < 1 {
		return fmt.Errorf("-repeat %q: want a positive number", *repeatFlag)
	}
	ns, err := ints(*nFlag)
	if err != nil {
		return fmt.Errorf("-n: %w", err)
	}
	lats, err := ints(*latFlag)
	if err != nil {
		return fmt.Errorf("-latency: %w", err)
	}
	if _, err := exec.LookPath("psql"); err != nil {
		return fmt.Errorf("psql not found: install the PostgreSQL client (apt-get install -y postgresql-client)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	moto, err := testenv.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer moto.Stop()
	moto.SetEnv()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-2"))
	if err != nil {
		return fmt.Errorf("AWS configuration for moto: %w", err)
	}
	sm := &testenv.SecretsCounter{Client: secretsmanager.NewFromConfig(cfg)}

	var results []result
	for _, n := range ns {
		for _, lat := range lats {
			fmt.Fprintf(os.Stderr, "bench: N=%d, %d ms each way ...\n", n, lat)
			psqlPrep := func(ctx context.Context, pg *testenv.Postgres, p *latencyProxy, dir string) (func() (int64, error), error) {
				return psqlSide(ctx, pg, p, dir, n)
			}
			oursPrep := func(ctx context.Context, pg *testenv.Postgres, p *latencyProxy, dir string) (func() (int64, error), error) {
				return oursSide(ctx, pg, p, dir, sm, moto, n, lat, *parallelFlag)
			}
			// Each repeat measures both sides, in alternating order, so a
			// change of load on the machine weighs on both alike.
			var psqlAll, oursAll [2][]measure
			for r := range repeat {
				order := []string{"psql", "rds-provision"}
				if r%2 == 1 {
					order = []string{"rds-provision", "psql"}
				}
				states := map[string]string{}
				for _, name := range order {
					prepare, dst := psqlPrep, &psqlAll
					if name == "rds-provision" {
						prepare, dst = oursPrep, &oursAll
					}
					m, state, err := side(ctx, n, lat, prepare)
					if err != nil {
						return fmt.Errorf("%s, N=%d, %d ms: %w", name, n, lat, err)
					}
					states[name] = state
					for i := range m {
						dst[i] = append(dst[i], m[i])
					}
				}
				if states["psql"] != states["rds-provision"] {
					return fmt.Errorf("N=%d: psql and rds-provision left different instances, so the comparison is void:\npsql:\n%s\nrds-provision:\n%s", n, states["psql"], states["rds-provision"])
				}
			}
			psqlRuns, oursRuns := median(psqlAll), median(oursAll)
			for i, name := range []string{"cold", "rerun"} {
				results = append(results, result{n: n, latency: lat, repeat: repeat, run: name, psql: psqlRuns[i], ours: oursRuns[i]})
			}
		}
	}
	printTable(os.Stdout, results)
	return nil
}

// median keeps, for cold and for rerun, the measure of median time.
func median(all [2][]measure) [2]measure {
	var out [2]measure
	for i := range all {
		slices.SortFunc(all[i], func(a, b measure) int { return cmp.Compare(a.elapsed, b.elapsed) })
		out[i] = all[i][len(all[i])/2]
	}
	return out
}

// side runs one side twice (cold, then rerun) on a fresh PostgreSQL behind
// a fresh proxy and returns both measures and the instance it left.
// prepare seeds what the side needs and returns the timed run, which
// reports its Secrets Manager calls.
func side(ctx context.Context, n, lat int, prepare func(context.Context, *testenv.Postgres, *latencyProxy, string) (func() (int64, error), error)) ([2]measure, string, error) {
	var out [2]measure
	pg, err := testenv.StartPostgres(ctx, testenv.MasterUser)
	if err != nil {
		return out, "", err
	}
	defer pg.Stop()
	proxy, err := startProxy(fmt.Sprintf("%s:%d", pg.Host, pg.Port), lat)
	if err != nil {
		return out, "", err
	}
	defer proxy.stop()
	dir, err := os.MkdirTemp("", "rdsp-bench-")
	if err != nil {
		return out, "", err
	}
	defer os.RemoveAll(dir)
	timed, err := prepare(ctx, pg, proxy, dir)
	if err != nil {
		return out, "", err
	}
	for i := range out {
		conns0, flights0 := proxy.counts()
		start := time.Now()
		calls, err := timed()
		elapsed := time.Since(start)
		if err != nil {
			return out, "", err
		}
		conns1, flights1 := proxy.counts()
		out[i] = measure{elapsed: elapsed, conns: conns1 - conns0, flights: flights1 - flights0, smCalls: calls, hasFlight: flights0 >= 0}
	}
	state, err := instanceState(ctx, pg, n)
	return out, state, err
}

// psqlSide reads the passwords from Secrets Manager as the operator would
// (N+1 calls, before the timed part) and returns the psql run.
func psqlSide(ctx context.Context, pg *testenv.Postgres, p *latencyProxy, dir string, n int) (func() (int64, error), error) {
	host, port := p.addr()
	script := psqlScript(pg.MasterUser, apps("app", n))
	return func() (int64, error) {
		return int64(n + 1), runPSQL(ctx, dir, host, port, pg.MasterUser, pg.MasterPassword, pg.MasterDB, script)
	}, nil
}

// oursSide seeds the environment's tfvars and secrets (the master secret
// points at the proxy) and returns the provision run.
func oursSide(ctx context.Context, pg *testenv.Postgres, p *latencyProxy, dir string, sm *testenv.SecretsCounter, moto *testenv.Moto, n, lat, parallel int) (func() (int64, error), error) {
	env := fmt.Sprintf("bench-n%d-l%d-%s", n, lat, randomHex(3))
	seed := &testenv.Servers{Postgres: pg, Moto: moto, Secrets: sm.Client}
	host, port := p.addr()
	portNum, _ := strconv.Atoi(port)
	master := pg.MasterSecret()
	master["host"], master["port"] = host, portNum
	if err := seed.PutSecret(ctx, "goldenpath/"+env+"/rds/master", master); err != nil {
		return nil, err
	}
	var tf strings.Builder
	tf.WriteString("aws_region      = \"eu-west-2\"\nmaster_username = \"" + pg.MasterUser + "\"\n\napplication_databases = {\n")
	for _, a := range apps("app", n) {
		if err := seed.PutSecret(ctx, "goldenpath/"+env+"/"+a.key+"/postgres", map[string]any{"username": a.user, "password": a.password}); err != nil {
			return nil, err
		}
		fmt.Fprintf(&tf, "  %s = {\n    database_name = %q\n    username      = %q\n  }\n", a.key, a.db, a.user)
	}
	tf.WriteString("}\n")
	tfvarsPath := filepath.Join(dir, "terraform.tfvars")
	if err := os.WriteFile(tfvarsPath, []byte(tf.String()), 0o644); err != nil {
		return nil, err
	}
	return func() (int64, error) {
		before := sm.Calls()
		res, err := provision.Run(ctx, provision.Options{
			Env:        env,
			TfvarsPath: tfvarsPath,
			Region:     "eu-west-2",
			BuildID:    "bench",
			RunID:      "bench",
			SSLMode:    "disable",
			Parallel:   parallel,
			Getenv:     func(string) string { return "" },
			Log:        io.Discard,
			Secrets:    secrets.New(sm),
		})
		if err != nil {
			for _, r := range res.Rows {
				if r.Status == "error" {
					err = fmt.Errorf("%w: %s %s: %s", err, r.Database, r.Action, r.Message)
					break
				}
			}
		}
		return sm.Calls() - before, err
	}, nil
}

// instanceState summarises what a side left, with names made comparable:
// roles and their attributes and memberships, databases with owner and
// ACL, and in the first database what the owner and PUBLIC may do on schema
// public (the owner may hold it through pg_database_owner, PostgreSQL 15+,
// or through an explicit grant: the same access).
func instanceState(ctx context.Context, pg *testenv.Postgres, n int) (string, error) {
	conn, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT format('role %s login=%s createdb=%s createrole=%s super=%s master_member=%s',
		       rolname, rolcanlogin, rolcreatedb, rolcreaterole, rolsuper,
		       pg_has_role($1, oid, 'MEMBER'))
		  FROM pg_roles WHERE rolname LIKE 'app\_app\_%'
		UNION ALL
		SELECT format('database %s owner=%s acl=%s', datname, pg_get_userbyid(datdba), datacl)
		  FROM pg_database WHERE datname LIKE 'app\_app\_%'
		ORDER BY 1`, pg.MasterUser)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	if got := len(lines); got != 2*n {
		return "", fmt.Errorf("instance holds %d app roles and databases, want %d", got, 2*n)
	}
	dbConn, err := pgx.Connect(ctx, strings.Replace(pg.AdminURL, "/postgres?", "/app_app_000?", 1))
	if err != nil {
		return "", err
	}
	defer dbConn.Close(ctx)
	var schemaAccess string
	if err := dbConn.QueryRow(ctx, `
		SELECT format('owner usage=%s create=%s, PUBLIC=%s',
		       has_schema_privilege('app_app_000_user', 'public', 'USAGE'),
		       has_schema_privilege('app_app_000_user', 'public', 'CREATE'),
		       ARRAY(SELECT x.privilege_type FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) x
		              WHERE n.nspname = 'public' AND x.grantee = 0 ORDER BY 1))`).Scan(&schemaAccess); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n") + "\nschema public of app_app_000: " + schemaAccess, nil
}

func printTable(w io.Writer, results []result) {
	pgVersion := "?"
	if out, err := exec.Command("psql", "--version").Output(); err == nil {
		pgVersion = strings.TrimSpace(string(out))
	}
	fmt.Fprintf(w, "rds-provision vs serial psql — %s, %d CPUs, %s, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), pgVersion)
	fmt.Fprintln(w, "| N | run | latency each way | psql | rds-provision | ratio | round trips psql / ours | connections psql / ours | Secrets Manager calls psql / ours |")
	fmt.Fprintln(w, "|--:|---|--:|--:|--:|--:|--:|--:|--:|")
	// Round trips are counted where latency separates them; a 0 ms row
	// shows the count of the same work at the first latency that had one.
	counted := map[string]result{}
	for _, r := range results {
		if r.psql.hasFlight {
			key := fmt.Sprintf("%d/%s", r.n, r.run)
			if _, ok := counted[key]; !ok {
				counted[key] = r
			}
		}
	}
	for _, r := range results {
		rt := "–"
		if c, ok := counted[fmt.Sprintf("%d/%s", r.n, r.run)]; ok {
			rt = fmt.Sprintf("%d / %d", c.psql.roundTrips(), c.ours.roundTrips())
			if !r.psql.hasFlight {
				rt += fmt.Sprintf(" (at %d ms)", c.latency)
			}
		}
		fmt.Fprintf(w, "| %d | %s | %d ms | %.2f s | %.2f s | %.2f× | %s | %d / %d | %d untimed / %d |\n",
			r.n, r.run, r.latency, r.psql.elapsed.Seconds(), r.ours.elapsed.Seconds(),
			r.ours.elapsed.Seconds()/r.psql.elapsed.Seconds(), rt, r.psql.conns, r.ours.conns, r.psql.smCalls, r.ours.smCalls)
	}
	fmt.Fprintln(w, "\nRatio: rds-provision time / psql time, lower is better; median of", results[0].repeat, "run(s) each.")
	fmt.Fprintln(w, "Round trips: client flights counted by a toxiproxy toxic on the client-to-server stream, plus one TCP handshake per connection;")
	fmt.Fprintln(w, "at 0 ms flights cannot be told apart, so those rows show the count of the same work at another latency.")
	fmt.Fprintln(w, "Connections: accepted by the proxy (rds-provision's include its TCP reachability probe).")
	fmt.Fprintln(w, "Secrets Manager: the psql side reads its N+1 secrets before the timed run; rds-provision's calls are inside its time.")
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a list of non-negative numbers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
