package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// WorkflowBot is the account the workflow's GITHUB_TOKEN posts as.
const WorkflowBot = "github-actions[bot]"

// ErrUnknownIdentity is returned when the client cannot tell which account
// its token posts as, so it cannot tell its own comments from copies.
var ErrUnknownIdentity = errors.New("cannot tell which account the GitHub token posts as")

// Identity is the account the client's token acts as: the author of every
// comment it posts, and so the only author whose marked comment it adopts.
type Identity struct {
	// Login is "github-actions[bot]" for the workflow's GITHUB_TOKEN,
	// "<slug>[bot]" for a GitHub App's installation token, the user's login
	// for a personal token.
	Login string
	// Source says how Login was learned, for the log.
	Source string
}

// Identity returns the account the token posts as, learned once:
//   - with Options.AppSlug, the App's bot "<slug>[bot]" (an installation
//     token can call neither GET /user nor GET /app, so the App cannot be
//     learned from GitHub);
//   - for an installation token ("ghs_", or one GET /user refuses as
//     "not accessible by integration") without AppSlug, the workflow's
//     github-actions[bot];
//   - for a personal or user token ("ghp_", "github_pat_", "gho_", "ghu_"
//     or another format), the user GET /user answers.
//
// An App token taken for the workflow token is caught when GitHub answers
// a new comment with another author (IdentityMismatchError).
//
// GitHub API: GET /user (user tokens only)
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	c.mu.Lock()
	known := c.identity
	c.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	id, err := c.learnIdentity(ctx)
	if err != nil {
		return Identity{}, err
	}
	c.mu.Lock()
	c.identity = &id
	c.mu.Unlock()
	return id, nil
}

func (c *Client) learnIdentity(ctx context.Context) (Identity, error) {
	workflow := Identity{Login: WorkflowBot, Source: "an installation token without an App slug, taken for the workflow's GITHUB_TOKEN"}
	switch {
	case c.appSlug != "":
		return Identity{Login: c.appSlug + "[bot]", Source: fmt.Sprintf("the installation token of GitHub App %q", c.appSlug)}, nil
	case c.token == "":
		return Identity{}, c.wrap(fmt.Errorf("%w: no token", ErrUnknownIdentity), "identify the token")
	case strings.HasPrefix(c.token, "ghs_"):
		return workflow, nil
	}
	var user *github.User
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		user, resp, err = api.Users.Get(ctx, "")
		return resp, err
	})
	switch {
	case isStatus(err, http.StatusForbidden) && strings.Contains(strings.ToLower(errMessage(err)), "integration"):
		return workflow, nil
	case err != nil:
		return Identity{}, c.wrap(fmt.Errorf("%w: %w", ErrUnknownIdentity, err), "identify the token (GET /user)")
	case user.GetLogin() == "":
		return Identity{}, c.wrap(fmt.Errorf("%w: GET /user named no login", ErrUnknownIdentity), "identify the token")
	}
	return Identity{Login: user.GetLogin(), Source: "the user of the token (GET /user)"}, nil
}

// errMessage is the message of a GitHub error response, or "".
func errMessage(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Message
	}
	return ""
}

// IdentityMismatchError reports a comment GitHub says another account
// wrote than the one the client took its token for: the comment is posted,
// but the next run will not recognise it as its own and posts another.
type IdentityMismatchError struct {
	URL      string // the comment
	Expected string // Identity().Login
	Actual   string // the author GitHub names
}

func (e *IdentityMismatchError) Error() string {
	hint := ""
	if slug, ok := strings.CutSuffix(e.Actual, "[bot]"); ok && e.Actual != WorkflowBot {
		hint = fmt.Sprintf(": the token is GitHub App %q's, so give its slug %q", slug, slug)
	}
	return fmt.Sprintf("GitHub posted %s as %s, but comments are adopted only from %s, so the next run will not edit it%s", e.URL, e.Actual, e.Expected, hint)
}

// sameLogin compares logins as GitHub does: case-insensitively.
func sameLogin(a, b string) bool { return a != "" && strings.EqualFold(a, b) }
