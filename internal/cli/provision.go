package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

const provisionUsage = `Usage: rds-provision provision --env ENV [flags]

Creates the PostgreSQL roles, databases and grants listed in the
environment's application_databases (Terraform tfvars), idempotently, as the
RDS master user. Writes the CSV audit to standard output and human log lines
([SUCCESS], [NO_CHANGE], [WARNING], [ERROR], [DRY-RUN]) to standard error.

The tfvars file is --tfvars when given; otherwise it is found under
--repo-root for --env with --rds-mode:
  coupled     envs/<env>/terraform.tfvars, rds_config.application_databases
  standalone  envs/<env>-rds/terraform.tfvars, top-level application_databases
  auto        coupled when rds_config.enabled = true, else standalone

Secrets (AWS Secrets Manager, default credential chain; the SDK's own
settings apply, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER):
  master  <prefix>/<env>/rds/master  JSON: host, port, username, password, dbname
  app     <prefix>/<env>/<key>/postgres (or the entry's secret_name)  JSON: password[, username]

Exit status: 0 when no row is an error (warnings included), 1 when any is,
2 for a usage error.

Flags:
`

func runProvision(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var (
		opts        provision.Options
		mode        string
		auditOutput string
	)
	fs.StringVar(&opts.Env, "env", "", "environment: dev, test, staging or prod; a plain name ^[a-z0-9][a-z0-9-]{0,30}$ (required)")
	fs.StringVar(&opts.TfvarsPath, "tfvars", "", "path to terraform.tfvars with application_databases (default: located under --repo-root)")
	fs.StringVar(&opts.RepoRoot, "repo-root", ".", "infra repository root used to locate the tfvars when --tfvars is not given")
	fs.StringVar(&mode, "rds-mode", "auto", "auto, coupled or standalone: where application_databases lives")
	fs.StringVar(&opts.MasterSecret, "master-secret", "", "Secrets Manager id of the master credentials (default <prefix>/<env>/rds/master)")
	fs.StringVar(&opts.SecretPrefix, "secret-prefix", "goldenpath", "prefix of the secret paths")
	fs.StringVar(&opts.BuildID, "build-id", "manual", "build ID for the audit trail")
	fs.StringVar(&opts.RunID, "run-id", "local", "CI run ID for the audit trail")
	fs.StringVar(&opts.Region, "region", "", "AWS region (default: aws_region in the tfvars, else eu-west-2)")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "preview without executing: reads tfvars and secrets, changes nothing, shows every problem")
	fs.BoolVar(&opts.RequireApproval, "require-approval", false, "require ALLOW_DB_PROVISION=true for environments other than dev")
	fs.BoolVar(&opts.NoFailFast, "no-fail-fast", false, "continue with later databases after a failure (default: stop at the first)")
	fs.StringVar(&opts.SSLMode, "sslmode", "verify-full", "PostgreSQL sslmode: disable, allow, prefer, require, verify-ca, verify-full")
	fs.StringVar(&opts.SSLRootCert, "sslrootcert", "", "CA bundle for verify-ca/verify-full, e.g. the RDS global bundle (global-bundle.pem)")
	fs.BoolVar(&opts.SkipPreflight, "skip-preflight", false, "skip the DNS and TCP checks before connecting (skipped anyway inside Kubernetes)")
	fs.StringVar(&auditOutput, "audit-output", "", "also append the CSV rows to FILE (header written when the file is new)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), provisionUsage)
		printFlags(fs.Output(), fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if opts.Env == "" {
		return usageErrorf("--env is required (dev, test, staging, prod)")
	}
	if err := naming.CheckEnvironment(opts.Env); err != nil {
		return usageErrorf("--env %q: %v", opts.Env, err)
	}
	var err error
	if opts.Mode, err = tfvars.ParseMode(mode); err != nil {
		return usageErrorf("--rds-mode: %v", err)
	}
	if err := provision.CheckSSLMode(opts.SSLMode); err != nil {
		return usageErrorf("%v", err)
	}
	opts.Getenv, opts.Now, opts.Log = env.Getenv, env.Now, env.Stderr

	opts.Audit = audit.NewLog()
	if err := opts.Audit.AddSink(env.Stdout, true); err != nil {
		return err
	}
	if auditOutput != "" {
		f, header, err := audit.OpenAppend(auditOutput)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := opts.Audit.AddSink(f, header); err != nil {
			return err
		}
	}
	_, err = provision.Run(ctx, opts)
	return provisionError(err)
}

// provisionError maps the mode's errors onto exit codes: failed rows were
// already logged one by one.
func provisionError(err error) error {
	if errors.Is(err, provision.ErrActionsFailed) {
		return ErrFailedRows
	}
	return err
}
