// Package provision creates the PostgreSQL roles, databases and grants that
// an environment's application_databases lists, idempotently, as an RDS
// master user, and records every action in the audit log.
//
// A run reads the instance once (state.go), plans (plan.go: a pure value),
// and either executes exactly the plan (apply.go, apply_chains.go) or
// reports it (preview.go). Each resource keeps its state read, its rules,
// its SQL and its sentences in one file: role.go (and record.go, the
// role's comment), database.go, grants.go (with converge.go, the GRANT and
// REVOKE statements, and privileges.go, what each access level holds),
// schema_step.go; render.go turns steps and outcomes into words. Options
// (options.go) are defaulted and checked in one place; secrets are read and
// redacted by secrets.go.
package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// ErrApproval is returned when --require-approval blocks a non-dev run.
var ErrApproval = errors.New("approval required")

// ErrActionsFailed means the run recorded error rows; each was already
// logged, so callers need not print this error again. It is
// audit.ErrActionsFailed, the one such error of every command.
var ErrActionsFailed = audit.ErrActionsFailed

// Result is what a run did.
type Result struct {
	TfvarsPath string
	Mode       tfvars.Mode
	Region     string
	Entries    []tfvars.Entry // as read, with their lines for annotations
	Rows       []audit.Row
	// Steps is the plan a dry run reported or a real run executed; a real
	// run that stopped (fail-fast, lost connection) has rows for the steps
	// it reached only.
	Steps []Step
}

// Run provisions every entry of the environment's application_databases.
// It returns ErrActionsFailed when any row is an error.
func Run(ctx context.Context, opts Options) (Result, error) {
	r, err := newRun(opts)
	if err != nil {
		return Result{}, err
	}
	res, err := r.execute(ctx)
	res.Rows = r.audit.Rows()
	failures := 0
	if err != nil && !errors.Is(err, ErrActionsFailed) {
		// A run-level failure (tfvars, approval) happens before any action,
		// so the CSV has no row for it; the log says it before the summary,
		// which counts it. Its text is scrubbed as the rows are, since
		// callers print it too.
		msg := r.audit.Scrub(err.Error())
		fmt.Fprintf(r.log, "[ERROR] %s\n", msg)
		err, failures = loggedError{msg: msg, err: err}, 1
	}
	r.summary(failures)
	return res, err
}

// loggedError is a run-level failure Run already logged; its text is the
// failure's own, with every secret the run read redacted.
type loggedError struct {
	msg string
	err error
}

func (e loggedError) Error() string { return e.msg }
func (e loggedError) Unwrap() error { return e.err }

// Logged reports whether err was already logged as [ERROR] lines (rows,
// or a run-level failure before the summary), so a caller need not print it
// again.
func Logged(err error) bool {
	var l loggedError
	return errors.As(err, &l) || errors.Is(err, ErrActionsFailed)
}

type run struct {
	opts   Options
	audit  *audit.Log
	log    io.Writer
	master secrets.Master
	failed bool
	// tfvarsEndpoint and identifier are the tfvars' rds_endpoint, rds_port,
	// database_name and identifier, for an RDS-managed master secret.
	tfvarsEndpoint secrets.Endpoint
	identifier     string
	// halt says what fail-fast stops the run at: the first error row that
	// is not a tenant's (Step.Tenant); "" while there is none.
	halt string
	// major is the server's major version, read from the first session.
	major atomic.Int32
}

func newRun(opts Options) (*run, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &run{opts: opts, audit: opts.Audit, log: opts.Log}, nil
}

func (r *run) execute(ctx context.Context) (Result, error) {
	var res Result
	// The approval gate comes before any file, network or database access.
	if r.opts.RequireApproval && r.opts.Env != "dev" && r.getenv("ALLOW_DB_PROVISION") != "true" {
		return res, fmt.Errorf("%w: ALLOW_DB_PROVISION=true required for %s environment", ErrApproval, r.opts.Env)
	}

	file, err := r.loadTfvars()
	if err != nil {
		return res, err
	}
	res.TfvarsPath, res.Mode, res.Entries = file.Path, file.Mode, file.Entries
	res.Region = cmp.Or(r.opts.Region, file.Region, tfvars.DefaultRegion)
	r.infof("Environment %s: %d database(s) from %s (%s mode), region %s", r.opts.Env, len(file.Entries), file.Path, file.Mode, res.Region)
	if len(file.Entries) == 0 {
		r.infof("application_databases is empty: nothing to provision")
		return res, nil
	}

	if r.opts.Secrets == nil {
		client, err := secrets.NewAWS(ctx, res.Region)
		if err != nil {
			return res, err
		}
		r.opts.Secrets = client
	}
	r.tfvarsEndpoint = secrets.Endpoint{Host: file.Endpoint, Port: file.Port, DBName: file.DatabaseName}
	r.identifier = file.Identifier
	if r.opts.RDS == nil {
		client, err := rdsapi.NewAWS(ctx, res.Region)
		if err != nil {
			return res, err
		}
		r.opts.RDS = client
	}
	entries, err := r.prepare(file.Entries, file.MasterUsername)
	if err != nil {
		return res, err
	}
	if err := r.fetchSecrets(ctx, entries); err != nil {
		return res, err
	}

	in := planInput{
		entries:      entries,
		masterUser:   r.master.Username,
		masterDB:     r.master.DBName,
		tfvarsDB:     file.DatabaseName,
		masterSecret: r.opts.MasterSecret,
		env:          r.opts.Env,
		dryRun:       r.opts.DryRun,
	}
	if r.opts.DryRun {
		res.Steps = r.preview(ctx, entries, in)
	} else {
		res.Steps = r.apply(ctx, entries, in)
	}
	if r.failed {
		return res, ErrActionsFailed
	}
	return res, nil
}

