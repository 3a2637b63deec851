package provision

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// SecretSource reads secrets; *secrets.Client is the real one.
type SecretSource interface {
	Get(ctx context.Context, path string) (string, error)
	GetMany(ctx context.Context, paths []string) (map[string]secrets.Result, error)
}

// Options configure one run. Zero values mean the defaults of SPEC:
// Validate fills them in and checks the rest, and the command line, the
// action and Run all go through it.
type Options struct {
	Env string
	// TfvarsPath names the tfvars file; when empty it is located under
	// RepoRoot for Env with Mode (auto, coupled, standalone).
	TfvarsPath string
	RepoRoot   string      // default .
	Mode       tfvars.Mode // default auto

	MasterSecret string // default <prefix>/<env>/rds/master (naming.MasterSecretPath)
	SecretPrefix string // default goldenpath
	Region       string // default: tfvars aws_region, then eu-west-2
	BuildID      string // default manual
	RunID        string // default local

	DryRun          bool
	RequireApproval bool
	NoFailFast      bool
	SkipPreflight   bool
	SSLMode         string // default verify-full
	SSLRootCert     string
	// LockTimeout bounds the wait for another run's advisory lock.
	LockTimeout time.Duration // default DefaultLockTimeout
	// StatementTimeout bounds every statement, so a frozen server or
	// network fails the run instead of hanging it.
	StatementTimeout time.Duration // default DefaultStatementTimeout

	Getenv func(string) string // default os.Getenv
	Now    func() time.Time    // default time.Now
	Random io.Reader           // SCRAM salts; default crypto/rand

	// Audit receives every row; callers attach stdout and file sinks.
	// Provision registers every secret it reads with it, so no row, log
	// line or error text of the run holds one (Audit.Scrub).
	Audit *audit.Log
	// Log receives the human [SUCCESS]/[ERROR] lines.
	Log io.Writer
	// Mask is called with every secret value as soon as it is read, so the
	// Actions runtime can register it with add-mask. Redaction is
	// provision's own (Audit): Mask only tells the caller.
	Mask func(secret string)

	// Secrets defaults to AWS Secrets Manager in Region.
	Secrets SecretSource
	// MasterEndpoint (--db-host, --db-port, --db-name) overrides the
	// master secret's host, port and dbname; an RDS-managed master secret
	// (username and password only) takes them from here, the tfvars
	// (rds_endpoint, rds_port, database_name) or RDS.
	MasterEndpoint secrets.Endpoint
	// RDS finds the instance of an RDS-managed master secret
	// (DescribeDBInstances); defaults to the RDS API in Region, called only
	// when the endpoint is still incomplete.
	RDS secrets.InstanceFinder
	// Tracer observes every PostgreSQL query (benchmarks count round
	// trips). Connections run concurrently, so it must be safe for
	// concurrent use.
	Tracer pgx.QueryTracer
	// Parallel bounds the connections open at once for the work inside
	// databases (reading their privileges, granting): default
	// DefaultParallel; 1 runs it serially. The master's session, which
	// holds the advisory lock, is one more.
	Parallel int

	// lockWait is every session's lock_timeout: sessionLockTimeout; the
	// tests shorten it.
	lockWait time.Duration
}

// Defaults of the time bounds and the connections.
const (
	DefaultLockTimeout      = 10 * time.Minute
	DefaultStatementTimeout = 5 * time.Minute
	DefaultParallel         = 8
	// MaxParallel bounds Parallel: each is a connection on the instance.
	MaxParallel = 64
)

// An OptionError is one option Validate refuses, named as the Options
// field and as the command line's flag, so each front end can say it in
// its own words (the action names its input).
type OptionError struct {
	Field string // Options field: Env, Mode, SSLMode, Parallel, LockTimeout, StatementTimeout, MasterEndpoint.Port
	Flag  string // the command line's flag: --env
	Value string // the value refused, as the flag shows it; "" when missing
	Want  string // what the option takes
}

