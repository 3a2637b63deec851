package cli

import (
	"context"
	"flag"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/rotate"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

const rotateUsage = `Usage: rds-provision rotate --env ENV (--app KEY | --due) [--dry-run] [flags]

Rotates application passwords with Secrets Manager's rotation protocol
(replacing RB-0029's manual rotation), as the RDS master user, under the
advisory lock provision takes, so the two never interleave:

  createSecret  a new password from GetRandomPassword (40 letters and
                digits), stored as a new version labelled AWSPENDING
  setSecret     the role's SCRAM-SHA-256 verifier set from it, once the role
                is shown to accept the AWSCURRENT password
  testSecret    a login as the role with it, into its database
  finishSecret  AWSCURRENT moved to the new version (checked to log in
                again first); the old version becomes AWSPREVIOUS

Each step is idempotent, and a run resumes a rotation an earlier run left
in progress (a version AWSPENDING that is not AWSCURRENT) before anything
else. Between setSecret and finishSecret the role has the AWSPENDING
password only (PostgreSQL keeps one password per role); a run keeps that to
one login and one API call, and a run killed in it leaves it to the next.

--app KEY rotates one application_databases entry, due or not. --due
rotates every entry whose last rotation (the newest of the secret's
LastRotatedDate and its AWSCURRENT version's creation) is older than its
risk tier's period: 14 days for high and access, 30 for none, low and
medium, read from the catalog entry's metadata.risk (an entry without one
gets 14 days). Secrets that Secrets Manager rotates itself (RotateSecret
with a rotation function) are skipped with a warning.

--dry-run reads the secrets only and lists what is due and when.

Writes the CSV audit (action rotate_secret, the step reached) to standard
output and [SUCCESS]/[NO_CHANGE]/[WARNING]/[ERROR]/[DRY-RUN] lines to
standard error. No password is ever printed.

Exit status: 0 when no row is an error, 1 when any is, 2 for a usage error.

Flags:
`

func runRotate(ctx context.Context, args []string, env Env) error {
	opts, auditOutput, err := parseRotate(args, env)
	if err != nil {
		return err
	}
	opts.Now, opts.Log = env.Now, env.Stderr
	var closeAudit func()
	if opts.Audit, closeAudit, err = auditLog(env, auditOutput); err != nil {
		return err
	}
	defer closeAudit()
	_, err = rotate.Run(ctx, opts)
	return err
}

// parseRotate parses rotate's flags into the mode's options.
func parseRotate(args []string, env Env) (rotate.Options, string, error) {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var (
		opts        rotate.Options
		mode        string
		auditOutput string
	)
	fs.StringVar(&opts.Env, "env", "", "environment: dev, test, staging or prod; a plain name ^[a-z0-9][a-z0-9-]{0,30}$ (required)")
	fs.StringVar(&opts.App, "app", "", "rotate the application_databases entry with this key, due or not")
	fs.BoolVar(&opts.Due, "due", false, "rotate every entry whose rotation period (by catalog risk) has passed")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "list what is due and when; change nothing (reads the secrets only)")
	fs.StringVar(&opts.TfvarsPath, "tfvars", "", "path to terraform.tfvars with application_databases (default: located under --repo-root)")
	fs.StringVar(&opts.RepoRoot, "repo-root", ".", "infra repository root: the tfvars (when --tfvars is not given) and the catalog with each entry's risk")
	fs.StringVar(&mode, "rds-mode", "auto", "auto, coupled or standalone: where application_databases lives")
	fs.StringVar(&opts.MasterSecret, "master-secret", "", "Secrets Manager id of the master credentials (default <prefix>/<env>/rds/master)")
	fs.StringVar(&opts.SecretPrefix, "secret-prefix", naming.DefaultSecretPrefix, "prefix of the secret paths")
	fs.StringVar(&opts.BuildID, "build-id", audit.DefaultBuildID, "build ID for the audit trail")
	fs.StringVar(&opts.RunID, "run-id", audit.DefaultRunID, "CI run ID for the audit trail")
	fs.StringVar(&opts.Region, "region", "", "AWS region (default: aws_region in the tfvars, else eu-west-2)")
	addMasterEndpointFlags(fs, &opts.MasterEndpoint)
	fs.StringVar(&opts.SSLMode, "sslmode", pgsession.DefaultSSLMode, "PostgreSQL sslmode: disable, allow, prefer, require, verify-ca, verify-full")
	fs.StringVar(&opts.SSLRootCert, "sslrootcert", "", "CA bundle for verify-ca/verify-full, e.g. the RDS global bundle (global-bundle.pem)")
	fs.DurationVar(&opts.LockTimeout, "lock-timeout", rotate.DefaultLockTimeout, "how long to wait for a provision or rotate run's advisory lock")
	fs.DurationVar(&opts.StatementTimeout, "statement-timeout", rotate.DefaultStatementTimeout, "deadline of every statement and API call")
	fs.StringVar(&auditOutput, "audit-output", "", "also append the CSV rows to FILE (header written when the file is new)")
	if err := parseFlags(fs, args, rotateUsage); err != nil {
		return opts, "", err
	}
	switch {
	case opts.Env == "":
		return opts, "", usageErrorf("--env is required (dev, test, staging, prod)")
	case opts.App == "" && !opts.Due:
		return opts, "", usageErrorf("give --app KEY (one entry) or --due (every entry due by its risk tier)")
	case opts.App != "" && opts.Due:
		return opts, "", usageErrorf("--app and --due exclude each other: --app rotates one entry whether due or not")
	}
	if err := naming.CheckEnvironment(opts.Env); err != nil {
		return opts, "", usageErrorf("--env %q: %v", opts.Env, err)
	}
	if opts.App != "" {
		if err := naming.CheckKey(opts.App); err != nil {
			return opts, "", usageErrorf("--app %q: %v", opts.App, err)
		}
	}
	var err error
	if opts.Mode, err = tfvars.ParseMode(mode); err != nil {
		return opts, "", usageErrorf("--rds-mode: %v", err)
	}
	if err := pgsession.CheckSSLMode(opts.SSLMode); err != nil {
		return opts, "", usageErrorf("%v", err)
	}
	if err := checkMasterEndpoint(opts.MasterEndpoint); err != nil {
		return opts, "", err
	}
	if opts.LockTimeout <= 0 || opts.StatementTimeout <= 0 {
		return opts, "", usageErrorf("--lock-timeout and --statement-timeout must be positive durations, e.g. 10m")
	}
	return opts, auditOutput, nil
}
