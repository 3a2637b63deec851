package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/changes"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/request"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The flag tests go through each command's runF seam (cli/cli's
// newCmdX(f, runF)): the options a command parsed are kept and nothing
// runs, so they start no PostgreSQL, AWS, GitHub or git.

// parsed runs command with args and a runF that keeps the options. called
// says whether runF ran: never after a usage error.
func parsed[O any](t *testing.T, command func(context.Context, []string, Env, func(context.Context, *O) error) error, getenv map[string]string, args ...string) (opts *O, env Env, err error) {
	t.Helper()
	env = Env{
		Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
		Getenv: func(k string) string { return getenv[k] },
		Now:    func() time.Time { return time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC) },
	}
	err = command(context.Background(), args, env, func(_ context.Context, o *O) error {
		if opts != nil {
			t.Error("runF ran twice")
		}
		opts = o
		return nil
	})
	return opts, env, err
}

// wantUsage checks a usage error that mentions want, and that runF never
// ran.
func wantUsage[O any](t *testing.T, opts *O, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want a usage error saying %q", err, want)
	}
	if opts != nil {
		t.Errorf("runF ran after a usage error with %+v", *opts)
	}
}

func TestProvisionFlags(t *testing.T) {
	// What --env alone gives: the runbook's defaults.
	defaults := provision.Options{
		Env: "dev", RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: "goldenpath", BuildID: "manual", RunID: "local",
		SSLMode: "verify-full", LockTimeout: provision.DefaultLockTimeout, StatementTimeout: provision.DefaultStatementTimeout,
		Parallel: provision.DefaultParallel,
	}
	with := func(edit func(*provision.Options)) provision.Options {
		o := defaults
		edit(&o)
		return o
	}
	// The command hands over options provision has defaulted and checked
	// (Options.Validate): compare what they mean, the effective options,
	// leaving out the seams (logs, clock, randomness, audit, mask), which
	// are not flags.
	effective := func(o provision.Options) provision.Options {
		t.Helper()
		if err := o.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", o, err)
		}
		return o
	}
	seams := cmpopts.IgnoreFields(provision.Options{}, "Getenv", "Now", "Log", "Random", "Audit", "Mask")
	// The flags' defaults are provision's own: --env alone means what
	// Options{Env: "dev"} means.
	if diff := cmp.Diff(effective(provision.Options{Env: "dev"}), effective(defaults), seams, cmpopts.IgnoreUnexported(provision.Options{})); diff != "" {
		t.Errorf("the flags' defaults are not provision's (-provision +flags):\n%s", diff)
	}
	tests := []struct {
		name          string
		args          []string
		want          provision.Options
		audit, report string
	}{
		{name: "defaults", args: []string{"--env", "dev"}, want: defaults},
		{
			name: "the runbook's command line",
			args: []string{"--env", "dev", "--tfvars", "envs/dev-rds/terraform.tfvars", "--master-secret", "goldenpath/dev/rds/master",
				"--build-id", "16-01-26-01", "--run-id", "12345678", "--region", "eu-west-2", "--dry-run", "--require-approval"},
			want: with(func(o *provision.Options) {
				o.TfvarsPath, o.MasterSecret, o.BuildID, o.RunID, o.Region = "envs/dev-rds/terraform.tfvars", "goldenpath/dev/rds/master", "16-01-26-01", "12345678", "eu-west-2"
				o.DryRun, o.RequireApproval = true, true
			}),
		},
		{
			name: "every other flag",
			args: []string{"--env", "prod", "--repo-root", "../infra", "--rds-mode", "coupled", "--secret-prefix", "acme",
				"--no-fail-fast", "--sslmode", "verify-ca", "--sslrootcert", "/ca.pem", "--skip-preflight", "--lock-timeout", "30s",
				"--statement-timeout", "1m", "--parallel", "3", "--audit-output", "audit.csv", "--summary-output", "summary.md"},
			want: with(func(o *provision.Options) {
				o.Env, o.RepoRoot, o.Mode, o.SecretPrefix = "prod", "../infra", tfvars.ModeCoupled, "acme"
				o.NoFailFast, o.SSLMode, o.SSLRootCert, o.SkipPreflight = true, "verify-ca", "/ca.pem", true
				o.LockTimeout, o.StatementTimeout, o.Parallel = 30*time.Second, time.Minute, 3
			}),
			audit: "audit.csv", report: "summary.md",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, env, err := parsed(t, provisionCommand, nil, tt.args...)
			if err != nil || got == nil {
				t.Fatalf("err = %v, runF ran: %v", err, got != nil)
			}
			if diff := cmp.Diff(effective(tt.want), got.Provision, seams, cmpopts.IgnoreUnexported(provision.Options{})); diff != "" {
				t.Errorf("provision.Options (-want +got):\n%s", diff)
			}
			if got.AuditOutput != tt.audit || got.SummaryOutput != tt.report {
				t.Errorf("audit output %q, summary output %q; want %q, %q", got.AuditOutput, got.SummaryOutput, tt.audit, tt.report)
			}
			// The process's seams come from Env: logs on stderr, CSV on stdout.
			if got.Provision.Log != env.Stderr || got.Stdout != env.Stdout || got.Provision.Getenv == nil || got.Provision.Now == nil {
				t.Error("Log, Stdout, Getenv or Now not taken from Env")
			}
		})
	}
	for _, tc := range []struct{ name, want string }{
		{"", "--env is required"},
		{"--env Dev", `--env "Dev"`},
		{"--env dev --rds-mode both", "--rds-mode"},
		{"--env dev --sslmode none", "invalid --sslmode"},
		{"--env dev --parallel 65", "--parallel 65"},
		{"--env dev --statement-timeout 0s", "must be positive"},
		{"--env dev --parallel 0", "--parallel 0"},
		{"--env dev --lock-timeout -1s", "must be positive"},
		{"--env dev --db-port 70000", "--db-port 70000"},
		{"--env dev extra", "unexpected arguments: extra"},
	} {
		t.Run("usage "+tc.name, func(t *testing.T) {
			got, _, err := parsed(t, provisionCommand, nil, strings.Fields(tc.name)...)
			wantUsage(t, got, err, tc.want)
		})
	}
	t.Run("help", func(t *testing.T) {
		got, env, err := parsed(t, provisionCommand, nil, "--help")
		if !errors.Is(err, flag.ErrHelp) || got != nil || !strings.Contains(env.Stdout.(*bytes.Buffer).String(), "--summary-output file\n") {
			t.Errorf("err %v, runF ran %v, help:\n%s", err, got != nil, env.Stdout)
		}
	})
}

