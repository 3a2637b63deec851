package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/goldenpath/rds-provision/internal/request"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// errInvalidRequest is returned after each field problem was printed.
var errInvalidRequest = errors.New("the request is invalid; nothing was changed")

// requestOptions is what the request command parsed: the request's
// options, with the GitHub client when the files go through the API.
type requestOptions struct {
	Request request.Options
}

// runRequest validates a database request, edits the catalog and tfvars,
// and opens a pull request (or prints the diff, or writes locally).
func runRequest(ctx context.Context, args []string, env Env) error {
	return requestCommand(ctx, args, env, requestRun)
}

// requestCommand parses the request command's flags (and RDS_MODE,
// GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL) into requestOptions and
// hands them to runF: requestRun, or in flag tests a function that keeps
// them, so those tests call no GitHub and write no file.
func requestCommand(ctx context.Context, args []string, env Env, runF func(context.Context, *requestOptions) error) error {
	var form request.Form
	var repoRoot, mode, prefix string
	var dryRun, local bool
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&form.RequestType, "request-type", request.TypeCreate, "what to ask for: create (a database and its owner role), grant (a new role's editor or reader access to an existing database), change-access (an editor or reader's level), retire (a role; the owner's retires the database)")
	fs.StringVar(&form.DatabaseName, "database-name", "", "PostgreSQL database name: ^[a-z][a-z0-9_]{2,62}$, not reserved nor the instance's own (required)")
	fs.StringVar(&form.Username, "username", "", "PostgreSQL role: ^[a-z][a-z0-9_]{2,30}$, not postgres/rdsadmin/rdstopmgr/rdsrepladmin/rds_*/pg_*/public/none/current_user/session_user/current_role nor the master user (required)")
	fs.StringVar(&form.AccessLevel, "access-level", "", "the role's level: owner for create (empty means owner); editor or reader for grant and change-access (required there); not used by retire")
	fs.StringVar(&form.Owner, "owner", "", "team, e.g. app-team: the owning team (create), the team the access is for (grant); required by both")
	fs.StringVar(&form.User, "user", "", "requesting GitHub login, e.g. daniel-deans: lowercase letters, digits, single hyphens inside, at most 39; in GitHub Actions the dispatcher's own unless a bot dispatched (required)")
	fs.StringVar(&form.Domain, "domain", "", "business domain, e.g. catalog, platform-core (create: required)")
	fs.StringVar(&form.Environment, "environment", "", "target environment: dev, test, staging or prod (required)")
	fs.StringVar(&form.Risk, "risk", "", "data sensitivity: none, low, medium, high or access; sets the secret's rotation period (create: required)")
	fs.StringVar(&form.Size, "size", "", "size tier: small, medium, large or xlarge; dev allows only small; with rds_instances in the tfvars, the tier of the instance the database is placed on (create: required)")
	fs.StringVar(&form.InitialSchema, "initial-schema", request.DefaultInitialSchema, "create: schema template provision applies once as the app role: none, basic-app (users, settings, audit_log) or event-sourcing (append-only events, projection checkpoints, snapshots)")
	fs.StringVar(&form.BaseBranch, "base-branch", request.DefaultBaseBranch, "branch the pull request targets and the files are read from")
	fs.StringVar(&repoRoot, "repo-root", ".", "infra repo working tree, for --local and --dry-run without GitHub")
	fs.StringVar(&mode, "rds-mode", "auto", "tfvars layout: auto, coupled (envs/<env>) or standalone (envs/<env>-rds); also RDS_MODE")
	fs.StringVar(&prefix, "secret-prefix", request.DefaultSecretPrefix, "first segment of secret paths: <prefix>/<env>/<key>/postgres, the key being the database name (create) or the username (grant)")
	fs.BoolVar(&dryRun, "dry-run", false, "print the unified diff and the pull request body; change nothing")
	fs.BoolVar(&local, "local", false, "write the edits into --repo-root; no GitHub call, no pull request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			requestUsage(env.Stdout, fs)
			return err
		}
		return usageErrorf("request: %v (see rds-provision request --help)", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("request: unexpected argument %q (see rds-provision request --help)", fs.Arg(0))
	}
	if dryRun && local {
		return usageErrorf("request: --dry-run and --local exclude each other")
	}
	if !isSet(fs, "rds-mode") && env.Getenv != nil && env.Getenv("RDS_MODE") != "" {
		mode = env.Getenv("RDS_MODE")
	}
	m, err := tfvars.ParseMode(mode)
	if err != nil {
		return usageErrorf("request: --rds-mode: %v", err)
	}

	opts := request.Options{
		Form: form, RepoRoot: repoRoot, Mode: m, SecretPrefix: prefix,
		DryRun: dryRun, Local: local, Now: env.Now, Stdout: env.Stdout, Stderr: env.Stderr,
	}
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	// In a GitHub Actions step the runner says who dispatched; the user
	// must be that person unless a bot did.
	if getenv("GITHUB_ACTIONS") == "true" {
		opts.Dispatch = request.Dispatch{Actor: getenv("GITHUB_ACTOR"), TriggeringActor: getenv("GITHUB_TRIGGERING_ACTOR")}
	}
	if !local && (!dryRun || getenv("GITHUB_TOKEN") != "") {
		client, err := githubClient(getenv, "request: opening a pull request", "request: ")
		if err != nil {
			return err
		}
		opts.GitHub = client
	}
	return runF(ctx, &requestOptions{Request: opts})
}

