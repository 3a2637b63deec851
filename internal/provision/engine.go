package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// The engine executes the plan's steps, hiding network latency:
//
//  1. Every create_role step (CREATE ROLE or ALTER ROLE ... PASSWORD, and
//     the master's membership) goes in one batch on the master's session:
//     one round trip, one implicit transaction. If the batch fails nothing
//     of it took effect, and those steps run one by one in their entries'
//     turn, so each row says what failed.
//  2. The entries are then taken in waves of Options.Parallel, in tfvars
//     order. A wave runs its entries' other instance steps (CREATE
//     DATABASE, grants that only touch database ACLs) in plan order on the
//     master's session, then each database's steps on a connection of its
//     own, databases concurrently, the steps of one database in plan
//     order (concurrent GRANTs on one object would fail with "tuple
//     concurrently updated"). The master's session is pinged first: no
//     grant runs once the lock is gone.
//  3. The apply_schema steps, planned last, run the same way for the
//     entries that ran.
//
// Rows and log lines are emitted in plan order whatever finishes first.
// Fail-fast is checked between waves, so what a failed run did does not
// depend on timing: the rows are those of every entry up to the end of the
// wave holding the first error (a wave ends after an entry whose error
// the plan already holds), the create_role rows of the later entries
// whose password update ran in the batch, then the apply_schema rows of
// the entries that ran. An error the plan already holds (a missing
// secret, a refused role) ends the batch before that entry, so no later
// role changes; an error met while executing (a failed CREATE DATABASE)
// comes after the batch, which had set the later entries' passwords. With
// --parallel 1 a wave is one entry, as the serial engine did.

// stepOutcome is what executing one step gave, kept until its row is emitted.
type stepOutcome struct {
	done   bool
	step   Step // as done: apply_schema reports what schema.Apply did
	status audit.Status
	msg    string
	took   time.Duration
	// fatal ends the run after this step: cancellation or the lost lock.
	fatal error
}

func (o *stepOutcome) finish(s Step, err error, began, ended time.Time) {
	o.done, o.step, o.took = true, s, ended.Sub(began)
	if err != nil {
		o.status, o.msg = audit.Error, s.Fail+": "+pgMessage(err)
		return
	}
	o.status, o.msg = s.Status, s.Message
}

// execution is one real run's progress through the steps.
type execution struct {
	r      *run
	ctx    context.Context
	master *pgx.Conn
	steps  []Step
	out    []stepOutcome
	// failed entries have their later steps skipped.
	failed map[int]bool
	// reached holds the entries whose wave ran.
	reached map[int]bool
	// emitted counts the steps whose rows (or silence) are settled.
	emitted int
	stopped error
}

// executeSteps runs the steps as described above.
func (r *run) executeSteps(ctx context.Context, master *pgx.Conn, steps []Step) {
	x := &execution{r: r, ctx: ctx, master: master, steps: steps, out: make([]stepOutcome, len(steps)), failed: map[int]bool{}, reached: map[int]bool{}}
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
	}
	if err := x.databaseSteps(tail, len(steps)); err != nil {
		x.stop(err)
		return
	}
	x.emit(len(steps))
}

// stop emits the rows of what ran and the one row that ends the run.
func (x *execution) stop(err error) {
	x.emit(len(x.steps))
	x.r.recordStep(Step{Entry: -1, Action: "connect"}, audit.Error, err.Error(), "", 0)
}

// emit settles the steps up to end in order: a row for each step that
// ran, or that sends nothing and whose entry was reached.
func (x *execution) emit(end int) {
	for ; x.emitted < end; x.emitted++ {
		o := x.out[x.emitted]
		if !o.done {
			continue
		}
		x.r.recordStep(o.step, o.status, o.msg, o.step.Line, o.took)
	}
}

