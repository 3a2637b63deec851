package provision

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/lock"
)

// The run's use of the instance-wide advisory lock (internal/lock, which
// rotate takes too): the real run holds it, the dry run only checks who
// does.

// lock takes the instance-wide advisory lock (internal/lock). A lock held
// by a role other than the master is not another run: fail at once, naming
// it. A lock held by another run is waited for, up to --lock-timeout.
func (r *run) lock(ctx context.Context, conn *pgx.Conn) error {
	return r.lockError(ctx, lock.Acquire(ctx, conn, r.lockOptions()))
}

// lockHolder returns the pid of the run holding the advisory lock (0 when
// none), or an error when a role other than the master holds it: that is
// not a run, and waiting for it would wait forever.
func (r *run) lockHolder(ctx context.Context, conn *pgx.Conn) (int, error) {
	pid, err := lock.Holder(ctx, conn, r.lockOptions())
	return pid, r.lockError(ctx, err)
}

func (r *run) lockOptions() lock.Options {
	return lock.Options{
		Master:           r.master.Username,
		Wait:             r.opts.LockTimeout,
		StatementTimeout: r.opts.StatementTimeout,
		Waiting: func(pid int) {
			r.infof("Another rds-provision run (pid %d) holds the lock on this instance: waiting up to %s (--lock-timeout)", pid, r.opts.LockTimeout)
		},
	}
}

// lockError reports a lock statement cut by a cancellation as such.
func (r *run) lockError(ctx context.Context, err error) error {
	var se *lock.StatementError
	if errors.As(err, &se) {
		return r.interrupted(ctx, se.During, err)
	}
	return err
}