// requestRun runs the request and says what it did on standard error (the
// pull request's address, the diff of a dry run on standard output).
func requestRun(ctx context.Context, o *requestOptions) error {
	opts := o.Request
	local, dryRun := opts.Local, opts.DryRun
	res, err := request.Run(ctx, opts)
	if v, ok := request.IsValidation(err); ok {
		for _, p := range v.Problems {
			fmt.Fprintf(opts.Stderr, "[ERROR] %s: %s %s\n", p.Field, p.Value, p.Rule)
		}
		return errInvalidRequest
	}
	if err != nil {
		return err
	}
	p := res.Plan
	f := p.Form
	if len(p.Notices) > 0 {
		var n []string
		for _, x := range p.Notices {
			n = append(n, x.String())
		}
		fmt.Fprintf(opts.Stderr, "[INFO] Not used by request_type %s, so ignored: %s\n", f.RequestType, strings.Join(n, ", "))
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(opts.Stderr, "[INFO] %s already holds the %s request for database %s (user %s) in %s; nothing to do\n", where(local, dryRun, f.BaseBranch), f.RequestType, f.DatabaseName, f.Username, f.Environment)
	case dryRun:
		fmt.Fprintf(opts.Stderr, "[DRY-RUN] Would change %s and open %q\n", strings.Join(res.FilesChanged, ", "), p.Title)
		if p.Review.Team != "" {
			fmt.Fprintf(opts.Stderr, "[DRY-RUN] Would ask team %s to review\n", p.Review.Team)
		}
	case local:
		fmt.Fprintf(opts.Stderr, "[INFO] %s in %s: %s\n", localDone(p), f.Environment, strings.Join(res.FilesChanged, ", "))
	default:
		verb := "Updated"
		if res.PRCreated {
			verb = "Opened"
		}
		fmt.Fprintf(opts.Stderr, "[INFO] %s pull request #%d from %s: %s\n", verb, res.PRNumber, res.Branch, p.Title)
		fmt.Fprintln(opts.Stdout, res.PRURL)
	}
	switch r := p.Review; {
	case r.Refused != "":
		fmt.Fprintf(opts.Stderr, "[WARNING] The owning team %s could not be asked to review pull request #%d: %s\n", r.Team, res.PRNumber, r.Refused)
	case r.Requested:
		fmt.Fprintf(opts.Stderr, "[INFO] Asked the owning team %s to review\n", r.Team)
	case r.Why != "" && res.Changed:
		fmt.Fprintf(opts.Stderr, "[WARNING] No owning team to ask for review: %s\n", r.Why)
	}
	return nil
}

// localDone says what a --local request wrote.
func localDone(p *request.Plan) string {
	f := p.Form
	switch f.RequestType {
	case request.TypeGrant:
		return fmt.Sprintf("Granted %s on %s to %s", f.AccessLevel, f.DatabaseName, f.Username)
	case request.TypeChangeAccess:
		return fmt.Sprintf("Changed %s on %s from %s to %s", f.Username, f.DatabaseName, p.PreviousLevel, f.AccessLevel)
	case request.TypeRetire:
		if f.Username == p.OwnerUsername {
			return fmt.Sprintf("Retired database %s (every entry)", f.DatabaseName)
		}
		return fmt.Sprintf("Retired %s on %s", f.Username, f.DatabaseName)
	}
	return fmt.Sprintf("Added database %s (user %s)", f.DatabaseName, f.Username)
}

func where(local, dryRun bool, base string) string {
	if local {
		return "the working tree"
	}
	return "branch " + base
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func requestUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: rds-provision request --database-name NAME --username USER --owner TEAM --user LOGIN
         --domain DOMAIN --environment ENV --risk RISK --size SIZE [flags]
       rds-provision request --request-type grant --database-name NAME --username USER
         --access-level editor|reader --owner TEAM --user LOGIN --environment ENV [flags]
       rds-provision request --request-type change-access --database-name NAME --username USER
         --access-level editor|reader --user LOGIN --environment ENV [flags]
       rds-provision request --request-type retire --database-name NAME --username USER
         --user LOGIN --environment ENV [flags]

Validates a request, edits the environment's tfvars (application_databases)
and RDS catalog, and opens one pull request on --base-branch. Every invalid
field is reported; nothing changes then.

Request types:
  create         add a database and its owner role (the default)
  grant          add a role with editor or reader access to a database an
                 owner entry lists; its secret is <prefix>/<env>/<username>/postgres
  change-access  change an editor or reader's access_level in place
  retire         set retired = true on the role's entry; the owner's retires
                 every entry of the database (provision: NOLOGIN, data kept)
grant, change-access and retire ask the database's owning team (the
catalog's owner) to review the pull request. Flags a type does not use are
checked, then ignored with a note.

Modes:
  default    read the files at the head of --base-branch through the GitHub API,
             commit both edits on it and open or update the pull request
             (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL)
  --dry-run  print the diff and the pull request body (reads --repo-root, or
             GitHub when GITHUB_TOKEN is set)
  --local    write the edits into --repo-root: all files or none, under a lock
             on the repo (.git/rds-provision.lock); every path must resolve
             inside --repo-root

Several instances: when the environment's tfvars declares rds_instances
(NAME = { tier, max_databases[, master_secret] }), create places the
database on an instance whose tier is --size and that holds fewer than
max_databases databases, the fewest first, ties by name, and writes
instance = "NAME" into the tfvars and catalog entries; no such instance
is an invalid size, nothing written. A database never moves: a rerun keeps
its instance, and grant, change-access and retire follow it.

Enum lists can be replaced by schemas/metadata/enums.yaml in the infra repo.

Flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%-15s %s%s\n", f.Name, f.Usage, def)
	})
}
