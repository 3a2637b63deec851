package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/repofile"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

const catalogStatusUsage = `Usage: rds-provision catalog-status --env ENV --audit FILE [flags]

Records a provision run in the RDS catalog, as the GitHub Action does after
provisioning: each entry of the environment's application_databases that
the run's audit has rows for becomes status: active, or failed when one of
its rows is an error; an entry without rows (fail-fast stopped before it)
keeps its status. It edits the environment's catalog and, for an
environment other than dev, the entries of the shared rds-catalog.yaml
whose metadata.environment names it; last_updated moves, comments and
layout stay. Nothing is written when the catalog already says so.

  $ rds-provision provision --env dev --audit-output audit.csv ...
  $ rds-provision catalog-status --env dev --audit audit.csv

  $ rds-provision provision --env dev ... | rds-provision catalog-status --env dev --audit -

--audit is the CSV of the run: its standard output ("-" reads standard
input) or its --audit-output file. A file that several runs appended to is
read for the run of its last row of --env (that row's build_id and run_id),
or for --build-id and --run-id; runs that kept the default ids (manual,
local) cannot be told apart in one file, so give such a run a file of its
own.

The entries are those of the tfvars the run read: --tfvars, or the file
found under --repo-root for --env with --rds-mode, as provision finds it.

Modes:
  default    one commit on --branch through the GitHub API, signed by GitHub,
             that only moves the branch forward (GITHUB_TOKEN with contents:
             write, GITHUB_REPOSITORY, GITHUB_API_URL); the catalog files are
             read at the branch's head, at the repository's root; the
             commit's SHA goes to standard output
  --local    edit the catalog files under --repo-root: all of them or none,
             under the repo's lock (.git/rds-provision.lock)
  --dry-run  print the diff on standard output and change nothing (reads
             --repo-root, or the branch through GitHub when GITHUB_TOKEN is set)

Exit status: 0 when the catalog says so (written, or already), 1 when the
audit, the tfvars or the catalog cannot be read or written, 2 for a usage
error.

Flags:
`

// catalogStatusOptions is what the catalog-status command parsed.
type catalogStatusOptions struct {
	Env      string
	Audit    string // file, or "-" for Stdin
	BuildID  string // "" means the last row's
	RunID    string // "" means the last row's
	Tfvars   string // "" means located under RepoRoot
	RepoRoot string
	Mode     tfvars.Mode
	Branch   string
	Local    bool
	DryRun   bool
	// GitHub is set when the catalog is read (and written) through the
	// API.
	GitHub *gh.Client
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Now    func() time.Time
}

func runCatalogStatus(ctx context.Context, args []string, env Env) error {
	return catalogStatusCommand(ctx, args, env, catalogStatusRun)
}

