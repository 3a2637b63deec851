package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/report"
)

// eventPullRequest returns the pull request number the triggering event
// names (pull_request, pull_request_target, issue_comment on a pull
// request), or 0.
func eventPullRequest(path string) int {
	if path == "" {
		return 0
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var ev struct {
		Number      int `json:"number"`
		PullRequest *struct {
			Number int `json:"number"`
		} `json:"pull_request"`
		Issue *struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return 0
	}
	switch {
	case ev.PullRequest != nil && ev.PullRequest.Number > 0:
		return ev.PullRequest.Number
	case ev.Issue != nil && len(ev.Issue.PullRequest) > 0 && ev.Issue.Number > 0:
		return ev.Issue.Number
	}
	return 0
}

// commentOnPullRequest keeps the audit comment of one environment on the
// pull request behind this run: the one the event names, else, for a push,
// the merged pull request whose commit was pushed. It returns the comment's
// URL, or "" when there is no pull request or commenting failed — which is
// a warning, never a failure of the provisioning.
func (rt *runtime) commentOnPullRequest(ctx context.Context, env, body string) string {
	warn := func(format string, args ...any) string {
		rt.annotate("warning", annotation{Title: "rds-provision: pull request comment", Message: fmt.Sprintf(format, args...)})
		return ""
	}
	number := eventPullRequest(rt.opts.Getenv("GITHUB_EVENT_PATH"))
	event, sha := rt.opts.Getenv("GITHUB_EVENT_NAME"), rt.opts.Getenv("GITHUB_SHA")
	if number == 0 && (event != "push" || sha == "") {
		rt.gha.Infof("No pull request to comment on (event %q); the audit is in the job summary.", event)
		return ""
	}
	client, err := rt.commenter(ctx)
	if err != nil {
		return warn("Not commenting on the pull request: %v", err)
	}
	if number == 0 {
		pr, found, err := client.PullRequestForCommit(ctx, sha)
		switch {
		case err != nil:
			return warn("Could not find the pull request of commit %s: %v", sha, err)
		case !found || !pr.Merged:
			rt.gha.Infof("Commit %s did not come from a merged pull request; the audit is in the job summary.", sha)
			return ""
		}
		number = pr.Number
	}
	url, updated, err := client.UpsertComment(ctx, number, report.CommentMarker(env), body)
	if url, ok := rt.otherAuthor(url, err); ok {
		return url
	}
	if err != nil {
		return warn("Could not comment on pull request #%d: %v", number, err)
	}
	verb := "Posted"
	if updated {
		verb = "Updated"
	}
	rt.gha.Infof("%s the %s audit on pull request #%d: %s", verb, env, number, url)
	return url
}

// commenter returns the GitHub client for the pull request comments, once
// it knows the account the token posts as: a marked comment (plan, audit)
// is taken over only when that account wrote it, so a copy of the marker
// in anyone else's comment (a collaborator's, the pull request author's)
// never becomes the tool's. The log says whose comments are adopted.
func (rt *runtime) commenter(ctx context.Context) (*gh.Client, error) {
	client, err := rt.github()
	if err != nil {
		return nil, err
	}
	id, err := client.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w (for a GitHub App token, set the input github_app_slug: the reusable workflows pass actions/create-github-app-token's app-slug output)", err)
	}
	rt.gha.Infof("Pull request comments: a marked comment is taken as rds-provision's only when %s wrote it (%s).", id.Login, id.Source)
	return client, nil
}

// otherAuthor handles a comment GitHub posted under another account than
// the action expected (an App token without github_app_slug): the comment
// is there, so its URL is kept, and the warning says which slug to set so
// the next run edits it instead of posting another.
func (rt *runtime) otherAuthor(url string, err error) (string, bool) {
	var mismatch *gh.IdentityMismatchError
	if !errors.As(err, &mismatch) {
		return "", false
	}
	remedy := "set the input github_token to a token of that account, or github_app_slug to its App's slug"
	if slug, ok := strings.CutSuffix(mismatch.Actual, "[bot]"); ok && mismatch.Actual != gh.WorkflowBot {
		remedy = fmt.Sprintf("set the input github_app_slug: %s (the reusable workflows pass steps.app-token.outputs.app-slug)", slug)
	}
	rt.annotate("warning", annotation{Title: "rds-provision: pull request comment", Message: fmt.Sprintf(
		"GitHub posted %s as %s, but the action adopts only comments by %s, so the next run will add another instead of editing it: %s.",
		url, mismatch.Actual, mismatch.Expected, remedy)})
	return url, true
}
