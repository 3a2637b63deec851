package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/lock"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The real run: apply connects as the master, takes the advisory lock,
// reads the instance, plans (sending the plan's Pre first when it has any,
// then planning again), and executes exactly the planned steps. The
// executor hides network latency:
//
//  1. Every create_role step (CREATE ROLE or ALTER ROLE ... PASSWORD, and
//     the master's membership) goes in one batch on the master's session:
//     one round trip, one implicit transaction. If the batch fails nothing
//     of it took effect, and those steps run one by one in their entries'
//     turn, so each row says what failed.
//  2. The entries are then taken in waves of Options.Parallel, in tfvars
//     order. A wave runs the create_role steps the batch did not on the
//     master's session, then one chain per database: its entries' steps
//     (CREATE DATABASE, grants) in plan order on pool connections, chains
//     concurrently (see databaseSteps). The master's session, which holds
//     the advisory lock, is pinged before each wave's chains: no step
//     starts unless the lock's session answered at the start of its wave.
//  3. The apply_schema steps, planned last, run the same way for the
//     entries that ran, each in a session logged in as its owner role.
//
// Rows and log lines are emitted in plan order whatever finishes first.
//
// A tenant's failure is that tenant's (Step.Tenant): a step that fails
// inside or on a database (CREATE DATABASE on a squatted name, grants in
// a database whose owner locks or limits it, a held template key), or a
// database the plan could not read, fails that entry's remaining steps
// and those of every entry on the same database (one "Not run" row each),
// as Terraform skips what depends on a failed resource; the other entries
// run, and fail-fast does not stop for it. Fail-fast stops at the other
// failures: a role change the master's session is refused (an
// instance-level failure), or an entry the plan refuses (a missing
// secret, a foreign role). Fail-fast is checked between waves, so what a
// failed run did does not depend on timing: the rows are those of every
// entry up to the end of the wave holding the first such error (a wave
// ends after an entry whose error the plan already holds), the
// create_role rows of the later entries whose password update ran in the
// batch, then the apply_schema rows of the entries that ran. An error the
// plan already holds ends the batch before that entry, so no later role
// changes; an error met while executing comes after the batch, which had
// set the later entries' passwords. With --parallel 1 a wave is one entry,
// as the serial engine did. A lost master session (and the lock with it)
// or a cancellation stops the run at once, whatever --no-fail-fast says.

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
	p := plan(in)
	if len(p.Pre) > 0 {
		if err := r.runPre(ctx, conn, st, p.Pre, entries); err != nil {
			fail(r.interrupted(ctx, "reading the instance", err))
			return nil
		}
		in.preDone = true
		p = plan(in)
	}
	r.executeSteps(ctx, conn, p.Steps, entries)
	return p.Steps
}

// runPre sends the plan's Pre on the master's session, before any step,
// and reads their databases again for the entries on them, so the next
// plan sees what they hold. The create_role steps send the same GRANT
// again, which changes nothing.
func (r *run) runPre(ctx context.Context, conn *pgx.Conn, st *instance, pre []PreStep, entries []*entry) error {
	again := map[string]bool{}
	for _, s := range pre {
		sctx, cancel := r.statementContext(ctx, 0)
		_, err := conn.Exec(sctx, s.SQL)
		cancel()
		if err != nil {
			return fmt.Errorf("grant role %s to the master user to read database %s: %w", s.Role, strings.Join(s.Databases, ", "), err)
		}
		for _, db := range s.Databases {
			again[db] = true
		}
	}
	var on []*entry
	for _, e := range entries {
		if e.invalid == "" && again[e.DatabaseName] {
			on = append(on, e)
		}
	}
	return r.readDatabaseACLs(ctx, st, on)
}

// errLostLock marks a step refused because the master session, which holds
// the lock, is gone.
var errLostLock = errors.New("the master session holding the advisory lock is gone")

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

