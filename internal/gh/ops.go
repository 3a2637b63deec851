package gh

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// MaxBodyLength is GitHub's limit, in characters, on the body of an issue
// comment or a pull request.
const MaxBodyLength = 65536

// Branch is a branch head and the parents of its commit.
type Branch struct {
	SHA        string
	ParentSHAs []string
}

// PullRequest identifies a pull request.
type PullRequest struct {
	Number int
	URL    string // html_url, for people
	Merged bool
}

// PullRequestSpec is the pull request EnsurePullRequest wants to exist.
type PullRequestSpec struct {
	Head   string // branch in this repository
	Base   string
	Title  string
	Body   string
	Labels []string
}

// BranchHead returns the commit SHA branch points to; ErrBranchNotFound
// when it does not exist, with ErrEmptyRepository too when the repository
// has no commit at all (GitHub answers 409).
//
// GitHub API: GET /repos/{owner}/{repo}/git/ref/heads/{branch}
func (c *Client) BranchHead(ctx context.Context, branch string) (string, error) {
	sha, found, err := c.ref(ctx, branch)
	if errors.Is(err, ErrEmptyRepository) {
		return "", &apiError{
			msg:  fmt.Sprintf("gh: read branch %q of %s: %s: %s; push a first commit to create %q", branch, c.Repository(), ErrBranchNotFound, ErrEmptyRepository, branch),
			errs: []error{ErrBranchNotFound, err},
		}
	}
	if err != nil {
		return "", c.wrap(err, "read branch %q", branch)
	}
	if !found {
		return "", c.wrap(ErrBranchNotFound, "read branch %q of %s", branch, c.Repository())
	}
	return sha, nil
}

func (c *Client) ref(ctx context.Context, branch string) (sha string, found bool, err error) {
	if branch == "" {
		return "", false, errors.New("empty branch name")
	}
	var ref *github.Reference
	err = c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		ref, resp, err = api.Git.GetRef(ctx, c.owner, c.repo, "heads/"+branch)
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return ref.GetObject().GetSHA(), true, nil
}

// Branch returns branch's head and its parents; found is false when the
// branch does not exist, an empty repository's included.
//
// GitHub API: GET /repos/{owner}/{repo}/git/ref/heads/{branch}, then
// GET /repos/{owner}/{repo}/git/commits/{sha}
func (c *Client) Branch(ctx context.Context, branch string) (Branch, bool, error) {
	sha, found, err := c.ref(ctx, branch)
	if errors.Is(err, ErrEmptyRepository) {
		return Branch{}, false, nil
	}
	if err != nil || !found {
		return Branch{}, false, c.wrap(err, "read branch %q", branch)
	}
	commit, err := c.commit(ctx, sha)
	if err != nil {
		return Branch{}, false, c.wrap(err, "read head commit %s of branch %q", sha, branch)
	}
	b := Branch{SHA: sha, ParentSHAs: []string{}}
	for _, p := range commit.Parents {
		b.ParentSHAs = append(b.ParentSHAs, p.GetSHA())
	}
	return b, true, nil
}

func (c *Client) commit(ctx context.Context, sha string) (*github.Commit, error) {
	var commit *github.Commit
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		commit, resp, err = api.Git.GetCommit(ctx, c.owner, c.repo, sha)
		return resp, err
	})
	return commit, err
}

// ReadFile returns the content of path at ref (a branch or commit SHA);
// found is false when the file or the ref does not exist (or the
// repository is empty). A file over 1 MB, which the contents API answers
// with "encoding": "none" and no content, is read through the blob API by
// the SHA that answer names, so it is the same version.
//
// GitHub API: GET /repos/{owner}/{repo}/contents/{path}?ref={ref}, and for a
// file over 1 MB GET /repos/{owner}/{repo}/git/blobs/{sha} (raw media type)
func (c *Client) ReadFile(ctx context.Context, ref, filePath string) ([]byte, bool, error) {
	var file *github.RepositoryContent
	var dir []*github.RepositoryContent
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		file, dir, resp, err = api.Repositories.GetContents(ctx, c.owner, c.repo, filePath, &github.RepositoryContentGetOptions{Ref: ref})
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.wrap(err, "read %s at %s", filePath, ref)
	}
	if file == nil || dir != nil {
		return nil, false, c.wrap(errors.New("is a directory"), "read %s at %s", filePath, ref)
	}
	// For a symlink GitHub answers with the file it points to (another
	// path) or with the symlink itself (no content); an edit committed at
	// filePath would replace the symlink by a regular file, so refuse both.
	if file.GetType() == "symlink" || file.GetPath() != strings.Trim(filePath, "/") {
		target := file.GetTarget()
		if target == "" {
			target = file.GetPath()
		}
		return nil, false, c.wrap(fmt.Errorf("%s is a symlink (to %s): rds-provision edits regular files only; replace the symlink by the file", filePath, target), "read %s at %s", filePath, ref)
	}
	if file.GetEncoding() == "none" {
		content, err := c.blob(ctx, file.GetSHA(), file.GetSize())
		if err != nil {
			return nil, false, c.wrap(err, "read %s at %s (%d bytes, over the contents API's 1 MB)", filePath, ref, file.GetSize())
		}
		return content, true, nil
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, false, c.wrap(err, "decode %s at %s", filePath, ref)
	}
	return []byte(content), true, nil
}