func TestRequestFlags(t *testing.T) {
	form := []string{"--database-name", "inventory", "--username", "inventory_user", "--owner", "app-team", "--user", "daniel-deans",
		"--domain", "catalog", "--environment", "dev", "--risk", "medium", "--size", "small"}
	wantForm := request.Form{RequestType: request.TypeCreate, DatabaseName: "inventory", Username: "inventory_user", Owner: "app-team", User: "daniel-deans",
		Domain: "catalog", Environment: "dev", Risk: "medium", Size: "small",
		InitialSchema: request.DefaultInitialSchema, BaseBranch: request.DefaultBaseBranch}
	token := map[string]string{"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "goldenpath/infra"}
	ignore := cmpopts.IgnoreFields(request.Options{}, "Now", "Stdout", "Stderr", "GitHub")
	tests := []struct {
		name      string
		getenv    map[string]string
		args      []string
		want      request.Options
		viaGitHub bool
	}{
		{"local", nil, append([]string{"--local", "--repo-root", "/infra"}, form...),
			request.Options{Form: wantForm, RepoRoot: "/infra", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, Local: true}, false},
		{"dry run reads the working tree without a token", nil, append([]string{"--dry-run"}, form...),
			request.Options{Form: wantForm, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, DryRun: true}, false},
		{"dry run reads GitHub with a token", token, append([]string{"--dry-run"}, form...),
			request.Options{Form: wantForm, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, DryRun: true}, true},
		{"pull request, RDS_MODE", map[string]string{"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "goldenpath/infra", "RDS_MODE": "coupled"},
			append([]string{"--initial-schema", "basic-app", "--base-branch", "main", "--secret-prefix", "acme"}, form...),
			request.Options{Form: func() request.Form { f := wantForm; f.InitialSchema, f.BaseBranch = "basic-app", "main"; return f }(),
				RepoRoot: ".", Mode: tfvars.ModeCoupled, SecretPrefix: "acme"}, true},
		{"the flag wins over RDS_MODE", map[string]string{"RDS_MODE": "coupled"}, append([]string{"--local", "--rds-mode", "standalone"}, form...),
			request.Options{Form: wantForm, RepoRoot: ".", Mode: tfvars.ModeStandalone, SecretPrefix: request.DefaultSecretPrefix, Local: true}, false},
		{"a grant", nil, append([]string{"--local", "--request-type", "grant", "--access-level", "reader"}, form...),
			request.Options{Form: func() request.Form { f := wantForm; f.RequestType, f.AccessLevel = "grant", "reader"; return f }(),
				RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, Local: true}, false},
		{"in GitHub Actions, who dispatched", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "Daniel-Deans", "GITHUB_TRIGGERING_ACTOR": "sam-ops"},
			append([]string{"--local"}, form...),
			request.Options{Form: wantForm, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, Local: true,
				Dispatch: request.Dispatch{Actor: "Daniel-Deans", TriggeringActor: "sam-ops"}}, false},
		{"outside Actions GITHUB_ACTOR says nothing", map[string]string{"GITHUB_ACTOR": "jane-doe"}, append([]string{"--local"}, form...),
			request.Options{Form: wantForm, RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: request.DefaultSecretPrefix, Local: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, env, err := parsed(t, requestCommand, tt.getenv, tt.args...)
			if err != nil || got == nil {
				t.Fatalf("err = %v, runF ran: %v", err, got != nil)
			}
			if diff := cmp.Diff(tt.want, got.Request, ignore); diff != "" {
				t.Errorf("request.Options (-want +got):\n%s", diff)
			}
			if (got.Request.GitHub != nil) != tt.viaGitHub {
				t.Errorf("GitHub client set: %v, want %v", got.Request.GitHub != nil, tt.viaGitHub)
			}
			if got.Request.Stdout != env.Stdout || got.Request.Stderr != env.Stderr || got.Request.Now == nil {
				t.Error("Stdout, Stderr or Now not taken from Env")
			}
		})
	}
	for _, tc := range []struct {
		name   string
		getenv map[string]string
		args   []string
		want   string
	}{
		{"no token for a pull request", nil, form, "needs GITHUB_TOKEN and GITHUB_REPOSITORY"},
		{"dry run and local", nil, append([]string{"--dry-run", "--local"}, form...), "exclude each other"},
		{"bad mode", nil, append([]string{"--local", "--rds-mode", "x"}, form...), "--rds-mode"},
		{"bad RDS_MODE", map[string]string{"RDS_MODE": "x"}, append([]string{"--local"}, form...), "--rds-mode"},
		{"stray argument", nil, append([]string{"--local", "now"}, form...), `unexpected argument "now"`},
		{"bad repository", map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "no-slash"}, form, "request:"},
	} {
		t.Run("usage "+tc.name, func(t *testing.T) {
			got, _, err := parsed(t, requestCommand, tc.getenv, tc.args...)
			wantUsage(t, got, err, tc.want)
		})
	}
}

func TestChangesFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   changes.Options
		output string
		pairs  bool
	}{
		{"revisions", []string{"--before", "abc", "--after", "def", "--repo-root", "infra", "--output", "c.json"},
			changes.Options{Before: "abc", After: "def", RepoRoot: "infra"}, "c.json", false},
		{"after defaults to HEAD", []string{"--before", changes.ZeroRev}, changes.Options{Before: changes.ZeroRev, After: "HEAD", RepoRoot: "."}, "", false},
		{"directories", []string{"--before-dir", ".", "--after-dir", "."}, changes.Options{BeforeDir: ".", AfterDir: "."}, "", false},
		{"by instance", []string{"--by-instance", "--before-dir", ".", "--after-dir", "."}, changes.Options{BeforeDir: ".", AfterDir: "."}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, env, err := parsed(t, changesCommand, nil, tt.args...)
			if err != nil || got == nil {
				t.Fatalf("err = %v, runF ran: %v", err, got != nil)
			}
			if diff := cmp.Diff(tt.want, got.Changes); diff != "" {
				t.Errorf("changes.Options (-want +got):\n%s", diff)
			}
			if got.Output != tt.output || got.Stdout != env.Stdout || got.ByInstance != tt.pairs {
				t.Errorf("output %q (want %q), by instance %v (want %v), or Stdout not Env's", got.Output, tt.output, got.ByInstance, tt.pairs)
			}
		})
	}
	for _, tc := range []struct{ args, want string }{
		{"", "--before is required"},
		{"--before a --after-dir .", "--before cannot be used with --before-dir/--after-dir"},
		{"--before-dir .", "--after-dir is required"},
		{"--before-dir /no/such/dir --after-dir .", "--before-dir /no/such/dir"},
		{"--before a --output=", "--output must not be empty"},
	} {
		t.Run("usage "+tc.args, func(t *testing.T) {
			got, _, err := parsed(t, changesCommand, nil, strings.Fields(tc.args)...)
			wantUsage(t, got, err, tc.want)
		})
	}
}

