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
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The engine executes the plan's steps, hiding network latency:
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
		o.step.Tenant = s.Tenant || tenantFailure(s, err)
		return
	}
	o.status, o.msg = s.Status, s.Message
}

// notRun settles a step of an entry on a database that failed for another
// entry: the entry's one error row, naming the database.
func (o *stepOutcome) notRun(s Step, db, why string) {
	o.done, o.step, o.took = true, s, 0
	o.step.Tenant = true
	o.status, o.msg = audit.Error, fmt.Sprintf("Not run: database %s failed (%s); re-run once that is fixed", db, why)
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

// take returns an idle connection to the master's database, or opens one.
func (x *execution) take() (*pgx.Conn, error) {
	x.mu.Lock()
	if n := len(x.idle); n > 0 {
		c := x.idle[n-1]
		x.idle = x.idle[:n-1]
		x.mu.Unlock()
		return c, nil
	}
	x.mu.Unlock()
	return x.r.connect(x.ctx, x.r.master.DBName)
}

// give keeps a connection to the master's database for the next chain,
// or closes it when it is broken.
func (x *execution) give(c *pgx.Conn) {
	if c.IsClosed() || c.PgConn().TxStatus() != 'I' {
		c.Close(context.Background())
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.idle = append(x.idle, c)
}

func (x *execution) closeIdle() {
	for _, c := range x.idle {
		c.Close(context.Background())
	}
	x.idle = nil
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
		x.out[k].finish(steps[k], nil, began, ended)
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
			x.out[k].finish(s, nil, time.Time{}, time.Time{})
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
		x.out[k].finish(s, err, began, x.r.opts.Now())
	}
	return x.databaseSteps(from, to)
}

// databaseSteps runs the other steps of [from, to), the rows without SQL
// included, as one chain per database, in plan order within a chain,
// chains concurrently on up to Options.Parallel connections. A chain's
// CREATE DATABASE and database-ACL grants (On == "") run on a connection
// to the master's database, its grants inside the database on a
// connection to it: one connection open per chain at a time.
//
// Concurrent CREATE DATABASE is safe: each takes a share lock on template1,
// and what refuses to copy a template is a session connected to it (the
// state read's template1 session is closed before the plan). Two chains
// never touch the same database, so concurrent GRANTs never update the
// same catalog row ("tuple concurrently updated").
func (x *execution) databaseSteps(from, to int) error {
	var dbs []string
	byDB := map[string][]int{}
	for k := from; k < to; k++ {
		s := x.steps[k]
		if !x.reached[s.Entry] || x.failed[s.Entry] || x.out[k].done {
			continue
		}
		if why, bad := x.badDB[s.Database]; bad {
			x.out[k].notRun(s, s.Database, why)
			x.failed[s.Entry] = true
			continue
		}
		if byDB[s.Database] == nil {
			dbs = append(dbs, s.Database)
		}
		byDB[s.Database] = append(byDB[s.Database], k)
	}
	if len(dbs) == 0 {
		return nil
	}
	if x.sends(byDB) {
		// Nothing runs without the lock: check its session first.
		first := x.steps[byDB[dbs[0]][0]]
		pctx, cancel := x.r.statementContext(x.ctx, 0)
		err := x.master.PgConn().Ping(pctx)
		cancel()
		if err != nil {
			return x.r.fatal(x.ctx, x.master, first, fmt.Errorf("%w: %w", errLostLock, err), to-from)
		}
	}
	failed := make([]map[int]bool, len(dbs))
	bad := make([]string, len(dbs))
	x.r.forEach(x.ctx, len(dbs), func(i int) {
		failed[i], bad[i] = x.chain(byDB[dbs[i]])
	})
	for i, f := range failed {
		for e := range f {
			x.failed[e] = true
		}
		if bad[i] != "" {
			x.badDB[dbs[i]] = bad[i]
		}
	}
	// The first cancelled step in plan order ends the run.
	for k := from; k < to; k++ {
		if err := x.out[k].fatal; err != nil {
			s := x.steps[k]
			return x.r.interrupted(x.ctx, s.Action+" for "+s.Username, err, to-k)
		}
	}
	if err := x.ctx.Err(); err != nil {
		return x.r.interrupted(x.ctx, "provisioning", err, to-from)
	}
	return nil
}

// sends reports whether any of the chains sends SQL.
func (x *execution) sends(byDB map[string][]int) bool {
	for _, ks := range byDB {
		for _, k := range ks {
			if x.steps[k].runs() {
				return true
			}
		}
	}
	return false
}

// chain runs one database's steps in order and returns the entries that
// failed and, when a step failed, what failed ("apply_grants for
// shop_app"): the chain's later steps, of any entry, are then not run. It
// writes only the outcomes of its own steps.
func (x *execution) chain(ks []int) (map[int]bool, string) {
	failed := map[int]bool{}
	bad := ""
	var conn *pgx.Conn
	var connDB string
	release := func() {
		if conn == nil {
			return
		}
		if connDB == x.r.master.DBName {
			x.give(conn)
		} else {
			conn.Close(context.Background())
		}
		conn = nil
	}
	defer release()
	for _, k := range ks {
		s := x.steps[k]
		if failed[s.Entry] {
			continue
		}
		if bad != "" {
			x.out[k].notRun(s, s.Database, bad)
			failed[s.Entry] = true
			continue
		}
		if !s.runs() {
			x.out[k].finish(s, nil, time.Time{}, time.Time{})
			if s.Status == audit.Error {
				failed[s.Entry] = true
			}
			continue
		}
		began := x.r.opts.Now()
		err := x.ctx.Err()
		done := s
		if s.Template != "" {
			// The template runs in a session of the owner role itself.
			release()
			if err == nil {
				done, err = x.applyAsOwner(s)
			}
		} else {
			// Database-ACL statements run on any connection; CREATE
			// DATABASE and they take a pool connection to the master's
			// database when none is open.
			want := s.On
			if want == "" && conn == nil {
				want = x.r.master.DBName
			}
			if err == nil && want != "" && (conn == nil || connDB != want) {
				release()
				if want == x.r.master.DBName {
					conn, err = x.take()
				} else {
					conn, err = x.r.connect(x.ctx, want)
				}
				connDB = want
				if err != nil {
					conn = nil
				}
			}
			if err == nil {
				done, err = x.r.runOn(x.ctx, conn, s)
			}
		}
		if err != nil && x.ctx.Err() != nil {
			x.out[k].fatal = err
			return failed, bad
		}
		if err != nil {
			failed[s.Entry] = true
			bad = s.Action + " for " + s.Username
		}
		x.out[k].finish(done, err, began, x.r.opts.Now())
	}
	return failed, bad
}

// applyAsOwner runs an apply_schema step in a session logged in as the
// owner role with the password of its app secret, which the run's
// create_role step has set.
func (x *execution) applyAsOwner(s Step) (Step, error) {
	e := x.entries[s.Entry]
	conn, err := x.r.connectAs(x.ctx, s.On, s.Username, e.password)
	if err != nil {
		return s, fmt.Errorf("the template runs in a session of its owner role: %w", err)
	}
	defer conn.Close(context.Background())
	return x.r.runOn(x.ctx, conn, s)
}

// exec sends an instance step's statements as one implicit transaction on
// the master's session.
func (r *run) exec(ctx context.Context, conn *pgx.Conn, s Step) error {
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	_, err := conn.Exec(sctx, strings.Join(s.SQL, ";\n"), pgx.QueryExecModeSimpleProtocol)
	return r.timedOut(ctx, err)
}

// runOn runs a step on a pool connection (to its database, or for an
// instance step to any) and returns the step as done: an apply_schema step
// reports what schema.Apply did.
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

// timedOut says when a statement ran past --statement-timeout, whether the
// client's deadline or the session's own statement_timeout (the same
// bound, sessionSettings) ended it first.
func (r *run) timedOut(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	serverSide := errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout")
	if ctx.Err() != nil {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from the server within --statement-timeout %s: %w", r.opts.StatementTimeout, err)
	case serverSide: // not wrapped: the row renders the message, not the server's alone
		return fmt.Errorf("no answer from the server within --statement-timeout %s: %v", r.opts.StatementTimeout, err)
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