// stepOutcome is what executing one step gave, kept until its row is
// emitted; the step itself stays as planned, and render.go words the row
// (outcomeRow).
type stepOutcome struct {
	done bool
	// err is the step's failure: the row says the step's failure and the
	// server's message.
	err error
	// notRun names the database whose failure kept the step from running,
	// and notRunWhy what failed there.
	notRun, notRunWhy string
	// schema is what schema.Apply did, for an apply_schema step.
	schema *schema.Decision
	// tenant: a failure that is its entry's database's (Step.Tenant, or
	// tenantFailure), which fail-fast does not stop at.
	tenant bool
	took   time.Duration
	// fatal ends the run after this step: cancellation or the lost lock.
	fatal error
}

func (o *stepOutcome) finish(s Step, d *schema.Decision, err error, began, ended time.Time) {
	o.done, o.took, o.err, o.schema = true, ended.Sub(began), err, d
	o.tenant = s.Tenant || err != nil && tenantFailure(s, err)
}

// notRunFor settles a step of an entry on a database that failed for
// another entry: the entry's one error row, naming the database.
func (o *stepOutcome) notRunFor(db, why string) {
	o.done, o.took, o.tenant = true, 0, true
	o.notRun, o.notRunWhy = db, why
}

// execution is one real run's progress through the steps.
type execution struct {
	r       *run
	ctx     context.Context
	master  *pgx.Conn
	entries []*entry // by Step.Entry: the owner's password for its template
	steps   []Step
	out     []stepOutcome
	// failed entries have their later steps skipped.
	failed map[int]bool
	// badDB holds the databases where a step failed, with what failed:
	// the later steps on them, of any entry, are not run (a tenant's
	// failure is that tenant's); reported lists those already logged.
	badDB    map[string]string
	reported map[string]bool
	// reached holds the entries whose wave ran.
	reached map[int]bool
	// emitted counts the steps whose rows (or silence) are settled.
	emitted int
	// idle holds pool connections to the master's database between
	// chains, so a run opens at most Options.Parallel of them.
	mu   sync.Mutex
	idle []*pgx.Conn
}

// executeSteps runs the steps as described above.
func (r *run) executeSteps(ctx context.Context, master *pgx.Conn, steps []Step, entries []*entry) {
	x := &execution{r: r, ctx: ctx, master: master, entries: entries, steps: steps, out: make([]stepOutcome, len(steps)),
		failed: map[int]bool{}, reached: map[int]bool{}, badDB: map[string]string{}, reported: map[string]bool{}}
	defer x.closeIdle()
	tail := schemaTail(steps)
	if err := x.roleBatch(steps[:tail]); err != nil {
		x.stop(err)
		return
	}
	waves := entryRanges(steps[:tail], r.opts.Parallel, !r.opts.NoFailFast)
	for _, wave := range waves {
		if r.stop(entriesIn(steps[wave[0]:tail])) {
			// The later entries' password updates ran in the batch.
			x.emit(tail)
			break
		}
		if err := x.wave(wave[0], wave[1]); err != nil {
			x.stop(err)
			return
		}
		x.emit(wave[1])
		x.reportBad()
	}
	if err := x.databaseSteps(tail, len(steps)); err != nil {
		x.stop(err)
		return
	}
	x.emit(len(steps))
	x.reportBad()
}

// reportBad logs, once per database, that a database's failure skipped the
// rest of its work and nothing else.
func (x *execution) reportBad() {
	var dbs []string
	for db := range x.badDB {
		if !x.reported[db] {
			dbs = append(dbs, db)
		}
	}
	slices.Sort(dbs)
	for _, db := range dbs {
		x.reported[db] = true
		x.r.infof("Database %s failed (%s): the rest of its entries' steps are not run; the other entries go on (a database's own failure does not stop the run)", db, x.badDB[db])
	}
}

// stop emits the rows of what ran and the one row that ends the run.
func (x *execution) stop(err error) {
	x.emit(len(x.steps))
	x.r.recordStep(Step{Entry: -1, Action: "connect"}, false, audit.Error, err.Error(), "", 0)
}

// emit settles the steps up to end in order: a row for each step that
// ran, or that sends nothing and whose entry was reached.
func (x *execution) emit(end int) {
	for ; x.emitted < end; x.emitted++ {
		o := x.out[x.emitted]
		if !o.done {
			continue
		}
		s := x.steps[x.emitted]
		status, msg, line := outcomeRow(s, o)
		x.r.recordStep(s, o.tenant, status, msg, line, o.took)
	}
}

