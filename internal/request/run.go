package request

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/repofile"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// GitHub is what a request needs from GitHub; *gh.Client implements it.
type GitHub interface {
	// Branch returns a branch's head and its parents (GET git/ref, GET git/commits).
	Branch(ctx context.Context, branch string) (gh.Branch, bool, error)
	// ReadFile returns a file at ref (GET contents).
	ReadFile(ctx context.Context, ref, path string) ([]byte, bool, error)
	// CommitFiles makes one commit on parentSHA (Git Data API: blobs, tree, commit).
	CommitFiles(ctx context.Context, parentSHA string, files map[string][]byte, message string) (string, error)
	// PointBranch creates or force-moves a branch (POST/PATCH git/refs).
	PointBranch(ctx context.Context, branch, sha string) (bool, error)
	// EnsurePullRequest opens the PR or updates the open one, with labels.
	EnsurePullRequest(ctx context.Context, spec gh.PullRequestSpec) (gh.PullRequest, bool, error)
}

// Options carry a request's inputs and dependencies.
type Options struct {
	Form         Form
	RepoRoot     string      // infra repo working tree, for --local and the default (dry run without GitHub)
	Mode         tfvars.Mode // auto, coupled or standalone
	SecretPrefix string      // default goldenpath
	// DryRun computes the change and prints the diff and PR body to Stdout;
	// it reads through GitHub when set, else from RepoRoot, and writes nothing.
	DryRun bool
	// Local writes the edits into RepoRoot and makes no API call: under
	// the repo's lock, all files or none, and only to paths that resolve
	// inside RepoRoot (see internal/repofile).
	Local  bool
	GitHub GitHub // required unless Local (or DryRun reading RepoRoot)
	Now    func() time.Time
	Stdout io.Writer
	Stderr io.Writer
}

// Result is what a request did; the action turns it into outputs
// (pr_number, pr_url, branch, changed) and a job summary.
type Result struct {
	// Changed is false when the base already holds the request: nothing
	// was written and no branch or pull request was made.
	Changed bool
	// Branch is database/create-<env>-<name>; set in PR mode when Changed.
	Branch string
	// PRNumber and PRURL identify the opened or reused pull request.
	PRNumber int
	PRURL    string
	// PRCreated is true when this run opened the pull request.
	PRCreated bool
	// Diff is the unified diff of every changed file.
	Diff string
	// Body is the pull request body (also computed for dry run and local).
	Body string
	// FilesChanged are the changed paths, relative to the repo root.
	FilesChanged []string
	// Plan is the full plan, for summaries.
	Plan *Plan
}

