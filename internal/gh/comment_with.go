package gh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// UpsertCommentWith keeps one comment on issue or pull request number per
// marker, like UpsertComment, but builds the new body from the current one:
// build gets the body of our comment holding marker ("" when there is none)
// and returns the whole new body. Several jobs can so each keep their own
// part of one shared comment (the plan of each environment) without
// dropping the others'. Only a comment whose author is the token's own
// account (Identity) is ours: a copy of the marker in anyone else's comment
// is neither read nor edited, so it contributes nothing. The marker is
// prepended when the body lacks it and the body is cut to GitHub's limit as
// in UpsertComment. It returns the comment's html_url and whether an
// existing comment was edited.
//
// A create whose answer is lost (a 5xx, a dropped connection) may have
// created the comment all the same: the comments are listed again before it
// is posted again, so it is never doubled. When GitHub names another author
// for the new comment than Identity, the URL is returned with an
// *IdentityMismatchError.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments (pages until
// the marker is found), then PATCH /repos/{owner}/{repo}/issues/comments/{id}
// or POST /repos/{owner}/{repo}/issues/{number}/comments; GET /user once for
// a personal token (see Identity).
func (c *Client) UpsertCommentWith(ctx context.Context, number int, marker string, build func(current string) string) (string, bool, error) {
	switch {
	case number <= 0:
		return "", false, c.wrap(fmt.Errorf("invalid number %d", number), "comment")
	case strings.TrimSpace(marker) == "":
		return "", false, c.wrap(errors.New("empty marker"), "comment on #%d", number)
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return "", false, c.wrap(err, "comment on #%d", number)
	}
	existing, err := c.findComment(ctx, number, marker, me.Login)
	if err != nil {
		return "", false, err
	}
	if existing != nil {
		url, err := c.editComment(ctx, number, marker, existing, build)
		return url, true, err
	}

	body, _ := fitBody(build(""), marker)
	var made *github.IssueComment
	adopted := false
	err = c.do(ctx, callOpts{write: true, landed: func(ctx context.Context) (bool, error) {
		found, err := c.findComment(ctx, number, marker, me.Login)
		made, adopted = found, found != nil
		return adopted, err
	}}, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		made, resp, err = api.Issues.CreateComment(ctx, c.owner, c.repo, number, &github.IssueComment{Body: github.String(body)})
		return resp, err
	})
	if err != nil {
		return "", false, c.wrap(err, "comment on #%d", number)
	}
	if adopted && made.GetBody() != body {
		// Not the attempt's own text: another run's meanwhile. Build on it.
		url, err := c.editComment(ctx, number, marker, made, build)
		return url, true, err
	}
	if author := made.GetUser().GetLogin(); !sameLogin(author, me.Login) {
		return made.GetHTMLURL(), false, &IdentityMismatchError{URL: made.GetHTMLURL(), Expected: me.Login, Actual: author}
	}
	return made.GetHTMLURL(), false, nil
}

// editComment sets existing's body to what build makes of it; an
// unchanged body is not sent.
//
// GitHub API: PATCH /repos/{owner}/{repo}/issues/comments/{id}
func (c *Client) editComment(ctx context.Context, number int, marker string, existing *github.IssueComment, build func(string) string) (string, error) {
	body, _ := fitBody(build(existing.GetBody()), marker)
	if existing.GetBody() == body {
		return existing.GetHTMLURL(), nil
	}
	var edited *github.IssueComment
	err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		edited, resp, err = api.Issues.EditComment(ctx, c.owner, c.repo, existing.GetID(), &github.IssueComment{Body: github.String(body)})
		return resp, err
	})
	if err != nil {
		return "", c.wrap(err, "edit comment %d on #%d", existing.GetID(), number)
	}
	return edited.GetHTMLURL(), nil
}

// findComment returns the first comment on number whose body holds marker
// and whose author is login (the token's own account), or nil. Anyone who
// may comment can copy a marker into a comment of their own, a pull
// request's author included; taking such a comment over would put their
// text (other environments' plan sections) under ours, or, when they edit
// it later, rewrite the audit.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments
func (c *Client) findComment(ctx context.Context, number int, marker, login string) (*github.IssueComment, error) {
	return c.firstComment(ctx, number, nil, func(ic *github.IssueComment) bool {
		return strings.Contains(ic.GetBody(), marker) && sameLogin(ic.GetUser().GetLogin(), login)
	})
}

// firstComment pages through the comments on number (those updated since,
// when not nil) until match holds for one, and returns it, or nil.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments?since=
func (c *Client) firstComment(ctx context.Context, number int, since *time.Time, match func(*github.IssueComment) bool) (*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{Since: since, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var page []*github.IssueComment
		var next int
		err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			page, resp, err = api.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return nil, c.wrap(err, "list comments of #%d", number)
		}
		for _, ic := range page {
			if match(ic) {
				return ic, nil
			}
		}
		if next == 0 {
			return nil, nil
		}
		opts.Page = next
	}
}