func (e *OptionError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s is required: %s", e.Flag, e.Want)
	}
	return fmt.Sprintf("invalid %s %s: %s", e.Flag, e.Value, e.Want)
}

// Validate fills in the defaults of the options left zero and checks
// every option, returning each problem as an *OptionError (errors.Join):
// the one place where provision's options are defaulted and checked.
// Calling it again changes nothing.
func (o *Options) Validate() error {
	var errs []error
	switch err := naming.CheckEnvironment(o.Env); {
	case o.Env == "":
		errs = append(errs, &OptionError{Field: "Env", Flag: "--env", Want: "dev, test, staging or prod"})
	case err != nil:
		errs = append(errs, &OptionError{Field: "Env", Flag: "--env", Value: strconv.Quote(o.Env), Want: err.Error()})
	}
	if o.Mode == "" {
		o.Mode = tfvars.ModeAuto
	}
	if _, err := tfvars.ParseMode(string(o.Mode)); err != nil {
		errs = append(errs, &OptionError{Field: "Mode", Flag: "--rds-mode", Value: strconv.Quote(string(o.Mode)), Want: "want auto, coupled or standalone"})
	}
	o.RepoRoot = cmp.Or(o.RepoRoot, ".")
	o.SecretPrefix = cmp.Or(o.SecretPrefix, naming.DefaultSecretPrefix)
	if o.MasterSecret == "" && o.Env != "" {
		o.MasterSecret = naming.MasterSecretPath(o.SecretPrefix, o.Env)
	}
	o.BuildID = cmp.Or(o.BuildID, audit.DefaultBuildID)
	o.RunID = cmp.Or(o.RunID, audit.DefaultRunID)
	o.SSLMode = cmp.Or(o.SSLMode, pgsession.DefaultSSLMode)
	if err := pgsession.CheckSSLMode(o.SSLMode); err != nil {
		errs = append(errs, &OptionError{Field: "SSLMode", Flag: "--sslmode", Value: strconv.Quote(o.SSLMode), Want: "want one of " + strings.Join(pgsession.SSLModes, ", ")})
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if err := checkTimeout("LockTimeout", o.LockTimeout); err != nil {
		errs = append(errs, err)
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if err := checkTimeout("StatementTimeout", o.StatementTimeout); err != nil {
		errs = append(errs, err)
	}
	if o.Parallel == 0 {
		o.Parallel = DefaultParallel
	}
	if err := CheckParallel(o.Parallel); err != nil {
		errs = append(errs, err)
	}
	if p := o.MasterEndpoint.Port; p < 0 || p > 65535 {
		errs = append(errs, &OptionError{Field: "MasterEndpoint.Port", Flag: "--db-port", Value: strconv.Itoa(p), Want: "want a port from 1 to 65535"})
	}
	if o.lockWait <= 0 {
		o.lockWait = sessionLockTimeout
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
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
	return errors.Join(errs...)
}

// CheckParallel refuses a number of connections outside 1..MaxParallel.
// Validate applies it to a Parallel other than 0 (the default); a front
// end applies it to the number a person typed, where 0 is not the default
// but a mistake.
func CheckParallel(n int) error {
	if n < 1 || n > MaxParallel {
		return &OptionError{Field: "Parallel", Flag: "--parallel", Value: strconv.Itoa(n),
			Want: fmt.Sprintf("want a number from 1 (serial) to %d", MaxParallel)}
	}
	return nil
}

// checkTimeout refuses a time bound that is not positive (field is
// LockTimeout or StatementTimeout); Validate applies it to a bound other
// than 0, the default.
func checkTimeout(field string, d time.Duration) error {
	if d > 0 {
		return nil
	}
	flag := map[string]string{"LockTimeout": "--lock-timeout", "StatementTimeout": "--statement-timeout"}[field]
	return &OptionError{Field: field, Flag: flag, Value: d.String(), Want: "must be positive, e.g. 10m"}
}
