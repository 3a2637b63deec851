package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-github/v60/github"
)

// ErrReviewersRefused is returned when GitHub refuses a review request
// (422): a team or user without access to the repository ("Reviews may only
// be requested from collaborators"), an unknown team slug, or the pull
// request's own author.
var ErrReviewersRefused = errors.New("GitHub refused the review request")

// ErrTeamsUnreadable is a refusal (ErrReviewersRefused too) of a team
// review request made with a token that cannot read the organisation's
// teams: the workflow's GITHUB_TOKEN never can; a GitHub App needs the
// organization permission Members: read, a personal token read:org.
var ErrTeamsUnreadable = errors.New("the token cannot read the organisation's teams")

// Reviewers are the users (logins) and teams (slugs of the repository
// owner's organisation, without the organisation) asked to review.
type Reviewers struct {
	Users []string
	Teams []string
}

var teamSlugRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`) })

// RequestReviewers asks r's users and teams to review pull request number.
// GitHub only adds requests; it never removes one. A team that does not
// exist or has no access to the repository, a user without access, or the
// pull request's author is refused with ErrReviewersRefused, naming whom
// and what to do; a team asked with a token that cannot read the
// organisation's teams is refused with ErrTeamsUnreadable too.
//
// GitHub API: POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers
// with {"reviewers": [...], "team_reviewers": [...]}
func (c *Client) RequestReviewers(ctx context.Context, number int, r Reviewers) error {
	what := fmt.Sprintf("request reviews on pull request #%d", number)
	if number <= 0 {
		return c.wrap(fmt.Errorf("invalid number %d", number), "request reviews")
	}
	if len(r.Users) == 0 && len(r.Teams) == 0 {
		return c.wrap(errors.New("no reviewer or team given"), "%s", what)
	}
	for _, u := range r.Users {
		if !ownerRE().MatchString(u) {
			return c.wrap(fmt.Errorf("reviewer %q is not a GitHub login", u), "%s", what)
		}
	}
	for _, t := range r.Teams {
		if org, slug, ok := strings.Cut(t, "/"); ok {
			return c.wrap(fmt.Errorf("team %q: give the slug without the organisation (%q, of %s)", t, slug, org), "%s", what)
		}
		if !teamSlugRE().MatchString(t) {
			return c.wrap(fmt.Errorf("team %q is not a team slug (as in github.com/orgs/%s/teams/<slug>)", t, c.owner), "%s", what)
		}
	}
	err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		_, resp, err := api.PullRequests.RequestReviewers(ctx, c.owner, c.repo, number, github.ReviewersRequest{Reviewers: r.Users, TeamReviewers: r.Teams})
		return resp, err
	})
	if len(r.Teams) > 0 && validationMentions(err, "Could not resolve to a node") {
		return &apiError{
			msg: fmt.Sprintf("gh: %s: %s for team(s) %s: %s: the workflow's GITHUB_TOKEN never can; give the GitHub App the organization permission Members: read (and its token permission-members: read), or use a token with read:org",
				what, ErrReviewersRefused, strings.Join(r.Teams, ", "), ErrTeamsUnreadable),
			errs: []error{ErrReviewersRefused, ErrTeamsUnreadable, err},
		}
	}
	if isStatus(err, http.StatusUnprocessableEntity) {
		var whom []string
		if len(r.Teams) > 0 {
			whom = append(whom, "team(s) "+strings.Join(r.Teams, ", "))
		}
		if len(r.Users) > 0 {
			whom = append(whom, "user(s) "+strings.Join(r.Users, ", "))
		}
		return &apiError{
			msg: fmt.Sprintf("gh: %s: %s for %s: %s; check each team slug and give the team (and each user) at least read access to %s (Settings → Collaborators and teams)",
				what, ErrReviewersRefused, strings.Join(whom, " and "), errMessage(err), c.Repository()),
			errs: []error{ErrReviewersRefused, err},
		}
	}
	return c.wrap(err, "%s", what)
}
