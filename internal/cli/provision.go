package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/report"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

const provisionUsage = `Usage: rds-provision provision --env ENV [flags]

Creates the PostgreSQL roles, databases and grants listed in the
environment's application_databases (Terraform tfvars), idempotently, as the
RDS master user. Writes the CSV audit to standard output and human log lines
([SUCCESS], [NO_CHANGE], [WARNING], [ERROR], [DRY-RUN]) to standard error.

It works as a plan: it reads the instance once (roles, databases, and in
each target database the privileges of database, schema public, tables,
sequences and the owner's default privileges), computes the steps that
bring it to what the entries say, and executes exactly those steps under an
advisory lock: every password change in one batch, the databases' work on
up to --parallel connections at once (rows stay in tfvars order). Access
levels converge both ways: what a level lacks is granted, what it no longer
includes is revoked, now and for tables the owner creates later. A converged rerun sends only the password ALTER ROLE.
Roles no entry names are never touched; nothing is ever dropped.

--dry-run reads the instance read-only (no lock, no change) and reports the
same plan: [DRY-RUN] Would ... for what would change, [NO_CHANGE] for what
is in place, [ERROR] for what the real run would refuse (exit 1). An app
secret that Terraform has not created yet is a warning. When the instance
cannot be reached, it warns and prints the offline preview.

Adopting an existing role is a change the plan shows ("Would adopt existing
role etl_user"). A role that owns databases, or through any role it belongs
to owns objects or holds privileges in databases, that its entries do not
name is only taken over when its entry lists them: adopt_owned_databases =
["payroll"]. Each role's comment records the secret its password comes
from, so pointing an entry at another secret_name is a change too.

An owner entry's initial_schema = "<template>" applies that template (or its
newer version) in the database, in a session logged in as the owner role
itself, after every entry's grants (apply_schema row); objects it did not
create are left alone with a warning. Its lock is tried, not waited for.

Tenant databases are hostile ground: each owner controls its database's
settings, schema public, tables, views and triggers. Every session sets its
own search_path (pg_catalog), role, timeouts (lock_timeout 30s) and
transaction mode in the startup packet, so no ALTER DATABASE/ROLE ... SET
applies; queries in tenant databases read system catalogs only and name
pg_catalog for every function and operator; the marker and the template
run only in the owner's own session.

A failure caused by one entry's database (its settings, connection limit,
a held template lock, a squatted name) fails that entry and the entries on
the same database, one error row each; the others still run. Fail-fast
(the default) stops at an instance-level failure (the master's session,
the advisory lock, the instance read, a role change refused to the
master) or an entry the plan refuses, and says which; --no-fail-fast goes
on after those too.

The tfvars file is --tfvars when given; otherwise it is found under
--repo-root for --env with --rds-mode:
  coupled     envs/<env>/terraform.tfvars, rds_config.application_databases
  standalone  envs/<env>-rds/terraform.tfvars, top-level application_databases
  auto        coupled when rds_config.enabled = true, else standalone

Secrets (AWS Secrets Manager, default credential chain; the SDK's own
settings apply, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER):
  master  <prefix>/<env>/rds/master  JSON: host, port, username, password, dbname
          (RDS-managed, rds!db-...: username and password; the endpoint then
          comes from --db-host/--db-port/--db-name, the tfvars rds_endpoint,
          rds_port and database_name, or DescribeDBInstances)
  app     <prefix>/<env>/<key>/postgres (or the entry's secret_name)  JSON: password[, username]

Exit status: 0 when no row is an error (warnings included), 1 when any is,
2 for a usage error.

Flags:
`

// provisionOptions is what the provision command parsed: the mode's
// options and the command's own outputs.
type provisionOptions struct {
	Provision provision.Options
	// AuditOutput also receives the CSV rows (--audit-output).
	AuditOutput string
	// SummaryOutput receives the Markdown report (--summary-output).
	SummaryOutput string
	// Stdout receives the CSV.
	Stdout io.Writer
}

func runProvision(ctx context.Context, args []string, env Env) error {
	return provisionCommand(ctx, args, env, provisionRun)
}

