package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

var pg *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(testenv.RunPostgresMain(m, func(p *testenv.Postgres) { pg = p }))
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func opts(wait time.Duration) Options {
	return Options{Master: testenv.MasterUser, Wait: wait, StatementTimeout: 30 * time.Second}
}

// The tests share one key on one server, so they run one after another.

func TestAcquireWaitsForAnotherRunThenTakesIt(t *testing.T) {
	ctx := context.Background()
	first, second := connect(t, pg.MasterURL()), connect(t, pg.MasterURL())
	if err := Acquire(ctx, first, opts(time.Minute)); err != nil {
		t.Fatal(err)
	}
	pid, err := Holder(ctx, second, opts(0))
	if err != nil || pid != int(first.PgConn().PID()) {
		t.Fatalf("Holder = %d, %v; want the first session's pid %d", pid, err, first.PgConn().PID())
	}
	var waited []int
	o := opts(time.Minute)
	o.Waiting = func(pid int) { waited = append(waited, pid) }
	released := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		Release(first, time.Minute)
		close(released)
	}()
	if err := Acquire(ctx, second, o); err != nil {
		t.Fatalf("second run: %v", err)
	}
	<-released
	if len(waited) != 1 || waited[0] != int(first.PgConn().PID()) {
		t.Errorf("Waiting called with %v, want the holder's pid once", waited)
	}
	Release(second, time.Minute)
	if pid, err := Holder(ctx, first, opts(0)); pid != 0 || err != nil {
		t.Errorf("after Release: Holder = %d, %v; want 0, nil", pid, err)
	}
}

func TestAcquireTimesOutNamingTheHolder(t *testing.T) {
	ctx := context.Background()
	first, second := connect(t, pg.MasterURL()), connect(t, pg.MasterURL())
	if err := Acquire(ctx, first, opts(time.Minute)); err != nil {
		t.Fatal(err)
	}
	defer Release(first, time.Minute)
	err := Acquire(ctx, second, opts(300*time.Millisecond))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", first.PgConn().PID())) || !strings.Contains(err.Error(), "--lock-timeout") {
		t.Fatalf("err = %v, want ErrTimeout naming pid %d and --lock-timeout", err, first.PgConn().PID())
	}
	// The failed wait leaves the session usable, without the lock.
	var held bool
	if err := second.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, Key).Scan(&held); err != nil || held {
		t.Errorf("second session after the timeout: try lock = %v, %v; want false", held, err)
	}
}

// A lock held by another role is not a run: refused at once, naming the
// session and the remedy, without waiting.
func TestAcquireRefusesAForeignHolderAtOnce(t *testing.T) {
	ctx := context.Background()
	squatter := connect(t, pg.AdminURL)
	if _, err := squatter.Exec(ctx, `SELECT pg_advisory_lock($1)`, Key); err != nil {
		t.Fatal(err)
	}
	defer squatter.Exec(ctx, `SELECT pg_advisory_unlock($1)`, Key)
	master := connect(t, pg.MasterURL())
	o := opts(2 * time.Second)
	o.Waiting = func(int) { t.Error("waited for a foreign holder") }
	err := Acquire(ctx, master, o)
	if !errors.Is(err, ErrForeignHolder) {
		t.Fatalf("err = %v, want ErrForeignHolder", err)
	}
	for _, want := range []string{"held by role postgres", fmt.Sprintf("pg_terminate_backend(%d)", squatter.PgConn().PID())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
}

// A cancelled wait is a StatementError saying what was being done, so the
// caller reports an interruption, not a lock problem.
func TestAcquireCancelledWhileWaiting(t *testing.T) {
	first, second := connect(t, pg.MasterURL()), connect(t, pg.MasterURL())
	if err := Acquire(context.Background(), first, opts(time.Minute)); err != nil {
		t.Fatal(err)
	}
	defer Release(first, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(time.Minute)
	o.Waiting = func(int) { time.AfterFunc(100*time.Millisecond, cancel) }
	err := Acquire(ctx, second, o)
	var se *StatementError
	if !errors.As(err, &se) || se.During != "waiting for the advisory lock" {
		t.Fatalf("err = %#v, want a StatementError during the wait", err)
	}
}

// A hardened session (statement_timeout as a startup parameter, shorter
// than the wait) still waits the whole --lock-timeout, and gets its own
// timeouts back afterwards.
func TestAcquireWaitOutlastsTheSessionStatementTimeout(t *testing.T) {
	ctx := context.Background()
	first := connect(t, pg.MasterURL())
	if err := Acquire(ctx, first, opts(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["statement_timeout"] = "200"
	cfg.RuntimeParams["lock_timeout"] = "150"
	second, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(ctx)
	time.AfterFunc(700*time.Millisecond, func() { Release(first, time.Minute) })
	if err := Acquire(ctx, second, opts(time.Minute)); err != nil {
		t.Fatalf("waiting past the session's statement_timeout: %v", err)
	}
	defer Release(second, time.Minute)
	var st, lt string
	if err := second.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')").Scan(&st, &lt); err != nil {
		t.Fatal(err)
	}
	if st != "200ms" || lt != "150ms" {
		t.Errorf("after the wait statement_timeout = %s, lock_timeout = %s; want the session's 200ms and 150ms", st, lt)
	}
}
