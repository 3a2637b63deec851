package gh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// landedWindow is how far before a create's first attempt its re-check
// looks, for the clock of the runner and GitHub's to differ.
const landedWindow = 2 * time.Minute

// Issue is an issue of the repository (never a pull request).
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string // "open" or "closed"
	StateReason string // "completed", "not_planned", "reopened" or ""
	Labels      []string
	Author      string // login
	URL         string // html_url
}

// IssueQuery selects issues for ListIssues.
type IssueQuery struct {
	// Labels: every one must be on the issue. Names may not hold a comma
	// (GitHub takes the filter as a comma-separated list).
	Labels []string
	// State is "open" (the default), "closed" or "all".
	State string
}

// IssueSpec is an issue CreateIssue opens.
type IssueSpec struct {
	Title  string
	Body   string
	Labels []string // created when the repository lacks them
}

// IssueUpdate is what EditIssue changes; nil and "" fields stay.
type IssueUpdate struct {
	Title *string
	Body  *string
	// State is "open" to reopen or "closed" to close.
	State string
	// StateReason says why: "completed" or "not_planned" on closing
	// (GitHub's default is completed), "reopened" on reopening.
	StateReason string
}

func toIssue(i *github.Issue) Issue {
	out := Issue{
		Number: i.GetNumber(), Title: i.GetTitle(), Body: i.GetBody(), State: i.GetState(),
		StateReason: i.GetStateReason(), Author: i.GetUser().GetLogin(), URL: i.GetHTMLURL(), Labels: []string{},
	}
	for _, l := range i.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func checkLabels(labels []string) error {
	for _, l := range labels {
		switch {
		case strings.TrimSpace(l) == "":
			return errors.New("empty label name")
		case strings.Contains(l, ","):
			return fmt.Errorf("label %q holds a comma, which GitHub's label filter cannot match", l)
		}
	}
	return nil
}

// ListIssues lists the repository's issues that carry every label of q and
// are in q's state, newest first, through every page. GitHub's issue list
// includes pull requests; they are left out.
//
// GitHub API: GET /repos/{owner}/{repo}/issues?labels={a,b}&state={state} (all pages)
func (c *Client) ListIssues(ctx context.Context, q IssueQuery) ([]Issue, error) {
	state := q.State
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		return nil, c.wrap(fmt.Errorf("state %q: want open, closed or all", q.State), "list issues")
	}
	if err := checkLabels(q.Labels); err != nil {
		return nil, c.wrap(err, "list issues")
	}
	list, err := c.listIssues(ctx, &github.IssueListByRepoOptions{State: state, Labels: q.Labels})
	if err != nil {
		return nil, c.wrap(err, "list %s issues labelled %s", state, strings.Join(q.Labels, ", "))
	}
	out := []Issue{}
	for _, i := range list {
		if !i.IsPullRequest() {
			out = append(out, toIssue(i))
		}
	}
	return out, nil
}

func (c *Client) listIssues(ctx context.Context, opts *github.IssueListByRepoOptions) ([]*github.Issue, error) {
	opts.PerPage = 100
	var all []*github.Issue
	for {
		var page []*github.Issue
		var next int
		err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			page, resp, err = api.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == 0 {
			return all, nil
		}
		opts.Page = next
	}
}

// CreateIssue opens an issue with spec's title, body (cut to GitHub's limit
// with a note) and labels. A create whose answer is lost (a 5xx, a dropped
// connection) may have opened it all the same: before posting again it
// looks for an open issue of the token's account with the same title, body
// and labels, so the issue is never opened twice.
//
// GitHub API: POST /repos/{owner}/{repo}/issues; after a lost answer
// GET /repos/{owner}/{repo}/issues?labels=&state=open&since=; GET /user
// once for a personal token (see Identity)
func (c *Client) CreateIssue(ctx context.Context, spec IssueSpec) (Issue, error) {
	if strings.TrimSpace(spec.Title) == "" {
		return Issue{}, c.wrap(errors.New("empty title"), "open issue")
	}
	if err := checkLabels(spec.Labels); err != nil {
		return Issue{}, c.wrap(err, "open issue %q", spec.Title)
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return Issue{}, c.wrap(err, "open issue %q", spec.Title)
	}
	body, _ := fitBody(spec.Body, "")
	start := c.now().Add(-landedWindow)
	labels := append([]string{}, spec.Labels...)
	var made *github.Issue
	err = c.do(ctx, callOpts{write: true, landed: func(ctx context.Context) (bool, error) {
		list, err := c.listIssues(ctx, &github.IssueListByRepoOptions{State: "open", Labels: spec.Labels, Since: start})
		for _, i := range list {
			if !i.IsPullRequest() && sameLogin(i.GetUser().GetLogin(), me.Login) && i.GetTitle() == spec.Title && i.GetBody() == body {
				made = i
				return true, nil
			}
		}
		return false, err
	}}, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		made, resp, err = api.Issues.Create(ctx, c.owner, c.repo, &github.IssueRequest{
			Title: github.String(spec.Title), Body: github.String(body), Labels: &labels,
		})
		return resp, err
	})
	if err != nil {
		return Issue{}, c.wrap(err, "open issue %q", spec.Title)
	}
	return toIssue(made), nil
}