// catalogStatusCommand parses the catalog-status command's flags into
// catalogStatusOptions and hands them to runF: catalogStatusRun, or in
// flag tests a function that keeps them.
func catalogStatusCommand(ctx context.Context, args []string, env Env, runF func(context.Context, *catalogStatusOptions) error) error {
	fs := flag.NewFlagSet("catalog-status", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	o := catalogStatusOptions{Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr, Now: env.Now}
	var mode string
	fs.StringVar(&o.Env, "env", "", "environment the run provisioned: dev, test, staging or prod (required)")
	fs.StringVar(&o.Audit, "audit", "", "the run's audit CSV: a `file`, or - for standard input (required)")
	fs.StringVar(&o.BuildID, "build-id", "", "the run's build ID, in an audit file of several runs (default: the last row's)")
	fs.StringVar(&o.RunID, "run-id", "", "the run's run ID, in an audit file of several runs (default: the last row's)")
	fs.StringVar(&o.Tfvars, "tfvars", "", "the tfvars the run read (default: located under --repo-root)")
	fs.StringVar(&o.RepoRoot, "repo-root", ".", "infra repository root: where the tfvars is located, and the catalog for --local and --dry-run")
	fs.StringVar(&mode, "rds-mode", "auto", "auto, coupled or standalone: where application_databases lives; also RDS_MODE")
	fs.StringVar(&o.Branch, "branch", "development", "branch the catalog is committed to through the GitHub API (the branch the run provisioned from)")
	fs.BoolVar(&o.Local, "local", false, "edit the catalog files under --repo-root; no GitHub call")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the diff; change nothing")
	if err := parseFlags(fs, args, catalogStatusUsage); err != nil {
		return err
	}
	if o.Env == "" {
		return usageErrorf("--env is required (dev, test, staging, prod)")
	}
	if err := naming.CheckEnvironment(o.Env); err != nil {
		return usageErrorf("--env %q: %v", o.Env, err)
	}
	if o.Audit == "" {
		return usageErrorf("--audit is required: the CSV of the provision run (its standard output or --audit-output file), or - for standard input")
	}
	if o.Local && o.DryRun {
		return usageErrorf("--dry-run and --local exclude each other")
	}
	if err := naming.CheckBranch(o.Branch); err != nil {
		return usageErrorf("--branch %q: %v", o.Branch, err)
	}
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if !isSet(fs, "rds-mode") && getenv("RDS_MODE") != "" {
		mode = getenv("RDS_MODE")
	}
	var err error
	if o.Mode, err = tfvars.ParseMode(mode); err != nil {
		return usageErrorf("--rds-mode: %v", err)
	}
	if !o.Local && (!o.DryRun || getenv("GITHUB_TOKEN") != "") {
		if o.GitHub, err = githubClient(getenv, "committing the catalog status", ""); err != nil {
			return err
		}
	}
	return runF(ctx, &o)
}

// catalogStatusRun reads the audit and the tfvars entries, and writes the
// outcomes through catalog.WriteStatus.
func catalogStatusRun(ctx context.Context, o *catalogStatusOptions) error {
	rows, err := o.runRows()
	if err != nil {
		return err
	}
	path, mode := o.Tfvars, o.Mode
	if path == "" {
		if path, mode, err = tfvars.Locate(o.RepoRoot, o.Env, o.Mode); err != nil {
			return err
		}
	}
	file, err := tfvars.Load(path, mode)
	if err != nil {
		return err
	}
	if err := file.CheckEnvironment(o.Env); err != nil {
		return err
	}
	update := catalog.StatusUpdate{Env: o.Env, RepoRoot: ".", Outcomes: catalog.Outcomes(file.Entries, rows), Now: o.Now()}
	if len(update.Outcomes) == 0 {
		fmt.Fprintf(o.Stderr, "[INFO] The audit has no row for an entry of %s: the catalog keeps its statuses\n", path)
		return nil
	}
	for _, out := range update.Outcomes {
		line := fmt.Sprintf("[INFO] %s: %s", out.Database, out.Status)
		if out.Error != "" {
			line += " (" + out.Error + ")"
		}
		fmt.Fprintln(o.Stderr, line)
	}

	var files catalog.FileUpdater
	where := "branch " + o.Branch
	switch {
	case o.GitHub != nil && o.DryRun:
		files = branchPreview{o.GitHub}
	case o.GitHub != nil:
		files = o.GitHub
	default:
		root, err := repofile.Open(o.RepoRoot)
		if err != nil {
			return err
		}
		files, where = workingTree{root: root, write: o.Local, stderr: o.Stderr}, o.RepoRoot
	}
	res, err := catalog.WriteStatus(ctx, files, o.Branch, update)
	if err != nil {
		return fmt.Errorf("catalog status on %s: %w", where, err)
	}
	names := strings.Join(res.Changed, ", ")
	switch {
	case !res.Written:
		fmt.Fprintf(o.Stderr, "[INFO] The catalog on %s already says so: nothing to write\n", where)
	case o.DryRun:
		fmt.Fprint(o.Stdout, res.Diff)
		fmt.Fprintf(o.Stderr, "[DRY-RUN] Would set the status of %s on %s\n", names, where)
	case res.Commit != "":
		fmt.Fprintf(o.Stderr, "[INFO] Committed the status of %s to %s\n", names, where)
		fmt.Fprintln(o.Stdout, res.Commit)
	default:
		fmt.Fprintf(o.Stderr, "[INFO] Wrote the status of %s in %s\n", names, where)
	}
	return nil
}

// runRows are the audit rows of the run to record: of --env, and of the
// run --build-id and --run-id name, else of the last row's run.
func (o *catalogStatusOptions) runRows() ([]audit.Row, error) {
	in, name := o.Stdin, "standard input"
	if o.Audit != "-" {
		f, err := os.Open(o.Audit)
		if err != nil {
			return nil, fmt.Errorf("read --audit: %w", err)
		}
		defer f.Close()
		in, name = f, o.Audit
	}
	if in == nil {
		return nil, fmt.Errorf("read --audit: no standard input")
	}
	all, err := audit.ReadCSV(in)
	if err != nil {
		return nil, fmt.Errorf("read --audit %s: %w", name, err)
	}
	build, run := o.BuildID, o.RunID
	for i := len(all) - 1; i >= 0 && (build == "" || run == ""); i-- {
		if all[i].Environment != o.Env {
			continue
		}
		if build == "" {
			build = all[i].BuildID
		}
		if run == "" {
			run = all[i].RunID
		}
	}
	var rows []audit.Row
	for _, r := range all {
		if r.Environment == o.Env && r.BuildID == build && r.RunID == run {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("--audit %s has no row of environment %s with build_id %q and run_id %q", name, o.Env, build, run)
	}
	return rows, nil
}

// workingTree updates catalog files under --repo-root: every changed file
// or none (repofile.WriteAll), under the repo's lock; with write false it
// reads only.
type workingTree struct {
	root   *repofile.Root
	write  bool
	stderr io.Writer
}

func (w workingTree) UpdateFiles(ctx context.Context, _ string, files []string, _ string, edit func(string, []byte) ([]byte, error)) (string, bool, error) {
	if w.write {
		unlock, err := w.root.Lock(ctx, func(path string) {
			fmt.Fprintf(w.stderr, "[INFO] Waiting for another rds-provision on %s (lock %s)\n", w.root.Dir(), path)
		})
		if err != nil {
			return "", false, err
		}
		defer unlock()
	}
	var out []repofile.File
	for _, f := range files {
		old, found, err := w.root.Read(f)
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", f, err)
		}
		if !found {
			old = nil
		}
		content, err := edit(f, old)
		if err != nil {
			return "", false, err
		}
		if found && !bytes.Equal(content, old) {
			out = append(out, repofile.File{Path: f, Data: content})
		}
	}
	if len(out) == 0 {
		return "", false, nil
	}
	if w.write {
		if err := w.root.WriteAll(out); err != nil {
			return "", false, err
		}
	}
	return "", true, nil
}

// branchPreview reads catalog files at a branch's head through the GitHub
// API and writes nothing: a dry run of the commit.
type branchPreview struct{ client *gh.Client }

func (b branchPreview) UpdateFiles(ctx context.Context, branch string, files []string, _ string, edit func(string, []byte) ([]byte, error)) (string, bool, error) {
	head, err := b.client.BranchHead(ctx, branch)
	if err != nil {
		return "", false, err
	}
	changed := false
	for _, f := range files {
		old, _, err := b.client.ReadFile(ctx, head, f)
		if err != nil {
			return "", false, err
		}
		content, err := edit(f, old)
		if err != nil {
			return "", false, err
		}
		changed = changed || !bytes.Equal(content, old)
	}
	return "", changed, nil
}
