// Package lock is the instance-wide advisory lock that serialises every
// rds-provision run that changes an instance: provision and rotate take the
// same key, so a rotation never interleaves with a provisioning run (which
// would set a role's password from a secret version the rotation is
// replacing), and two runs of either never race.
//
// The lock is a PostgreSQL session-level advisory lock in the master's
// database: it ends with the session, so a run that dies (SIGKILL, lost
// network) releases it with its connection and never blocks the next run.
package lock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Key is the advisory lock every run takes on the instance ("rdsp" in
// ASCII).
const Key int64 = 0x72647370

const (
	sqlTryLock = `SELECT pg_try_advisory_lock($1)`
	sqlLock    = `SELECT pg_advisory_lock($1)`
	sqlUnlock  = `SELECT pg_advisory_unlock($1)`
	// sqlHolder names the session holding the lock in this database; a
	// bigint key shows as classid (high half), objid (low half), objsubid 1.
	sqlHolder = `
SELECT l.pid, COALESCE(a.usename::text, ''), COALESCE(a.application_name, '')
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295)
LIMIT 1`
)

// Options say whose lock is expected and how long to wait for it.
type Options struct {
	// Master is the master user: a lock held by any other role is not an
	// rds-provision run, and waiting for it would wait forever.
	Master string
	// Wait bounds the wait for another run's lock (--lock-timeout).
	Wait time.Duration
	// StatementTimeout bounds each statement besides the wait, so a frozen
	// server fails the run instead of hanging it.
	StatementTimeout time.Duration
	// Waiting is called with the holder's pid before waiting (a log line).
	Waiting func(pid int)
}

// StatementError is a lock statement that failed (network, cancellation);
// During says what was being done, for the caller's interruption message.
// Its text is the statement's error.
type StatementError struct {
	During string
	Err    error
}

func (e *StatementError) Error() string { return e.Err.Error() }
func (e *StatementError) Unwrap() error { return e.Err }

// Sentinel errors callers branch on.
var (
	// ErrForeignHolder: a role other than the master holds the key.
	ErrForeignHolder = errors.New("the advisory lock is held by a session that is not an rds-provision run")
	// ErrTimeout: another run still held the lock after Options.Wait.
	ErrTimeout = errors.New("another rds-provision run held the advisory lock too long")
)

// Acquire takes the lock on conn. A lock held by a role other than the
// master fails at once, naming the session; a lock held by another run is
// waited for, up to o.Wait.
func Acquire(ctx context.Context, conn *pgx.Conn, o Options) error {
	sctx, cancel := context.WithTimeout(ctx, o.StatementTimeout)
	defer cancel()
	var got bool
	if err := conn.QueryRow(sctx, sqlTryLock, Key).Scan(&got); err != nil {
		return &StatementError{During: "taking the advisory lock", Err: fmt.Errorf("take advisory lock: %w", err)}
	}
	if got {
		return nil
	}
	pid, err := Holder(ctx, conn, o)
	if err != nil {
		return err
	}
	if o.Waiting != nil {
		o.Waiting(pid)
	}
	wctx, wcancel := context.WithTimeout(ctx, o.StatementTimeout+o.Wait)
	defer wcancel()
	// The wait may outlast the session's statement_timeout (a startup
	// parameter of hardened sessions): both are set for it, then reset to
	// the session's own values.
	if _, err := conn.Exec(wctx, fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = %d", o.Wait.Milliseconds(), (o.Wait+o.StatementTimeout).Milliseconds())); err != nil {
		return &StatementError{During: "waiting for the advisory lock", Err: fmt.Errorf("wait for advisory lock: %w", err)}
	}
	_, err = conn.Exec(wctx, sqlLock, Key)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		return &kindError{kind: ErrTimeout, msg: fmt.Sprintf("another rds-provision run (pid %d) still held the advisory lock after --lock-timeout %s: let it finish and re-run, or raise --lock-timeout", pid, o.Wait)}
	}
	if err != nil {
		return &StatementError{During: "waiting for the advisory lock", Err: fmt.Errorf("wait for advisory lock: %w", err)}
	}
	if _, err := conn.Exec(sctx, "RESET lock_timeout; RESET statement_timeout"); err != nil {
		return fmt.Errorf("reset lock_timeout and statement_timeout: %w", err)
	}
	return nil
}

// Holder returns the pid of the run holding the lock (0 when none), or
// an ErrForeignHolder error naming the session when a role other than
// o.Master holds it: a dry run reports what would block the real one.
func Holder(ctx context.Context, conn *pgx.Conn, o Options) (int, error) {
	sctx, cancel := context.WithTimeout(ctx, o.StatementTimeout)
	defer cancel()
	var pid int
	var holder, app string
	err := conn.QueryRow(sctx, sqlHolder, Key).Scan(&pid, &holder, &app)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, &StatementError{During: "taking the advisory lock", Err: fmt.Errorf("find the advisory lock holder: %w", err)}
	}
	// No pg_stat_activity row: the holding backend is exiting (its lock
	// goes with it), which a run that just ended looks like; wait for it,
	// bounded by Options.Wait, rather than call it a foreign holder.
	if holder != o.Master && holder != "" {
		return 0, &kindError{kind: ErrForeignHolder, msg: fmt.Sprintf("the advisory lock that serialises rds-provision runs (key %d) is held by role %s (pid %d, application_name %q), not by an rds-provision run of the master user %s; a login is blocking provisioning: end that session (SELECT pg_terminate_backend(%d)) and re-run",
			Key, holder, pid, app, o.Master, pid)}
	}
	return pid, nil
}

// kindError keeps the message callers have always shown and matches its
// sentinel with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// Release ends the lock when the session is still open, within timeout;
// a closed session released it already.
func Release(conn *pgx.Conn, timeout time.Duration) {
	if conn.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn.Exec(ctx, sqlUnlock, Key)
}