// blob reads a blob's bytes with the raw media type (up to 100 MB) and
// checks it has the size the contents API gave.
//
// GitHub API: GET /repos/{owner}/{repo}/git/blobs/{sha}
func (c *Client) blob(ctx context.Context, sha string, size int) ([]byte, error) {
	if sha == "" {
		return nil, errors.New("GitHub named no blob SHA for the file")
	}
	var content []byte
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		content, resp, err = api.Git.GetBlobRaw(ctx, c.owner, c.repo, sha)
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if len(content) != size {
		return nil, fmt.Errorf("blob %s has %d bytes, the contents API said %d", sha, len(content), size)
	}
	return content, nil
}

// CommitFiles makes exactly one commit on top of parentSHA that writes files
// (path -> content, regular files) over the parent's tree, and returns its
// SHA. Files of the parent not named survive. No branch moves; see
// PointBranch.
//
// GitHub API: GET /repos/{owner}/{repo}/git/commits/{parent},
// POST /repos/{owner}/{repo}/git/blobs (one per file),
// POST /repos/{owner}/{repo}/git/trees (one, on base_tree),
// POST /repos/{owner}/{repo}/git/commits (one)
func (c *Client) CommitFiles(ctx context.Context, parentSHA string, files map[string][]byte, message string) (string, error) {
	switch {
	case parentSHA == "":
		return "", c.wrap(errors.New("empty parent SHA"), "commit files")
	case len(files) == 0:
		return "", c.wrap(errors.New("no files to commit"), "commit files on %s", parentSHA)
	case strings.TrimSpace(message) == "":
		return "", c.wrap(errors.New("empty commit message"), "commit files on %s", parentSHA)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
			return "", c.wrap(fmt.Errorf("path %q is not a clean path relative to the repository root", p), "commit files on %s", parentSHA)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)

	parent, err := c.commit(ctx, parentSHA)
	if err != nil {
		return "", c.wrap(err, "read parent commit %s", parentSHA)
	}

	entries := make([]*github.TreeEntry, 0, len(paths))
	for _, p := range paths {
		var blob *github.Blob
		err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			blob, resp, err = api.Git.CreateBlob(ctx, c.owner, c.repo, &github.Blob{
				Content:  github.String(base64.StdEncoding.EncodeToString(files[p])),
				Encoding: github.String("base64"),
			})
			return resp, err
		})
		if err != nil {
			return "", c.wrap(err, "create blob for %s", p)
		}
		entries = append(entries, &github.TreeEntry{
			Path: github.String(p), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA,
		})
	}

	var tree *github.Tree
	err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		tree, resp, err = api.Git.CreateTree(ctx, c.owner, c.repo, parent.GetTree().GetSHA(), entries)
		return resp, err
	})
	if err != nil {
		return "", c.wrap(err, "create tree on %s", parentSHA)
	}

	var commit *github.Commit
	err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		commit, resp, err = api.Git.CreateCommit(ctx, c.owner, c.repo, &github.Commit{
			Message: github.String(message),
			Tree:    &github.Tree{SHA: tree.SHA},
			Parents: []*github.Commit{{SHA: github.String(parentSHA)}},
		}, nil)
		return resp, err
	})
	if err != nil {
		return "", c.wrap(err, "create commit on %s", parentSHA)
	}
	return commit.GetSHA(), nil
}