// provisionCommand parses the provision command's flags into
// provisionOptions and hands them to runF: provisionRun, or in flag tests
// a function that keeps them (cli/cli's runF seam), so those tests start
// no PostgreSQL, AWS or GitHub.
func provisionCommand(ctx context.Context, args []string, env Env, runF func(context.Context, *provisionOptions) error) error {
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var (
		opts        provision.Options
		mode        string
		auditOutput string
		summary     string
	)
	fs.StringVar(&opts.Env, "env", "", "environment: dev, test, staging or prod; a plain name ^[a-z0-9][a-z0-9-]{0,30}$ (required)")
	fs.StringVar(&opts.TfvarsPath, "tfvars", "", "path to terraform.tfvars with application_databases (default: located under --repo-root)")
	fs.StringVar(&opts.RepoRoot, "repo-root", ".", "infra repository root used to locate the tfvars when --tfvars is not given")
	fs.StringVar(&mode, "rds-mode", "auto", "auto, coupled or standalone: where application_databases lives")
	fs.StringVar(&opts.MasterSecret, "master-secret", "", "Secrets Manager id of the master credentials (default <prefix>/<env>/rds/master)")
	fs.StringVar(&opts.SecretPrefix, "secret-prefix", naming.DefaultSecretPrefix, "prefix of the secret paths")
	fs.StringVar(&opts.BuildID, "build-id", audit.DefaultBuildID, "build ID for the audit trail")
	fs.StringVar(&opts.RunID, "run-id", audit.DefaultRunID, "CI run ID for the audit trail")
	fs.StringVar(&opts.Region, "region", "", "AWS region (default: aws_region in the tfvars, else eu-west-2)")
	addMasterEndpointFlags(fs, &opts.MasterEndpoint)
	fs.BoolVar(&opts.DryRun, "dry-run", false, "show the plan without executing it: reads the instance read-only, changes nothing, shows every problem")
	fs.BoolVar(&opts.RequireApproval, "require-approval", false, "require ALLOW_DB_PROVISION=true for environments other than dev")
	fs.BoolVar(&opts.NoFailFast, "no-fail-fast", false, "continue with later databases after an instance-level failure or a refused entry (default: stop there; a failure inside one database never stops the run)")
	fs.StringVar(&opts.SSLMode, "sslmode", pgsession.DefaultSSLMode, "PostgreSQL sslmode: disable, allow, prefer, require, verify-ca, verify-full")
	fs.StringVar(&opts.SSLRootCert, "sslrootcert", "", "CA bundle for verify-ca/verify-full, e.g. the RDS global bundle (global-bundle.pem)")
	fs.BoolVar(&opts.SkipPreflight, "skip-preflight", false, "skip the DNS and TCP checks before connecting (skipped anyway inside Kubernetes)")
	fs.DurationVar(&opts.LockTimeout, "lock-timeout", provision.DefaultLockTimeout, "how long to wait for another run's advisory lock (a lock held by any other role fails at once)")
	fs.DurationVar(&opts.StatementTimeout, "statement-timeout", provision.DefaultStatementTimeout, "deadline of every statement, so a frozen server or network fails the run instead of hanging it")
	fs.IntVar(&opts.Parallel, "parallel", provision.DefaultParallel, fmt.Sprintf("connections open at once for the work inside databases, besides the master's locked session: 1 is serial, at most %d; rows stay in tfvars order", provision.MaxParallel))
	fs.StringVar(&auditOutput, "audit-output", "", "also append the CSV rows to FILE (header written when the file is new)")
	fs.StringVar(&summary, "summary-output", "", "also write the run's report to `file` in Markdown, as the GitHub Action's job summary shows it (replaced whole)")
	if err := parseFlags(fs, args, provisionUsage); err != nil {
		return err
	}
	var err error
	if opts.Mode, err = tfvars.ParseMode(mode); err != nil {
		return usageErrorf("--rds-mode: %v", err)
	}
	// provision.Options reads 0 as "the default"; typed here, a 0 is a
	// mistake: no connection, no time bound.
	if opts.Parallel == 0 {
		return usageErrorf("%v", provision.CheckParallel(0))
	}
	if opts.LockTimeout <= 0 || opts.StatementTimeout <= 0 {
		return usageErrorf("--lock-timeout and --statement-timeout must be positive durations, e.g. 10m")
	}
	opts.Getenv, opts.Now, opts.Log = env.Getenv, env.Now, env.Stderr
	// Defaults and checks are provision's (Options.Validate), as for the
	// action and Run.
	if err := opts.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return runF(ctx, &provisionOptions{Provision: opts, AuditOutput: auditOutput, SummaryOutput: summary, Stdout: env.Stdout})
}

// provisionRun runs provision mode: the CSV on standard output and in
// --audit-output, the report in --summary-output.
func provisionRun(ctx context.Context, o *provisionOptions) error {
	opts := o.Provision
	if o.SummaryOutput != "" {
		// Known before the run, not after it.
		if fi, err := os.Stat(filepath.Dir(o.SummaryOutput)); err != nil || !fi.IsDir() {
			return usageErrorf("--summary-output %s: its directory does not exist", o.SummaryOutput)
		}
	}
	log := audit.NewLog()
	opts.Audit = log
	if err := log.AddSink(o.Stdout, true); err != nil {
		return err
	}
	if o.AuditOutput != "" {
		f, header, err := audit.OpenAppend(o.AuditOutput)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := log.AddSink(f, header); err != nil {
			return err
		}
	}
	res, err := provision.Run(ctx, opts)
	if o.SummaryOutput != "" {
		r := report.Provision{
			Environment: opts.Env, DryRun: opts.DryRun, Rows: log.Rows(),
			TfvarsPath: res.TfvarsPath, Mode: string(res.Mode), BuildID: opts.BuildID, RunID: opts.RunID,
			CSVWhere: "the command's standard output",
		}
		if o.AuditOutput != "" {
			r.CSVWhere = o.AuditOutput
		}
		if err != nil && !errors.Is(err, provision.ErrActionsFailed) {
			r.Err = log.Scrub(err.Error())
		}
		if werr := writeWhole(o.SummaryOutput, []byte(report.ProvisionSummary(r))); werr != nil {
			werr = fmt.Errorf("write --summary-output %s: %w", o.SummaryOutput, werr)
			if err == nil {
				return werr
			}
			fmt.Fprintf(opts.Log, "[ERROR] %v\n", werr)
		}
	}
	return provisionError(err)
}

// provisionError maps the mode's errors onto exit codes: failed rows were
// already logged one by one.
func provisionError(err error) error {
	if provision.Logged(err) {
		return audit.ErrActionsFailed
	}
	return err
}