// roleBatch sends every create_role step in one batch on the master's
// session. It returns an error only when the run must stop.
func (x *execution) roleBatch(steps []Step) error {
	var ks []int
	erred := map[int]bool{}
	b := &pgx.Batch{}
	for k, s := range steps {
		if s.Status == audit.Error && !s.runs() && !s.Tenant {
			if !x.r.opts.NoFailFast {
				// Fail-fast stops at this entry: no later role changes.
				break
			}
			erred[s.Entry] = true
		}
		if s.Action != audit.ActionCreateRole || !s.runs() || erred[s.Entry] {
			continue
		}
		ks = append(ks, k)
		for _, q := range s.SQL {
			b.Queue(q)
		}
	}
	if len(ks) == 0 {
		return nil
	}
	if err := x.ctx.Err(); err != nil {
		return x.r.fatal(x.ctx, x.master, steps[ks[0]], err, len(x.steps))
	}
	began := x.r.opts.Now()
	sctx, cancel := x.r.statementContext(x.ctx, 0)
	defer cancel()
	err := x.master.SendBatch(sctx, b).Close()
	ended := x.r.opts.Now()
	if err != nil {
		// Nothing of the batch took effect; the steps run one by one in
		// their waves, where each failure gets its own row.
		return x.r.fatal(x.ctx, x.master, steps[ks[0]], err, len(x.steps))
	}
	for _, k := range ks {
		x.out[k].finish(steps[k], nil, nil, began, ended)
	}
	return nil
}

// wave runs the steps [from, to) of whole entries: the create_role steps
// the batch left in order on the master's session, then the rest.
func (x *execution) wave(from, to int) error {
	for k := from; k < to; k++ {
		s := x.steps[k]
		x.reached[s.Entry] = true
		if x.out[k].done || x.failed[s.Entry] || s.Action != audit.ActionCreateRole {
			continue
		}
		if !s.runs() {
			x.out[k].finish(s, nil, nil, time.Time{}, time.Time{})
			if s.Status == audit.Error {
				x.failed[s.Entry] = true
			}
			continue
		}
		began := x.r.opts.Now()
		err := x.ctx.Err()
		if err == nil {
			err = x.r.exec(x.ctx, x.master, s)
		}
		if err != nil {
			if stop := x.r.fatal(x.ctx, x.master, s, err, to-k); stop != nil {
				return stop
			}
			x.failed[s.Entry] = true
			if e := x.entries[s.Entry]; e.AccessLevel == tfvars.AccessOwner {
				// Its database is not created or granted on: the other
				// entries on it do not run either.
				x.badDB[s.Database] = s.Action + " for " + s.Username
			}
		}
		x.out[k].finish(s, nil, err, began, x.r.opts.Now())
	}
	return x.databaseSteps(from, to)
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

// schemaTail is the index of the apply_schema steps the plan puts last.
func schemaTail(steps []Step) int {
	k := len(steps)
	for k > 0 && steps[k-1].Action == audit.ActionApplySchema {
		k--
	}
	return k
}

// entryRanges splits steps, grouped by entry in plan order, into ranges
// [from, to) of up to size entries each. With cut, an entry the plan
// already gives an error row ends its range, so fail-fast stops right
// after it, as a serial run would.
func entryRanges(steps []Step, size int, cut bool) [][2]int {
	var out [][2]int
	start, count, erred := 0, 0, false
	for k := range steps {
		if k > 0 && steps[k].Entry != steps[k-1].Entry {
			count++
			if count == size || erred {
				out = append(out, [2]int{start, k})
				start, count = k, 0
			}
			erred = false
		}
		erred = erred || cut && steps[k].Status == audit.Error && !steps[k].runs() && !steps[k].Tenant
	}
	if len(steps) > start {
		out = append(out, [2]int{start, len(steps)})
	}
	return out
}

// entriesIn counts the entries of steps.
func entriesIn(steps []Step) int {
	seen := map[int]bool{}
	for _, s := range steps {
		if s.Entry >= 0 {
			seen[s.Entry] = true
		}
	}
	return len(seen)
}
