package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/lock"
	"github.com/goldenpath/rds-provision/internal/schema"
)

// apply connects as the master, takes the advisory lock, reads the
// instance, plans, and executes exactly the planned steps.
func (r *run) apply(ctx context.Context, entries []*entry, in planInput) []Step {
	started := r.opts.Now()
	fail := func(err error) {
		r.record(nil, "connect", audit.Error, started, "%v", err)
	}
	if err := r.preflight(ctx); err != nil {
		fail(err)
		return nil
	}
	conn, err := r.connect(ctx, r.master.DBName)
	if err != nil {
		fail(err)
		return nil
	}
	defer conn.Close(context.Background())

	if err := r.lock(ctx, conn); err != nil {
		fail(err)
		return nil
	}
	defer lock.Release(conn, connectTimeout)

	st, err := r.readState(ctx, conn, entries)
	if err != nil {
		fail(r.interrupted(ctx, "reading the instance", err))
		return nil
	}
	in.state = st
	steps := plan(in)
	if again, err := r.readAfterMembership(ctx, conn, st, steps, entries); err != nil {
		fail(r.interrupted(ctx, "reading the instance", err))
		return nil
	} else if again {
		steps = plan(in)
	}
	r.executeSteps(ctx, conn, steps, entries)
	return steps
}

// readState reads the instance on the master's connection, then the ACLs
// inside each target database. A real run holds the lock, so nothing of
// rds-provision's changes between the reads; a dry run's sessions are
// read-only (default_transaction_read_only).
func (r *run) readState(ctx context.Context, conn *pgx.Conn, entries []*entry) (*instance, error) {
	st, err := r.readInstance(ctx, conn, entries)
	if err != nil {
		return nil, err
	}
	if err := r.readDatabaseACLs(ctx, st, entries); err != nil {
		return nil, err
	}
	return st, nil
}

// errLostLock marks a step refused because the master session, which holds
// the lock, is gone.
var errLostLock = errors.New("the master session holding the advisory lock is gone")

// applySchema applies an initial_schema template as the owner role. Apply
// decides again under its own lock, so the row says what it really did.
func (r *run) applySchema(ctx context.Context, conn *pgx.Conn, s Step) (Step, error) {
	t, err := schema.Lookup(s.Template)
	if err != nil {
		return s, err
	}
	d, err := schema.Apply(ctx, conn, t, s.Username)
	if err != nil {
		return s, err
	}
	s.Status, s.Message = d.Row(s.On, false)
	return s, nil
}

// fatal returns the one error that ends the run after err, or nil when
// err concerns this step only.
func (r *run) fatal(ctx context.Context, master *pgx.Conn, s Step, err error, left int) error {
	what := s.Action
	if s.Username != "" {
		what += " for " + s.Username
	}
	if ctx.Err() != nil {
		return r.interrupted(ctx, what, err, left)
	}
	if errors.Is(err, errLostLock) || master.IsClosed() {
		return fmt.Errorf("Lost the connection to RDS during %s: %v. Stopped: the advisory lock ended with that session and nothing runs without it; %d step(s) not run. Re-run: provisioning converges from where it stopped", what, err, left)
	}
	return nil
}

// interrupted reports a cancellation (SIGTERM, interrupt) as such, not as a
// connection failure; other errors pass through. left counts the steps
// not run, when known.
func (r *run) interrupted(ctx context.Context, what string, err error, left ...int) error {
	if ctx.Err() == nil || !errors.Is(ctx.Err(), context.Canceled) {
		if ctx.Err() != nil {
			return fmt.Errorf("Stopped during %s: %v", what, ctx.Err())
		}
		return err
	}
	msg := fmt.Sprintf("Cancelled (SIGTERM or interrupt) during %s: stopped", what)
	if len(left) > 0 {
		msg += fmt.Sprintf("; %d step(s) not run", left[0])
	}
	return errors.New(msg + ". Re-run to finish: provisioning converges from where it stopped")
}

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

// statementContext bounds one statement: a frozen server or network fails
// the statement instead of hanging the run. extra adds a wait the
// statement is allowed (the lock wait).
func (r *run) statementContext(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.StatementTimeout+extra)
}

// recordStep adds a step's row with the given outcome; took is how long
// it ran (0: it sent nothing).
func (r *run) recordStep(s Step, status audit.Status, msg, line string, took time.Duration) {
	if line == "" {
		line = msg
	}
	var e *entry
	if s.Username != "" || s.Database != "" {
		e = &entry{}
		e.DatabaseName, e.Username = s.Database, s.Username
	}
	r.recordRow(e, s.Action, status, took, msg, line)
	if status == audit.Error && !s.Tenant && s.Entry >= 0 && r.halt == "" {
		r.halt = haltKind(s)
	}
}

// haltKind says which kind of failure fail-fast stops at: a step that ran
// on the master's session and failed (an instance-level failure), or an
// entry the plan refuses.
func haltKind(s Step) string {
	if s.runs() {
		return fmt.Sprintf("an instance-level failure (%s for %s, on the master's session)", s.Action, s.Username)
	}
	return fmt.Sprintf("the entry for %s cannot be provisioned as written (%s)", s.Username, s.Action)
}

// preview is the dry run: it reads the instance read-only, without the
// lock, plans, and reports every step. An unreachable instance gives the
// offline preview with a warning.
func (r *run) preview(ctx context.Context, entries []*entry, in planInput) []Step {
	started := r.opts.Now()
	st, err := r.readPreview(ctx, entries)
	switch {
	case err != nil && isUnreachable(err) && ctx.Err() == nil:
		r.record(nil, "connect", audit.Warning, started, "%v; this preview is offline: it cannot see what exists, so it lists every step as a change", err)
	case err != nil:
		r.record(nil, "connect", audit.Error, started, "%v", r.interrupted(ctx, "reading the instance", err))
		return nil
	}
	in.state = st
	steps := plan(in)
	for _, s := range steps {
		status, msg := s.Status, s.Message
		if s.Preview != "" {
			msg = s.Preview
		}
		if status == audit.Success {
			status = audit.DryRun
		}
		r.recordStep(s, status, msg, "", 0)
	}
	return steps
}

func (r *run) readPreview(ctx context.Context, entries []*entry) (*instance, error) {
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	conn, err := r.connect(ctx, r.master.DBName)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	// The dry run takes no lock, but what would block the real run is an
	// error here too.
	if _, err := r.lockHolder(ctx, conn); err != nil {
		return nil, err
	}
	return r.readState(ctx, conn, entries)
}
