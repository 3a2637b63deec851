package gh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
)

// UpsertCommentWith keeps one comment on issue or pull request number per
// marker, like UpsertComment, but builds the new body from the current one:
// build gets the body of the comment holding marker ("" when there is none)
// and returns the whole new body. Several jobs can so each keep their own
// part of one shared comment (the plan of each environment) without
// dropping the others'. The marker is prepended when the body lacks it and
// the body is cut to GitHub's limit as in UpsertComment. It returns the
// comment's html_url and whether an existing comment was edited.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments (pages until
// the marker is found), then PATCH /repos/{owner}/{repo}/issues/comments/{id}
// or POST /repos/{owner}/{repo}/issues/{number}/comments; nothing else.
func (c *Client) UpsertCommentWith(ctx context.Context, number int, marker string, build func(current string) string) (string, bool, error) {
	switch {
	case number <= 0:
		return "", false, c.wrap(fmt.Errorf("invalid number %d", number), "comment")
	case strings.TrimSpace(marker) == "":
		return "", false, c.wrap(errors.New("empty marker"), "comment on #%d", number)
	}
	existing, err := c.findComment(ctx, number, marker)
	if err != nil {
		return "", false, err
	}
	body, _ := fitBody(build(existing.GetBody()), marker)

	if existing != nil {
		if existing.GetBody() == body {
			return existing.GetHTMLURL(), true, nil
		}
		var edited *github.IssueComment
		err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
			var resp *github.Response
			var err error
			edited, resp, err = api.Issues.EditComment(ctx, c.owner, c.repo, existing.GetID(), &github.IssueComment{Body: github.String(body)})
			return resp, err
		})
		if err != nil {
			return "", false, c.wrap(err, "edit comment %d on #%d", existing.GetID(), number)
		}
		return edited.GetHTMLURL(), true, nil
	}

	var made *github.IssueComment
	err = c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		made, resp, err = api.Issues.CreateComment(ctx, c.owner, c.repo, number, &github.IssueComment{Body: github.String(body)})
		return resp, err
	})
	if err != nil {
		return "", false, c.wrap(err, "comment on #%d", number)
	}
	return made.GetHTMLURL(), false, nil
}

// findComment returns the first comment on number whose body holds marker
// and whose author this client may have been (trustedAuthor), or nil.
//
// GitHub API: GET /repos/{owner}/{repo}/issues/{number}/comments
func (c *Client) findComment(ctx context.Context, number int, marker string) (*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
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
			if strings.Contains(ic.GetBody(), marker) && trustedAuthor(ic) {
				return ic, nil
			}
		}
		if next == 0 {
			return nil, nil
		}
		opts.Page = next
	}
}

// trustedAuthor reports whether a marked comment may be one of ours: a
// bot's (the workflow token's github-actions[bot], a GitHub App's) or that
// of a member or collaborator of the repository (a personal token). Anyone
// who may comment can copy a marker into a comment of their own; taking
// such a comment over would put their text (other environments' plan
// sections) under ours, or, when the edit is refused, keep the audit
// comment from landing at all.
func trustedAuthor(ic *github.IssueComment) bool {
	if ic.GetUser().GetType() == "Bot" {
		return true
	}
	switch ic.GetAuthorAssociation() {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}