// Run validates the form, plans the edits and applies them: as a diff on
// Stdout (DryRun), into the working tree (Local) or as one commit on the
// head of the base branch with a pull request (default). Validation
// problems come back as *ValidationError and nothing is written.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.RepoRoot == "" {
		o.RepoRoot = "."
	}
	form := o.Form.WithDefaults()
	var read func(p string) ([]byte, bool, error)
	var baseSHA string
	var root *repofile.Root
	useAPI := !o.Local && o.GitHub != nil
	switch {
	case useAPI:
		head, found, err := o.GitHub.Branch(ctx, form.BaseBranch)
		if err != nil {
			return Result{}, fmt.Errorf("read base branch %s: %w", form.BaseBranch, err)
		}
		if !found {
			return Result{}, fmt.Errorf("base branch %q does not exist: %w", form.BaseBranch, gh.ErrBranchNotFound)
		}
		baseSHA = head.SHA
		read = func(p string) ([]byte, bool, error) { return o.GitHub.ReadFile(ctx, baseSHA, p) }
	case o.Local || o.DryRun:
		var err error
		if root, err = repofile.Open(o.RepoRoot); err != nil {
			return Result{}, err
		}
		if o.Local {
			// Held from the first read to the last write: a concurrent
			// run then reads this run's entries and adds its own.
			unlock, err := root.Lock(ctx, func(path string) {
				fmt.Fprintf(o.Stderr, "[INFO] Waiting for another rds-provision request on %s (lock %s)\n", o.RepoRoot, path)
			})
			if err != nil {
				return Result{}, err
			}
			defer unlock()
		}
		read = root.Read
	default:
		return Result{}, errors.New("request: no GitHub client (set GITHUB_TOKEN and GITHUB_REPOSITORY, or use --local or --dry-run)")
	}

	snap := Snapshot{}
	for _, p := range Paths(form.Environment) {
		b, found, err := read(p)
		if err != nil {
			return Result{}, fmt.Errorf("read %s: %w", p, err)
		}
		if found {
			snap[p] = b
		}
	}
	plan, err := MakePlan(form, snap, PlanSettings{Mode: o.Mode, SecretPrefix: o.SecretPrefix, Now: o.Now()})
	if err != nil {
		return Result{}, err
	}
	res := Result{Changed: plan.Changed(), Diff: plan.Diff(), Body: plan.Body, Plan: plan}
	for _, f := range plan.Files {
		res.FilesChanged = append(res.FilesChanged, f.Path)
	}

	switch {
	case o.DryRun:
		if !res.Changed {
			fmt.Fprintf(o.Stdout, "No change: %s already holds %s in %s.\n", form.BaseBranch, form.DatabaseName, form.Environment)
			return res, nil
		}
		fmt.Fprintf(o.Stdout, "%s\n\n--- pull request: %s (branch %s, labels %v) ---\n\n%s", res.Diff, plan.Title, plan.Branch, plan.Labels, plan.Body)
		return res, nil
	case o.Local:
		var files []repofile.File
		for _, f := range plan.Files {
			files = append(files, repofile.File{Path: f.Path, Data: f.New})
		}
		if err := root.WriteAll(files); err != nil {
			return res, err
		}
		return res, nil
	}
	if !res.Changed {
		return res, nil
	}
	return openPullRequest(ctx, o.GitHub, plan, baseSHA, res)
}

// openPullRequest makes one commit with every changed file on the base head,
// points the request's branch at it and ensures its pull request. A branch
// that already holds exactly this change on the current base is reused.
func openPullRequest(ctx context.Context, g GitHub, plan *Plan, baseSHA string, res Result) (Result, error) {
	res.Branch = plan.Branch
	files := map[string][]byte{}
	for _, f := range plan.Files {
		files[f.Path] = f.New
	}
	reuse := false
	if br, found, err := g.Branch(ctx, plan.Branch); err != nil {
		return res, fmt.Errorf("read branch %s: %w", plan.Branch, err)
	} else if found && len(br.ParentSHAs) == 1 && br.ParentSHAs[0] == baseSHA {
		reuse = true
		for p, want := range files {
			got, ok, err := g.ReadFile(ctx, br.SHA, p)
			if err != nil {
				return res, fmt.Errorf("read %s at %s: %w", p, plan.Branch, err)
			}
			if !ok || !bytes.Equal(got, want) {
				reuse = false
				break
			}
		}
	}
	if !reuse {
		sha, err := g.CommitFiles(ctx, baseSHA, files, plan.CommitMessage)
		if err != nil {
			return res, fmt.Errorf("commit %s: %w", plan.CommitMessage, err)
		}
		if _, err := g.PointBranch(ctx, plan.Branch, sha); err != nil {
			return res, fmt.Errorf("point branch %s: %w", plan.Branch, err)
		}
	}
	pr, created, err := g.EnsurePullRequest(ctx, gh.PullRequestSpec{
		Head: plan.Branch, Base: plan.Form.BaseBranch, Title: plan.Title, Body: plan.Body, Labels: plan.Labels,
	})
	if err != nil {
		return res, fmt.Errorf("open pull request from %s: %w", plan.Branch, err)
	}
	res.PRNumber, res.PRURL, res.PRCreated = pr.Number, pr.URL, created
	return res, nil
}