// PointBranch makes branch point at sha: it creates the branch, or
// force-updates it (a request branch is rebuilt on the current base each
// time). created tells which.
//
// GitHub API: GET /repos/{owner}/{repo}/git/ref/heads/{branch}, then
// POST /repos/{owner}/{repo}/git/refs or
// PATCH /repos/{owner}/{repo}/git/refs/heads/{branch} with force
func (c *Client) PointBranch(ctx context.Context, branch, sha string) (bool, error) {
	if sha == "" {
		return false, c.wrap(errors.New("empty SHA"), "point branch %q", branch)
	}
	current, found, err := c.ref(ctx, branch)
	if err != nil {
		return false, c.wrap(err, "point branch %q at %s", branch, sha)
	}
	if found && current == sha {
		return false, nil
	}
	if !found {
		err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			_, resp, err := api.Git.CreateRef(ctx, c.owner, c.repo, &github.Reference{
				Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)},
			})
			return resp, err
		})
		if err == nil {
			return true, nil
		}
		if !validationMentions(err, "already exists") {
			return false, c.wrap(err, "create branch %q at %s", branch, sha)
		}
		// Created meanwhile (or by a retried request): update it instead.
	}
	err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		_, resp, err := api.Git.UpdateRef(ctx, c.owner, c.repo, &github.Reference{
			Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)},
		}, true)
		return resp, err
	})
	if err != nil {
		return false, c.wrap(err, "force-update branch %q to %s", branch, sha)
	}
	return false, nil
}

// EnsurePullRequest makes sure one open pull request spec.Head -> spec.Base
// exists with spec's title, body and labels. An open one is reused (title
// and body updated if they differ), else one is created; created tells
// which. A body over GitHub's limit is truncated with a note. A missing head
// or base branch gives ErrBranchNotFound.
//
// GitHub API: GET /repos/{owner}/{repo}/pulls?head={owner}:{head}&base={base}&state=open,
// POST /repos/{owner}/{repo}/pulls or PATCH /repos/{owner}/{repo}/pulls/{number},
// POST /repos/{owner}/{repo}/issues/{number}/labels with {"labels": [...]}
// (only for missing labels)
func (c *Client) EnsurePullRequest(ctx context.Context, spec PullRequestSpec) (PullRequest, bool, error) {
	switch {
	case spec.Head == "" || spec.Base == "":
		return PullRequest{}, false, c.wrap(errors.New("head and base branches are required"), "open pull request")
	case strings.TrimSpace(spec.Title) == "":
		return PullRequest{}, false, c.wrap(errors.New("empty title"), "open pull request %s -> %s", spec.Head, spec.Base)
	}
	body, _ := fitBody(spec.Body, "")
	what := fmt.Sprintf("open pull request %s -> %s", spec.Head, spec.Base)

	pr, err := c.findOpenPull(ctx, spec.Head, spec.Base)
	if err != nil {
		return PullRequest{}, false, c.wrap(err, "%s: list open pull requests", what)
	}
	created := false
	if pr == nil {
		err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			pr, resp, err = api.PullRequests.Create(ctx, c.owner, c.repo, &github.NewPullRequest{
				Title: github.String(spec.Title), Head: github.String(spec.Head),
				Base: github.String(spec.Base), Body: github.String(body),
			})
			return resp, err
		})
		switch {
		case err == nil:
			created = true
		case validationMentions(err, "already exists"):
			// Opened meanwhile, or by a retried request: reuse it.
			if pr, err = c.findOpenPull(ctx, spec.Head, spec.Base); err == nil && pr == nil {
				err = errors.New("GitHub says the pull request exists but it is not listed")
			}
			if err != nil {
				return PullRequest{}, false, c.wrap(err, "%s", what)
			}
		default:
			if field := invalidField(err); field != "" {
				branch := spec.Base
				if field == "head" {
					branch = spec.Head
				}
				return PullRequest{}, false, c.wrap(fmt.Errorf("%s branch %q: %w", field, branch, ErrBranchNotFound), "%s", what)
			}
			return PullRequest{}, false, c.wrap(err, "%s", what)
		}
	}
	if !created && (pr.GetTitle() != spec.Title || pr.GetBody() != body) {
		number := pr.GetNumber()
		err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			pr, resp, err = api.PullRequests.Edit(ctx, c.owner, c.repo, number, &github.PullRequest{
				Title: github.String(spec.Title), Body: github.String(body),
			})
			return resp, err
		})
		if err != nil {
			return PullRequest{}, false, c.wrap(err, "update pull request #%d", number)
		}
	}

	have := map[string]bool{}
	for _, l := range pr.Labels {
		have[l.GetName()] = true
	}
	var missing []string
	for _, l := range spec.Labels {
		if l != "" && !have[l] {
			have[l] = true
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		if err := c.addLabels(ctx, pr.GetNumber(), missing); err != nil {
			return PullRequest{}, false, c.wrap(err, "label pull request #%d with %s", pr.GetNumber(), strings.Join(missing, ", "))
		}
	}
	return toPullRequest(pr), created, nil
}