func (r *run) loadTfvars() (*tfvars.File, error) {
	path, mode := r.opts.TfvarsPath, r.opts.Mode
	if path == "" {
		var err error
		if path, mode, err = tfvars.Locate(r.opts.RepoRoot, r.opts.Env, r.opts.Mode); err != nil {
			return nil, err
		}
	}
	file, err := tfvars.Load(path, mode)
	if err != nil {
		return nil, err
	}
	// Another environment's file would run without that environment's
	// approval gate.
	if err := file.CheckEnvironment(r.opts.Env); err != nil {
		return nil, err
	}
	return file, nil
}

// record adds a run-level row (connect, fetch_secret of the master) and
// logs the matching human line.
func (r *run) record(e *entry, action string, status audit.Status, started time.Time, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	var took time.Duration
	if !started.IsZero() {
		took = r.opts.Now().Sub(started)
	}
	r.recordRow(e, action, status, took, msg, msg)
}

// recordRow adds a row with its duration and logs line, both scrubbed of
// every secret the run read.
func (r *run) recordRow(e *entry, action string, status audit.Status, took time.Duration, msg, line string) {
	msg, line = r.audit.Scrub(msg), r.audit.Scrub(line)
	row := audit.Row{
		Time:        r.opts.Now().UTC(),
		Environment: r.opts.Env,
		BuildID:     r.opts.BuildID,
		RunID:       r.opts.RunID,
		Action:      action,
		Status:      status,
		Message:     msg,
	}
	if e != nil {
		row.Database, row.Username = e.DatabaseName, e.Username
	}
	row.Duration = took
	if status == audit.Error {
		r.failed = true
	}
	if err := r.audit.Add(row); err != nil {
		fmt.Fprintf(r.log, "[ERROR] %v\n", err)
		r.failed = true
	}
	fmt.Fprintf(r.log, "%s %s\n", status.LogPrefix(), line)
}

// recordStep adds a step's row as render.go worded it; tenant says the
// failure is its database's (fail-fast goes on), took how long it ran (0:
// it sent nothing).
func (r *run) recordStep(s Step, tenant bool, status audit.Status, msg, line string, took time.Duration) {
	line = cmp.Or(line, msg)
	var e *entry
	if s.Username != "" || s.Database != "" {
		e = &entry{}
		e.DatabaseName, e.Username = s.Database, s.Username
	}
	r.recordRow(e, s.Action, status, took, msg, line)
	if status == audit.Error && !tenant && s.Entry >= 0 && r.halt == "" {
		r.halt = haltKind(s)
	}
}

func (r *run) infof(format string, args ...any) {
	fmt.Fprintf(r.log, "[INFO] %s\n", r.audit.Scrub(fmt.Sprintf(format, args...)))
}

// stop reports whether fail-fast ends the run now: after an error that is
// not one database's own (see Step.Tenant), which a tenant cannot cause.
func (r *run) stop(remaining int) bool {
	if r.halt == "" || r.opts.NoFailFast {
		return false
	}
	if remaining > 0 {
		r.infof("Stopping at the first failure (fail-fast): %s; %d later database(s) not processed; use --no-fail-fast to continue past failures", r.halt, remaining)
	}
	return true
}

// summary logs the count of rows per status; failures adds run-level
// errors that have no row.
func (r *run) summary(failures int) {
	c := r.audit.Counts()
	c[audit.Error] += failures
	parts := make([]string, 0, len(audit.Statuses))
	for _, s := range audit.Statuses {
		parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
	}
	fmt.Fprintf(r.log, "[INFO] Summary: %s\n", strings.Join(parts, ", "))
}
