package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/lock"
)

func errorRows(out outcome) []audit.Row {
	var rows []audit.Row
	for _, r := range out.res.Rows {
		if r.Status == audit.Error {
			rows = append(rows, r)
		}
	}
	return rows
}

func TestMasterDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	// The master's own database, as RDS makes it from the instance's
	// database_name.
	adminExec(t, "CREATE DATABASE md_platform OWNER platform_admin")
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS md_platform") })
	var before string
	acl := "SELECT COALESCE(datacl::text, '') FROM pg_database WHERE datname = $1"
	adminConn(t, "postgres").QueryRow(context.Background(), acl, "md_platform").Scan(&before)

	f := newFixture(t, "masterdb")
	master := pg.MasterSecret()
	master["dbname"] = "md_platform"
	f.putSecret("goldenpath/masterdb/rds/master", master)
	f.seedApps(app{key: "md_app", db: "md_platform", user: "md_user", password: "pw"})
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.DryRun = dry })
		rows := errorRows(out)
		if !errors.Is(out.err, ErrActionsFailed) || len(rows) != 1 || !strings.Contains(rows[0].Message, "it is the RDS instance's own database (dbname in goldenpath/masterdb/rds/master)") {
			t.Fatalf("dry=%v: err %v rows %+v", dry, out.err, out.res.Rows)
		}
	}
	var after string
	adminConn(t, "postgres").QueryRow(context.Background(), acl, "md_platform").Scan(&after)
	if before != after || roleExists(t, "md_user") {
		t.Errorf("the instance changed: ACL %q -> %q, role made %v", before, after, roleExists(t, "md_user"))
	}
}

func TestAdoptionNeedsOptIn(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE adopt_legacy LOGIN PASSWORD 'legacy-pw' VALID UNTIL '2001-01-01'")
	adminExec(t, "CREATE DATABASE adopt_payroll OWNER adopt_legacy")
	// The master made it, as on RDS (PostgreSQL 16+: ADMIN OPTION to it).
	adminExec(t, "GRANT adopt_legacy TO platform_admin WITH ADMIN OPTION")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS adopt_payroll")
		adminExec(t, "DROP DATABASE IF EXISTS adopt_new_db")
		adminExec(t, "DROP ROLE IF EXISTS adopt_legacy")
	})
	f := newFixture(t, "adoptoptin")
	a := app{key: "adopt_new", db: "adopt_new_db", user: "adopt_legacy", password: "new-pw"}
	f.seedApps(a)
	out := f.run()
	rows := errorRows(out)
	if !errors.Is(out.err, ErrActionsFailed) || len(rows) != 1 || !strings.Contains(rows[0].Message, `owns database adopt_payroll, which no application_databases entry names`) ||
		!strings.Contains(rows[0].Message, `add adopt_owned_databases = ["adopt_payroll"] to application_databases.adopt_new`) {
		t.Fatalf("err %v rows %+v\n%s", out.err, out.res.Rows, out.log)
	}
	// Its password was not replaced (the expired VALID UNTIL makes login
	// itself fail, so read the verifier instead).
	if n := countRows(t, "SELECT count(*) FROM pg_authid WHERE rolname = 'adopt_legacy' AND rolpassword LIKE 'SCRAM-SHA-256$4096:%' AND rolvaliduntil < now()"); n != 1 {
		t.Fatal("the legacy role was changed")
	}
	var verifier string
	adminConn(t, "postgres").QueryRow(context.Background(), "SELECT rolpassword FROM pg_authid WHERE rolname = 'adopt_legacy'").Scan(&verifier)

	a.adopt = []string{"adopt_payroll"}
	f.seedApps(a)
	out = f.run()
	if out.err != nil {
		t.Fatalf("with the opt-in: %v\n%s", out.err, out.log)
	}
	var warned bool
	for _, r := range out.res.Rows {
		if r.Status == audit.Warning && strings.Contains(r.Message, "Role adopt_legacy cannot log in: its VALID UNTIL") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning for an adopted role that cannot log in:\n%s", out.log)
	}
	var after string
	adminConn(t, "postgres").QueryRow(context.Background(), "SELECT rolpassword FROM pg_authid WHERE rolname = 'adopt_legacy'").Scan(&after)
	if after == verifier {
		t.Error("the adopted role's password was not set")
	}
}

func countRows(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := adminConn(t, "postgres").QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// These two hold the instance-wide lock, so they do not run in parallel.

func TestLockHeldByAnotherRoleFailsAtOnce(t *testing.T) {
	adminExec(t, "CREATE ROLE lock_squatter LOGIN PASSWORD 'squat-pw'")
	t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS lock_squatter") })
	squatter, err := login("lock_squatter", "squat-pw", pg.MasterDB)
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close(context.Background())
	if _, err := squatter.Exec(context.Background(), "SELECT pg_advisory_lock($1)", lock.Key); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "squat")
	f.seedApps(app{key: "sq_app", db: "sq_db", user: "sq_user", password: "pw"})
	// A lock timeout longer than the test's deadline: failing at once is
	// the only way to pass.
	for _, dry := range []bool{true, false} {
		out := f.run(func(o *Options) { o.LockTimeout, o.DryRun = time.Hour, dry })
		if !errors.Is(out.err, ErrActionsFailed) || !strings.Contains(out.log, "is held by role lock_squatter (pid ") || !strings.Contains(out.log, "pg_terminate_backend(") {
			t.Fatalf("dry run %v: err %v\n%s", dry, out.err, out.log)
		}
	}
	if roleExists(t, "sq_user") {
		t.Error("a role was created without the lock")
	}
}

