// Package rotate rotates application passwords with Secrets Manager's
// rotation protocol (createSecret, setSecret, testSecret, finishSecret and
// the staging labels AWSPENDING, AWSCURRENT, AWSPREVIOUS), from the command
// line (rotate: one entry, or every entry due by its risk tier) and as a
// Secrets Manager rotation function (lambda). It replaces RB-0029's manual
// rotation. Every change to PostgreSQL runs under the instance advisory
// lock that provision takes, so the two never interleave.
package rotate

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// ErrActionsFailed means the run recorded error rows, each already logged:
// audit.ErrActionsFailed, the one such error of every command.
var ErrActionsFailed = audit.ErrActionsFailed

// Defaults of the time bounds.
const (
	DefaultLockTimeout      = 10 * time.Minute
	DefaultStatementTimeout = time.Minute
	// finishGrace bounds testSecret and finishSecret after a cancellation
	// that arrives once setSecret ran: stopping there would leave the role
	// with a password AWSCURRENT does not hold.
	finishGrace = 30 * time.Second
)

// Options configure one rotate run. Zero values take SPEC's defaults.
type Options struct {
	Env        string
	TfvarsPath string // default: located under RepoRoot for Env with Mode
	RepoRoot   string // also where the catalog is read (risk levels)
	Mode       tfvars.Mode

	MasterSecret string // default <prefix>/<env>/rds/master
	SecretPrefix string // default goldenpath
	Region       string // default: tfvars aws_region, then eu-west-2
	BuildID      string // default manual
	RunID        string // default local

	// App rotates the one entry with this application_databases key, due
	// or not; Due rotates every entry whose period has passed.
	App    string
	Due    bool
	DryRun bool

	SSLMode          string // default verify-full
	SSLRootCert      string
	LockTimeout      time.Duration
	StatementTimeout time.Duration
	// MasterEndpoint (--db-host, --db-port, --db-name): see
	// secrets.ResolveMaster.
	MasterEndpoint secrets.Endpoint

	Secrets Store                  // default: Secrets Manager in Region
	RDS     secrets.InstanceFinder // default: the RDS API in Region
	// Tracer observes the master session's queries.
	Tracer pgx.QueryTracer

	Now    func() time.Time
	Random io.Reader // tokens and SCRAM salts; default crypto/rand
	Audit  *audit.Log
	Log    io.Writer
	Mask   func(secret string)
}

// Result is what a run did.
type Result struct {
	Rows []audit.Row
}

// Run rotates the entries Options select; ErrActionsFailed when any row is
// an error.
func Run(ctx context.Context, opts Options) (Result, error) {
	r, err := newRun(opts)
	if err != nil {
		return Result{}, err
	}
	err = r.execute(ctx)
	res := Result{Rows: r.audit.Rows()}
	if err == nil && r.failed {
		err = ErrActionsFailed
	}
	return res, err
}

type run struct {
	opts   Options
	audit  *audit.Log
	log    io.Writer
	failed bool
	master secrets.Master
}