// roleBatch sends every create_role step in one batch on the master's
// session. It returns an error only when the run must stop.
func (x *execution) roleBatch(steps []Step) error {
	var ks []int
	erred := map[int]bool{}
	b := &pgx.Batch{}
	for k, s := range steps {
		if s.Status == audit.Error && !s.runs() {
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
		x.out[k].finish(steps[k], nil, began, ended)
	}
	return nil
}

// wave runs the steps [from, to) of whole entries: the instance steps in
// order on the master's session, then the per-database steps.
func (x *execution) wave(from, to int) error {
	for k := from; k < to; k++ {
		s := x.steps[k]
		x.reached[s.Entry] = true
		if x.out[k].done {
			continue
		}
		if x.failed[s.Entry] {
			continue
		}
		if !s.runs() {
			x.out[k].finish(s, nil, time.Time{}, time.Time{})
			if s.Status == audit.Error {
				x.failed[s.Entry] = true
			}
			continue
		}
		if s.On != "" {
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
		}
		x.out[k].finish(s, err, began, x.r.opts.Now())
	}
	return x.databaseSteps(from, to)
}

// databaseSteps runs the steps of [from, to) that act inside a database,
// one connection per database, up to Options.Parallel at once.
func (x *execution) databaseSteps(from, to int) error {
	var dbs []string
	byDB := map[string][]int{}
	for k := from; k < to; k++ {
		s := x.steps[k]
		if !x.reached[s.Entry] {
			continue
		}
		if s.On == "" || !s.runs() || x.failed[s.Entry] || x.out[k].done {
			if !s.runs() && !x.out[k].done && !x.failed[s.Entry] {
				x.out[k].finish(s, nil, time.Time{}, time.Time{})
			}
			continue
		}
		if byDB[s.On] == nil {
			dbs = append(dbs, s.On)
		}
		byDB[s.On] = append(byDB[s.On], k)
	}
	if len(dbs) == 0 {
		return nil
	}
	// Grants never run without the lock: check its session first.
	first := x.steps[byDB[dbs[0]][0]]
	pctx, cancel := x.r.statementContext(x.ctx, 0)
	err := x.master.PgConn().Ping(pctx)
	cancel()
	if err != nil {
		return x.r.fatal(x.ctx, x.master, first, fmt.Errorf("%w: %w", errLostLock, err), to-from)
	}
	// failed is read by the workers and written only after them.
	var mu sync.Mutex
	var fatal error
	newlyFailed := map[int]bool{}
	x.r.forEach(x.ctx, len(dbs), func(i int) {
		failed := map[int]bool{}
		var conn *pgx.Conn
		var connErr error
		for _, k := range byDB[dbs[i]] {
			s := x.steps[k]
			if x.failed[s.Entry] || failed[s.Entry] {
				continue
			}
			began := x.r.opts.Now()
			err := x.ctx.Err()
			if err == nil && conn == nil && connErr == nil {
				conn, connErr = x.r.connect(x.ctx, s.On)
				if conn != nil {
					defer conn.Close(context.Background())
				}
			}
			if err == nil {
				err = connErr
			}
			done := s
			if err == nil {
				done, err = x.r.runOn(x.ctx, conn, s)
			}
			if err != nil {
				failed[s.Entry] = true
				if x.ctx.Err() != nil {
					mu.Lock()
					if fatal == nil {
						fatal = x.r.interrupted(x.ctx, s.Action+" for "+s.Username, err, to-from)
					}
					mu.Unlock()
					return
				}
			}
			x.out[k].finish(done, err, began, x.r.opts.Now())
		}
		mu.Lock()
		for e := range failed {
			newlyFailed[e] = true
		}
		mu.Unlock()
	})
	for e := range newlyFailed {
		x.failed[e] = true
	}
	if fatal == nil && x.ctx.Err() != nil {
		fatal = x.r.interrupted(x.ctx, first.Action, x.ctx.Err(), to-from)
	}
	return fatal
}

// exec sends an instance step's statements as one implicit transaction on
// the master's session.
func (r *run) exec(ctx context.Context, conn *pgx.Conn, s Step) error {
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	_, err := conn.Exec(sctx, strings.Join(s.SQL, ";\n"), pgx.QueryExecModeSimpleProtocol)
	return r.timedOut(ctx, err)
}

// runOn runs a per-database step on a connection to its database and
// returns the step as done: an apply_schema step reports what
// schema.Apply did.
func (r *run) runOn(ctx context.Context, conn *pgx.Conn, s Step) (Step, error) {
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	var err error
	if s.Template != "" {
		s, err = r.applySchema(sctx, conn, s)
	} else {
		_, err = conn.Exec(sctx, strings.Join(s.SQL, ";\n"), pgx.QueryExecModeSimpleProtocol)
	}
	return s, r.timedOut(ctx, err)
}

func (r *run) timedOut(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("no answer from the server within --statement-timeout %s: %w", r.opts.StatementTimeout, err)
	}
	return err
}

// forEach calls fn(0), ..., fn(n-1), up to Options.Parallel at once, and
// returns when all have returned. Nothing new starts once ctx is done.
func (r *run) forEach(ctx context.Context, n int, fn func(i int)) {
	sem := make(chan struct{}, max(r.opts.Parallel, 1))
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
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
		erred = erred || cut && steps[k].Status == audit.Error && !steps[k].runs()
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