func TestLockHeldByAnotherRunIsWaitedForBoundedly(t *testing.T) {
	other, err := pgx.Connect(context.Background(), pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	if _, err := other.Exec(context.Background(), "SELECT pg_advisory_lock($1)", lock.Key); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "lockwait")
	f.seedApps(app{key: "lw_app", db: "lw_db", user: "lw_user", password: "pw"})
	out := f.run(func(o *Options) { o.LockTimeout = 200 * time.Millisecond })
	if !errors.Is(out.err, ErrActionsFailed) || !strings.Contains(out.log, "still held the advisory lock after --lock-timeout 200ms") {
		t.Fatalf("err %v\n%s", out.err, out.log)
	}
	if roleExists(t, "lw_user") {
		t.Error("a role was created without the lock")
	}
}

// onStatement runs fn before the first statement that starts with prefix.
type onStatement struct {
	prefix string
	fn     func(conn *pgx.Conn)
	done   bool
}

func (o *onStatement) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !o.done && strings.HasPrefix(data.SQL, o.prefix) {
		o.done = true
		o.fn(conn)
	}
	return ctx
}

func (o *onStatement) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestDroppedMasterConnectionStopsWithOneError(t *testing.T) {
	t.Parallel()
	// Waves of one and of two entries: the session holding the lock dies
	// during the second entry, so the third wave must not start.
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallel=%d", p), func(t *testing.T) {
			f := newFixture(t, fmt.Sprintf("dropconn%d", p))
			apps := []app{
				{key: "dc_one", db: fmt.Sprintf("dc%d_one_db", p), user: fmt.Sprintf("dc%d_one_user", p), password: "pw1"},
				{key: "dc_two", db: fmt.Sprintf("dc%d_two_db", p), user: fmt.Sprintf("dc%d_two_user", p), password: "pw2"},
				{key: "dc_three", db: fmt.Sprintf("dc%d_three_db", p), user: fmt.Sprintf("dc%d_three_user", p), password: "pw3"},
			}
			f.seedApps(apps...)
			admin := adminConn(t, "postgres")
			kill := &firstStatement{prefix: "CREATE DATABASE " + ident(apps[1].db), fn: func() {
				// The lock holder is the master's session.
				pid, err := lock.Holder(context.Background(), admin, lock.Options{Master: masterUser, StatementTimeout: time.Minute})
				if err != nil || pid == 0 {
					t.Errorf("lock holder: pid %d, %v", pid, err)
					return
				}
				if _, err := admin.Exec(context.Background(), "SELECT pg_terminate_backend($1, 10000)", pid); err != nil {
					t.Error(err)
				}
			}}
			out := f.run(func(o *Options) { o.Tracer, o.NoFailFast, o.Parallel = kill, true, p })
			rows := errorRows(out)
			if !errors.Is(out.err, ErrActionsFailed) || len(rows) != 1 || !strings.HasPrefix(rows[0].Message, "Lost the connection to RDS during create_database for "+apps[2].user) {
				t.Fatalf("err %v, error rows %+v\n%s", out.err, rows, out.log)
			}
			if last := out.res.Rows[len(out.res.Rows)-1]; last != rows[0] {
				t.Errorf("rows after the lost connection: last is %+v", last)
			}
			// The third entry's password was set by the role batch, under
			// the lock, before it was lost; nothing of it ran after.
			if got := out.statuses(apps[2].user); !cmp.Equal(got, []string{"create_role:success"}) || databaseExists(t, apps[2].db) {
				t.Errorf("the run went on without the lock: %v", got)
			}
			// The next run converges.
			if again := f.run(); again.err != nil {
				t.Fatalf("rerun: %v\n%s", again.err, again.log)
			}
		})
	}
}

func TestCancellationIsReportedAsSuch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sigterm")
	f.seedApps(
		app{key: "st_one", db: "st_one_db", user: "st_one_user", password: "pw1"},
		app{key: "st_two", db: "st_two_db", user: "st_two_user", password: "pw2"},
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := &onStatement{prefix: `CREATE DATABASE "st_two_db"`, fn: func(*pgx.Conn) { cancel() }}
	opts := f.options()
	opts.Tracer = stop
	out := runCtx(t, ctx, opts)
	rows := errorRows(out)
	if !errors.Is(out.err, ErrActionsFailed) || len(rows) != 1 || !strings.HasPrefix(rows[0].Message, "Cancelled (SIGTERM or interrupt) during create_database for st_") ||
		strings.Contains(rows[0].Message, "Failed to connect") {
		t.Fatalf("err %v, error rows %+v\n%s", out.err, rows, out.log)
	}
}

func TestStatementDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "deadline")
	owner := app{key: "dl_owner", db: "dl_db", user: "dl_owner_user", password: "pw-o"}
	f.seedApps(owner)
	mustRun(t, f)
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE held (id int)"); err != nil {
		t.Fatal(err)
	}
	// An open transaction that changed the table's catalog row: a GRANT on
	// it waits for that transaction, like a frozen server would.
	blocker := adminConn(t, "dl_db")
	if _, err := blocker.Exec(context.Background(), "BEGIN; ALTER TABLE held ADD COLUMN c int"); err != nil {
		t.Fatal(err)
	}
	defer blocker.Exec(context.Background(), "ROLLBACK")
	f.seedApps(owner, app{key: "dl_rd", db: "dl_db", user: "dl_rd_user", password: "pw-r", access: "reader"})
	out := f.run(func(o *Options) { o.StatementTimeout = 3 * time.Second })
	if !errors.Is(out.err, ErrActionsFailed) || !strings.Contains(out.message("dl_rd_user", "apply_grants"), "no answer from the server within --statement-timeout 3s") {
		t.Fatalf("err %v\n%s", out.err, out.log)
	}
}