// addLabels adds labels to issue or pull request number in the body shape
// GitHub documents and recommends, {"labels": [...]} (go-github v60 sends a
// bare array). Labels that do not exist yet are created.
//
// GitHub API: POST /repos/{owner}/{repo}/issues/{number}/labels
func (c *Client) addLabels(ctx context.Context, number int, labels []string) error {
	return c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		u := fmt.Sprintf("repos/%s/%s/issues/%d/labels", c.owner, c.repo, number)
		req, err := api.NewRequest(http.MethodPost, u, struct {
			Labels []string `json:"labels"`
		}{labels})
		if err != nil {
			return nil, err
		}
		return api.Do(ctx, req, nil)
	})
}

func (c *Client) findOpenPull(ctx context.Context, head, base string) (*github.PullRequest, error) {
	var list []*github.PullRequest
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		list, resp, err = api.PullRequests.List(ctx, c.owner, c.repo, &github.PullRequestListOptions{
			State: "open", Head: c.owner + ":" + head, Base: base, ListOptions: github.ListOptions{PerPage: 100},
		})
		return resp, err
	})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

func toPullRequest(pr *github.PullRequest) PullRequest {
	return PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), Merged: pr.GetMerged() || pr.MergedAt != nil}
}

// PullRequestForCommit returns the pull request that brought commit sha in,
// preferring the merged one whose merge commit is sha, then any merged one,
// then an open one. found is false when there is none.
//
// GitHub API: GET /repos/{owner}/{repo}/commits/{sha}/pulls
func (c *Client) PullRequestForCommit(ctx context.Context, sha string) (PullRequest, bool, error) {
	var list []*github.PullRequest
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		list, resp, err = api.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.repo, sha, &github.ListOptions{PerPage: 100})
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusUnprocessableEntity) || errors.Is(err, ErrEmptyRepository) {
		return PullRequest{}, false, nil
	}
	if err != nil {
		return PullRequest{}, false, c.wrap(err, "find pull request of commit %s", sha)
	}
	rank := func(pr *github.PullRequest) int {
		switch {
		case pr.MergedAt != nil && pr.GetMergeCommitSHA() == sha:
			return 0
		case pr.MergedAt != nil:
			return 1
		case pr.GetState() == "open":
			return 2
		default:
			return 3
		}
	}
	var best *github.PullRequest
	for _, pr := range list {
		if best == nil || rank(pr) < rank(best) {
			best = pr
		}
	}
	if best == nil {
		return PullRequest{}, false, nil
	}
	return toPullRequest(best), true, nil
}

// UpsertComment keeps one comment on issue or pull request number per
// marker, a hidden HTML comment such as "<!-- rds-provision:dev -->": it
// looks through every page of comments for one containing marker posted by
// the token's own account (Identity; never someone else's copy of the
// marker, a collaborator's included), and edits it (updated true), or
// creates one. The marker is prepended when body lacks it. A body over
// GitHub's 65536-character limit is truncated with a note rather than
// failing. It returns the comment's html_url. See UpsertCommentWith for a
// create whose answer is lost and for IdentityMismatchError.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments (all pages),
// then PATCH /repos/{owner}/{repo}/issues/comments/{id} or
// POST /repos/{owner}/{repo}/issues/{number}/comments
func (c *Client) UpsertComment(ctx context.Context, number int, marker, body string) (string, bool, error) {
	return c.UpsertCommentWith(ctx, number, marker, func(string) string { return body })
}

// fitBody puts marker (if any) in body and cuts body to MaxBodyLength
// characters, ending on a line break where one is near, with a note saying
// so. truncated tells whether it cut.
func fitBody(body, marker string) (out string, truncated bool) {
	if marker != "" && !strings.Contains(body, marker) {
		body = marker + "\n" + body
	}
	total := utf8.RuneCountInString(body)
	if total <= MaxBodyLength {
		return body, false
	}
	note := fmt.Sprintf("\n\n---\n_Truncated: this text was %d characters, over GitHub's limit of %d. The full text is in the job summary._\n", total, MaxBodyLength)
	prefix := ""
	if marker != "" && !strings.HasPrefix(body, marker) {
		prefix = marker + "\n"
	}
	budget := MaxBodyLength - utf8.RuneCountInString(note) - utf8.RuneCountInString(prefix)
	kept := string([]rune(body)[:budget])
	if i := strings.LastIndexByte(kept, '\n'); i > len(kept)*9/10 {
		kept = kept[:i]
	}
	if prefix != "" && strings.Contains(kept, marker) {
		prefix = ""
	}
	return prefix + kept + note, true
}