// EditIssue changes issue number's title, body or state: closing it (with
// a reason) or reopening it. It refuses a pull request's number.
//
// GitHub API: PATCH /repos/{owner}/{repo}/issues/{issue_number}
func (c *Client) EditIssue(ctx context.Context, number int, u IssueUpdate) (Issue, error) {
	req := &github.IssueRequest{Title: u.Title}
	switch u.State {
	case "", "open", "closed":
	default:
		return Issue{}, c.wrap(fmt.Errorf("state %q: want open or closed", u.State), "edit issue #%d", number)
	}
	switch {
	case u.StateReason == "":
	case u.State == "closed" && (u.StateReason == "completed" || u.StateReason == "not_planned"),
		u.State == "open" && u.StateReason == "reopened":
		req.StateReason = github.String(u.StateReason)
	default:
		return Issue{}, c.wrap(fmt.Errorf("state reason %q with state %q: want completed or not_planned on closing, reopened on reopening", u.StateReason, u.State), "edit issue #%d", number)
	}
	if u.Title != nil && strings.TrimSpace(*u.Title) == "" {
		return Issue{}, c.wrap(errors.New("empty title"), "edit issue #%d", number)
	}
	if u.Body != nil {
		body, _ := fitBody(*u.Body, "")
		req.Body = &body
	}
	if u.State != "" {
		req.State = github.String(u.State)
	}
	var edited *github.Issue
	err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		edited, resp, err = api.Issues.Edit(ctx, c.owner, c.repo, number, req)
		return resp, err
	})
	if err != nil {
		return Issue{}, c.wrap(err, "edit issue #%d", number)
	}
	if edited.IsPullRequest() {
		return Issue{}, c.wrap(errors.New("is a pull request"), "edit issue #%d", number)
	}
	return toIssue(edited), nil
}

// CreateComment adds a comment (not a sticky one: see UpsertComment) to
// issue or pull request number and returns its html_url. A create whose
// answer is lost may have posted it all the same: before posting again it
// looks among the comments updated since just before the first attempt for
// one of the token's account with this body, so it is never doubled.
//
// GitHub API: POST /repos/{owner}/{repo}/issues/{number}/comments; after a
// lost answer GET /repos/{owner}/{repo}/issues/{number}/comments?since=;
// GET /user once for a personal token (see Identity)
func (c *Client) CreateComment(ctx context.Context, number int, body string) (string, error) {
	switch {
	case number <= 0:
		return "", c.wrap(fmt.Errorf("invalid number %d", number), "comment")
	case strings.TrimSpace(body) == "":
		return "", c.wrap(errors.New("empty body"), "comment on #%d", number)
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return "", c.wrap(err, "comment on #%d", number)
	}
	body, _ = fitBody(body, "")
	since := c.now().Add(-landedWindow)
	var made *github.IssueComment
	err = c.do(ctx, callOpts{write: true, landed: func(ctx context.Context) (bool, error) {
		found, err := c.firstComment(ctx, number, &since, func(ic *github.IssueComment) bool {
			return ic.GetBody() == body && sameLogin(ic.GetUser().GetLogin(), me.Login)
		})
		if found != nil {
			made = found
		}
		return found != nil, err
	}}, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		made, resp, err = api.Issues.CreateComment(ctx, c.owner, c.repo, number, &github.IssueComment{Body: github.String(body)})
		return resp, err
	})
	if err != nil {
		return "", c.wrap(err, "comment on #%d", number)
	}
	return made.GetHTMLURL(), nil
}
