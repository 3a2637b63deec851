package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
)

// The real run's work on databases: one chain of steps per database, run
// concurrently on up to Options.Parallel connections (the order and the
// rows are apply.go's), the connections they take, and how a statement is
// sent and bounded.

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
			x.out[k].notRunFor(s.Database, why)
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
			x.out[k].notRunFor(s.Database, bad)
			failed[s.Entry] = true
			continue
		}
		if !s.runs() {
			x.out[k].finish(s, nil, nil, time.Time{}, time.Time{})
			if s.Status == audit.Error {
				failed[s.Entry] = true
			}
			continue
		}
		began := x.r.opts.Now()
		err := x.ctx.Err()
		var done *schema.Decision
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
		x.out[k].finish(s, done, err, began, x.r.opts.Now())
	}
	return failed, bad
}

// applyAsOwner runs an apply_schema step in a session logged in as the
// owner role with the password of its app secret, which the run's
// create_role step has set.
func (x *execution) applyAsOwner(s Step) (*schema.Decision, error) {
	e := x.entries[s.Entry]
	conn, err := x.r.connectAs(x.ctx, s.On, s.Username, e.password)
	if err != nil {
		return nil, fmt.Errorf("the template runs in a session of its owner role: %w", err)
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
// instance step to any); for an apply_schema step it returns what
// schema.Apply did.
func (r *run) runOn(ctx context.Context, conn *pgx.Conn, s Step) (*schema.Decision, error) {
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	if s.Template != "" {
		d, err := r.applySchema(sctx, conn, s)
		return d, r.timedOut(ctx, err)
	}
	_, err := conn.Exec(sctx, strings.Join(s.SQL, ";\n"), pgx.QueryExecModeSimpleProtocol)
	return nil, r.timedOut(ctx, err)
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