func newRun(o Options) (*run, error) {
	switch {
	case o.Env == "":
		return nil, errors.New("--env is required (dev, test, staging, prod)")
	case (o.App == "") == !o.Due:
		return nil, errors.New("give --app KEY (one entry, due or not) or --due (every entry whose rotation period has passed)")
	}
	if o.SecretPrefix == "" {
		o.SecretPrefix = naming.DefaultSecretPrefix
	}
	if o.MasterSecret == "" {
		o.MasterSecret = naming.MasterSecretPath(o.SecretPrefix, o.Env)
	}
	if o.BuildID == "" {
		o.BuildID = audit.DefaultBuildID
	}
	if o.RunID == "" {
		o.RunID = audit.DefaultRunID
	}
	if o.SSLMode == "" {
		o.SSLMode = pgsession.DefaultSSLMode
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.RepoRoot == "" {
		o.RepoRoot = "."
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	if o.Audit == nil {
		o.Audit = audit.NewLog()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Mask == nil {
		o.Mask = func(string) {}
	}
	return &run{opts: o, audit: o.Audit, log: o.Log}, nil
}

// entry is one application_databases entry to consider.
type entry struct {
	tfvars.Entry
	target Target
	risk   string
}

func (r *run) execute(ctx context.Context) error {
	file, err := r.loadTfvars()
	if err != nil {
		return err
	}
	region := cmp.Or(r.opts.Region, file.Region, tfvars.DefaultRegion)
	entries, err := r.entries(file)
	if err != nil {
		return err
	}
	r.infof("Environment %s: %d entr%s to consider from %s, region %s", r.opts.Env, len(entries), plural(len(entries), "y", "ies"), file.Path, region)
	if len(entries) == 0 {
		return nil
	}
	if r.opts.Secrets == nil {
		c, err := secrets.NewAWS(ctx, region)
		if err != nil {
			return err
		}
		r.opts.Secrets = c
	}
	if r.opts.RDS == nil {
		c, err := rdsapi.NewAWS(ctx, region)
		if err != nil {
			return err
		}
		r.opts.RDS = c
	}
	plans := make([]plan, 0, len(entries))
	rotating := 0
	for _, e := range entries {
		p := plan{entry: e, started: r.opts.Now()}
		if st, err := ReadState(ctx, r.opts.Secrets, e.target.SecretID, r.hide); err != nil {
			p.row = &row{audit.Error, fmt.Sprintf("Cannot read %s: %v", e.target.SecretID, err)}
		} else {
			p.state, p.row = st, r.decide(e, st)
		}
		if p.row == nil {
			rotating++
		}
		plans = append(plans, p)
	}
	if rotating == 0 {
		for _, p := range plans {
			r.record(p.entry, p.row.status, p.started, "%s", p.row.msg)
		}
		return nil
	}
	return r.rotateAll(ctx, file, plans)
}

// plan is what a run does with one entry: rotate it (row nil), or record
// row.
type plan struct {
	entry   *entry
	state   State
	row     *row
	started time.Time
}

type row struct {
	status audit.Status
	msg    string
}

// decide returns the row of an entry that is not rotated (not due,
// rotated by Secrets Manager, dry run), or nil to rotate it.
func (r *run) decide(e *entry, st State) *row {
	now := r.opts.Now()
	period, known := Period(e.risk)
	riskNote := fmt.Sprintf("risk %s", e.risk)
	if !known {
		riskNote = fmt.Sprintf("risk %q unknown (no catalog entry, or not one of none, low, medium, high, access): the shortest period applies", e.risk)
	}
	isDue, at := Due(st.LastRotated, now, period)
	last := fmt.Sprintf("last rotated %s (%d days ago), period %d days (%s)", st.LastRotated.UTC().Format(time.RFC3339), int(now.Sub(st.LastRotated)/Day), int(period/Day), riskNote)
	if st.Meta.RotationEnabled {
		return &row{audit.Warning, fmt.Sprintf("Not rotated: Secrets Manager rotates %s itself (RotateSecret with %s); rotate it now with: aws secretsmanager rotate-secret --secret-id %s", e.target.SecretID, cmp.Or(st.Meta.RotationLambdaARN, "its rotation function"), e.target.SecretID)}
	}
	var why string
	switch {
	case st.Pending != "":
		why = fmt.Sprintf("a rotation begun earlier is in progress (version %s is AWSPENDING); %s", st.Pending, last)
	case r.opts.App != "":
		why = fmt.Sprintf("requested with --app; %s", last)
	case isDue:
		why = fmt.Sprintf("due since %s: %s", at.UTC().Format(time.RFC3339), last)
	default:
		return &row{audit.NoChange, fmt.Sprintf("Not due: %s; next due %s", last, at.UTC().Format(time.RFC3339))}
	}
	if r.opts.DryRun {
		return &row{audit.DryRun, fmt.Sprintf("Would rotate %s: %s", e.target.SecretID, why)}
	}
	r.infof("Rotating %s: %s", e.target.SecretID, why)
	return nil
}

// rotateAll connects as the master under the lock and goes through the
// entries in tfvars order, rotating those planned.
func (r *run) rotateAll(ctx context.Context, file *tfvars.File, plans []plan) error {
	session, err := r.open(ctx, file)
	if err != nil {
		for _, p := range plans {
			if p.row == nil {
				p.row = &row{audit.Error, fmt.Sprintf("Not rotated: %v", err)}
			}
			r.record(p.entry, p.row.status, p.started, "%s", p.row.msg)
		}
		return nil
	}
	defer session.Close()
	rot := &Rotator{Secrets: r.opts.Secrets, DB: session.db, Hide: r.hide}
	for _, p := range plans {
		switch {
		case p.row != nil:
			r.record(p.entry, p.row.status, p.started, "%s", p.row.msg)
		case ctx.Err() != nil:
			r.record(p.entry, audit.Error, r.opts.Now(), "Not rotated: cancelled (SIGTERM or interrupt); re-run to rotate it")
		case session.Lost():
			r.record(p.entry, audit.Error, r.opts.Now(), "Not rotated: the master session holding the advisory lock is gone; re-run to rotate it")
		default:
			r.rotateOne(ctx, rot, session, p.entry, p.state)
		}
	}
	return nil
}

// open reads the master secret and connects as the master, under the lock.
func (r *run) open(ctx context.Context, file *tfvars.File) (*Session, error) {
	got, err := r.opts.Secrets.GetMany(ctx, []string{r.opts.MasterSecret})
	if err != nil {
		return nil, fmt.Errorf("read the master secret: %w", err)
	}
	res := got[r.opts.MasterSecret]
	r.hide(res.Value)
	if res.Err != nil {
		return nil, fmt.Errorf("%w: the master secret is needed to set passwords (create it, or pass --master-secret)", res.Err)
	}
	if r.master, err = secrets.ResolveMaster(ctx, secrets.MasterInput{
		Path: r.opts.MasterSecret, Raw: res.Value, ARN: res.ARN, Flags: r.opts.MasterEndpoint,
		Tfvars:     secrets.Endpoint{Host: file.Endpoint, Port: file.Port, DBName: file.DatabaseName},
		Identifier: file.Identifier, RDS: r.opts.RDS,
	}); err != nil {
		return nil, err
	}
	r.hide(r.master.Password)
	db := &DB{Master: r.master, SSLMode: r.opts.SSLMode, SSLRootCert: r.opts.SSLRootCert,
		StatementTimeout: r.opts.StatementTimeout, LockTimeout: r.opts.LockTimeout, Random: r.opts.Random, Infof: r.infof, Tracer: r.opts.Tracer}
	return db.Open(ctx)
}

// rotateOne runs the four steps for one entry and records the step reached.
func (r *run) rotateOne(ctx context.Context, rot *Rotator, s *Session, e *entry, st State) {
	started := r.opts.Now()
	token, resumed := st.Pending, st.Pending != ""
	if token == "" {
		var err error
		if token, err = newToken(r.opts.Random); err != nil {
			r.record(e, audit.Error, started, "Not rotated: %v", err)
			return
		}
	}
	t := e.target
	var done []string
	for _, step := range Steps {
		var err error
		switch step {
		case StepCreate:
			err = rot.Create(ctx, t, token)
		case StepSet:
			err = rot.Set(ctx, s, t, token)
			if err == nil {
				// From here the role has the pending password: finish
				// even when cancelled, within a bound.
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finishGrace)
				defer cancel()
			}
		case StepTest:
			err = rot.Test(ctx, t, token)
		case StepFinish:
			err = rot.Finish(ctx, s, t, token, true)
		}
		if err != nil {
			msg := fmt.Sprintf("Rotation of %s stopped at %s", t.SecretID, step)
			if len(done) > 0 {
				msg += " (" + strings.Join(done, ", ") + " done)"
			}
			msg += ": " + err.Error()
			if len(done) >= 2 { // setSecret ran
				msg += fmt.Sprintf(". The role has the AWSPENDING password and AWSCURRENT the previous one until a rotation finishes: re-run rds-provision rotate --env %s --app %s", r.opts.Env, e.Key)
			} else {
				msg += ". AWSCURRENT and the role are unchanged"
			}
			r.record(e, audit.Error, started, "%s", msg)
			return
		}
		done = append(done, string(step))
	}
	how := "Rotated"
	if resumed {
		how = "Finished the rotation an earlier run began for"
	}
	r.record(e, audit.Success, started, "%s %s: %s done; AWSCURRENT is version %s, the previous version is AWSPREVIOUS", how, t.SecretID, strings.Join(done, ", "), token)
}

// newToken is a ClientRequestToken: a random UUID (version 4).
func newToken(random io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("generate a client request token: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
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
	if err := file.CheckEnvironment(r.opts.Env); err != nil {
		return nil, err
	}
	return file, nil
}

// entries validates the tfvars entries to consider and reads their risk
// from the catalog.
func (r *run) entries(file *tfvars.File) ([]*entry, error) {
	risks, err := r.risks()
	if err != nil {
		return nil, err
	}
	var out []*entry
	for _, te := range file.Entries {
		if r.opts.App != "" && te.Key != r.opts.App {
			continue
		}
		at := fmt.Sprintf("application_databases.%s (line %d)", te.Key, te.Line)
		if err := naming.CheckUsername(te.Username); err != nil {
			return nil, fmt.Errorf("%s: username %v", at, err)
		}
		if err := naming.CheckDatabase(te.DatabaseName); err != nil {
			return nil, fmt.Errorf("%s: database_name %v", at, err)
		}
		if file.MasterUsername != "" && te.Username == file.MasterUsername {
			return nil, fmt.Errorf("%s: username %s is the RDS master user (master_username): it is not rotated here", at, te.Username)
		}
		path := te.SecretName
		if path == "" {
			path = naming.AppSecretPath(r.opts.SecretPrefix, r.opts.Env, te.Key)
		}
		out = append(out, &entry{Entry: te, risk: risks[te.DatabaseName], target: Target{SecretID: path, Username: te.Username, Database: te.DatabaseName}})
	}
	if r.opts.App != "" && len(out) == 0 {
		keys := make([]string, 0, len(file.Entries))
		for _, e := range file.Entries {
			keys = append(keys, e.Key)
		}
		return nil, fmt.Errorf("--app %s: no application_databases entry has that key in %s (keys: %s)", r.opts.App, file.Path, strings.Join(keys, ", "))
	}
	return out, nil
}

// risks maps database names to their catalog risk; a missing catalog
// gives none (every entry then gets the shortest period).
func (r *run) risks() (map[string]string, error) {
	path := filepath.Join(r.opts.RepoRoot, filepath.FromSlash(catalog.Path(r.opts.Env)))
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if r.opts.Due {
			r.infof("No catalog at %s: every entry gets the shortest rotation period (14 days)", path)
		}
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	entries, err := catalog.Entries(src)
	if err != nil {
		return nil, fmt.Errorf("read the catalog %s: %w", path, err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Environment == "" || e.Environment == r.opts.Env {
			out[e.Name] = e.Risk
		}
	}
	return out, nil
}

func (r *run) hide(s string) {
	if s == "" {
		return
	}
	r.audit.Redact(s)
	r.opts.Mask(s)
}

func (r *run) record(e *entry, status audit.Status, started time.Time, format string, args ...any) {
	msg := r.audit.Scrub(fmt.Sprintf(format, args...))
	row := audit.Row{
		Time: r.opts.Now().UTC(), Environment: r.opts.Env, BuildID: r.opts.BuildID, RunID: r.opts.RunID,
		Action: audit.ActionRotateSecret, Status: status, Message: msg, Duration: r.opts.Now().Sub(started),
	}
	if e != nil {
		row.Database, row.Username = e.DatabaseName, e.Username
	}
	if status == audit.Error {
		r.failed = true
	}
	if err := r.audit.Add(row); err != nil {
		fmt.Fprintf(r.log, "[ERROR] %v\n", err)
		r.failed = true
	}
	fmt.Fprintf(r.log, "%s %s\n", status.LogPrefix(), msg)
}

func (r *run) infof(format string, args ...any) {
	fmt.Fprintf(r.log, "[INFO] %s\n", r.audit.Scrub(fmt.Sprintf(format, args...)))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