func TestActionFlags(t *testing.T) {
	got, env, err := parsed(t, actionCommand, map[string]string{"INPUT_MODE": "provision"})
	if err != nil || got == nil {
		t.Fatalf("err = %v, runF ran: %v", err, got != nil)
	}
	// The job log is one stream: workflow commands and log lines.
	if got.Stdout != env.Stdout || got.Getenv("INPUT_MODE") != "provision" || got.Now == nil || got.Secrets != nil || got.HTTPClient != nil {
		t.Errorf("action.Options not the process's: %+v", *got)
	}
	opts, _, err := parsed(t, actionCommand, nil, "provision")
	wantUsage(t, opts, err, "action takes no arguments")
}

func TestCatalogStatusFlags(t *testing.T) {
	token := map[string]string{"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "goldenpath/infra"}
	ignore := cmpopts.IgnoreFields(catalogStatusOptions{}, "GitHub", "Stdin", "Stdout", "Stderr", "Now")
	tests := []struct {
		name      string
		getenv    map[string]string
		args      string
		want      catalogStatusOptions
		viaGitHub bool
	}{
		{"commit through GitHub", token, "--env dev --audit audit.csv",
			catalogStatusOptions{Env: "dev", Audit: "audit.csv", RepoRoot: ".", Mode: tfvars.ModeAuto, Branch: "development"}, true},
		{"local, every flag", map[string]string{"RDS_MODE": "coupled"},
			"--env prod --audit - --build-id 42 --run-id 7 --tfvars t.tfvars --repo-root ../infra --branch main --local",
			catalogStatusOptions{Env: "prod", Audit: "-", BuildID: "42", RunID: "7", Tfvars: "t.tfvars", RepoRoot: "../infra", Mode: tfvars.ModeCoupled, Branch: "main", Local: true}, false},
		{"dry run on the working tree", nil, "--env dev --audit a.csv --dry-run --rds-mode standalone",
			catalogStatusOptions{Env: "dev", Audit: "a.csv", RepoRoot: ".", Mode: tfvars.ModeStandalone, Branch: "development", DryRun: true}, false},
		{"dry run through GitHub", token, "--env dev --audit a.csv --dry-run",
			catalogStatusOptions{Env: "dev", Audit: "a.csv", RepoRoot: ".", Mode: tfvars.ModeAuto, Branch: "development", DryRun: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, env, err := parsed(t, catalogStatusCommand, tt.getenv, strings.Fields(tt.args)...)
			if err != nil || got == nil {
				t.Fatalf("err = %v, runF ran: %v", err, got != nil)
			}
			if diff := cmp.Diff(tt.want, *got, ignore, cmp.AllowUnexported(catalogStatusOptions{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if (got.GitHub != nil) != tt.viaGitHub || got.Stdin != env.Stdin || got.Stdout != env.Stdout || got.Stderr != env.Stderr || got.Now == nil {
				t.Errorf("GitHub client %v (want %v), or a stream not Env's", got.GitHub != nil, tt.viaGitHub)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		getenv map[string]string
		args   string
		want   string
	}{
		{"no env", nil, "--audit a.csv --local", "--env is required"},
		{"bad env", nil, "--env ../x --audit a.csv --local", `--env "../x"`},
		{"no audit", nil, "--env dev --local", "--audit is required"},
		{"dry run and local", nil, "--env dev --audit a.csv --local --dry-run", "exclude each other"},
		{"branch with two dots", token, "--env dev --audit a.csv --branch release..x", `--branch "release..x"`},
		{"no token", nil, "--env dev --audit a.csv", "needs GITHUB_TOKEN and GITHUB_REPOSITORY"},
		{"bad mode", nil, "--env dev --audit a.csv --local --rds-mode x", "--rds-mode"},
	} {
		t.Run("usage "+tc.name, func(t *testing.T) {
			got, _, err := parsed(t, catalogStatusCommand, tc.getenv, strings.Fields(tc.args)...)
			wantUsage(t, got, err, tc.want)
		})
	}
}
