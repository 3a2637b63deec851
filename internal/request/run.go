package request

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
	// RequestReviewers asks teams to review a PR (POST
	// pulls/{number}/requested_reviewers); a 422 is gh.ErrReviewersRefused.
	RequestReviewers(ctx context.Context, number int, r gh.Reviewers) error
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
	// Dispatch is who started the run in GitHub Actions (GITHUB_ACTOR,
	// GITHUB_TRIGGERING_ACTOR): the form's user must be that person unless
	// a bot dispatched the workflow. Zero outside Actions.
	Dispatch Dispatch
	Now      func() time.Time
	Stdout   io.Writer
	Stderr   io.Writer
}

// Result is what a request did; the action turns it into outputs
// (pr_number, pr_url, branch, changed) and a job summary.
type Result struct {
	// Changed is false when the base already holds the request: nothing
	// was written and no branch or pull request was made.
	Changed bool
	// Branch is database/<type>-<env>-<name>[-<username>]; set in PR mode
	// when Changed.
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
	// Plan is the full plan, for summaries; Plan.Review says whether the
	// owning team was asked to review (PR mode, day-2 types).
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
	plan, err := MakePlan(form, snap, PlanSettings{Mode: o.Mode, SecretPrefix: o.SecretPrefix, Now: o.Now(), Dispatch: o.Dispatch})
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
			fmt.Fprintf(o.Stdout, "No change: %s already holds the %s request for %s in %s.\n", form.BaseBranch, form.RequestType, form.DatabaseName, form.Environment)
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
	return requestReview(ctx, g, plan, res)
}

// requestReview asks the owning team of a day-2 request to review its pull
// request. GitHub keeps one request per team, so a rerun asks again
// harmlessly. A refusal (a team GitHub does not know, one without access
// to the repository, a token that cannot see the organisation's teams) is
// not skipped silently: it is written into the pull request's body and
// kept in plan.Review for the job summary; any other failure fails the run
// (the pull request is open; a rerun asks again).
func requestReview(ctx context.Context, g GitHub, plan *Plan, res Result) (Result, error) {
	team := plan.Review.Team
	if team == "" {
		return res, nil
	}
	err := g.RequestReviewers(ctx, res.PRNumber, gh.Reviewers{Teams: []string{team}})
	switch {
	case err == nil:
		plan.Review.Requested = true
		return res, nil
	case !errors.Is(err, gh.ErrReviewersRefused):
		return res, fmt.Errorf("request a review from team %s on pull request #%d: %w", team, res.PRNumber, err)
	}
	plan.Review.Refused = refusal(err)
	plan.Body = Body(plan)
	res.Body = plan.Body
	if _, _, err := g.EnsurePullRequest(ctx, gh.PullRequestSpec{
		Head: plan.Branch, Base: plan.Form.BaseBranch, Title: plan.Title, Body: plan.Body, Labels: plan.Labels,
	}); err != nil {
		return res, fmt.Errorf("note the refused review in pull request #%d: %w", res.PRNumber, err)
	}
	return res, nil
}

// refusal is GitHub's refusal of a review request, without the client's
// "gh: request reviews on pull request #n:" preamble.
func refusal(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, gh.ErrReviewersRefused.Error()); i >= 0 {
		msg = msg[i:]
	}
	return msg
}
