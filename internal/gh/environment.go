package gh

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Environment is what a deployment environment's protection rules say about
// who may let a job that names it run.
type Environment struct {
	// Name is the environment's name as GitHub spells it (names are
	// case-insensitive: "Production" answers for "production").
	Name string
	// Exists is false when the repository has no such environment: a job
	// that names it creates it on the fly, unprotected.
	Exists bool
	// Reviewers counts the required reviewers (users and teams).
	Reviewers int
	// PreventSelfReview is true when a reviewer may not approve a run they
	// triggered themselves.
	PreventSelfReview bool
	// WaitTimer is the wait timer in minutes.
	WaitTimer int
	// BranchPolicy is true when deployment branches are restricted, which
	// holds back no one who can push to an allowed branch.
	BranchPolicy bool
	// SettingsURL is where an administrator adds protection rules.
	SettingsURL string
}

// Protected reports whether the environment holds a job until someone
// approves it or a wait timer runs out: a required_reviewers or a
// wait_timer protection rule.
func (e Environment) Protected() bool { return e.Exists && (e.Reviewers > 0 || e.WaitTimer > 0) }

// Environment reads the protection rules of the deployment environment
// name. A missing environment is no error: Exists is false. The token needs
// read access to the repository's environments (GITHUB_TOKEN: actions:
// read; GitHub App: Actions read or Environments read); without it GitHub
// answers 403, or 404 as for a missing environment, so a 404 is checked
// against the list of environments: when that is refused too, the error is
// ErrPermission, never a missing environment.
//
// GitHub API: GET /repos/{owner}/{repo}/environments/{environment_name},
// after a 404 GET /repos/{owner}/{repo}/environments?per_page=1
func (c *Client) Environment(ctx context.Context, name string) (Environment, error) {
	out := Environment{
		Name:        name,
		SettingsURL: c.htmlRepoURL() + "/settings/environments",
	}
	var env *github.Environment
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		var resp *github.Response
		var err error
		env, resp, err = api.Repositories.GetEnvironment(ctx, c.owner, c.repo, url.PathEscape(name))
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		if err := c.canListEnvironments(ctx); err != nil {
			return out, c.wrap(err, "read environment %q: GitHub answered 404, and refused the list of environments too, so the token cannot read them (it needs actions: read; a GitHub App Environments: read)", name)
		}
		return out, nil
	}
	if err != nil {
		return out, c.wrap(err, "read environment %q (the token needs actions: read; a GitHub App Environments: read)", name)
	}
	out.Exists = true
	if env.GetName() != "" {
		out.Name = env.GetName()
	}
	for _, r := range env.ProtectionRules {
		switch r.GetType() {
		case "required_reviewers":
			out.Reviewers += len(r.Reviewers)
			out.PreventSelfReview = r.GetPreventSelfReview()
		case "wait_timer":
			out.WaitTimer = r.GetWaitTimer()
		case "branch_policy":
			out.BranchPolicy = true
		}
	}
	return out, nil
}

// canListEnvironments tells a missing environment (the list answers) from
// a token that may not read any (the list is refused, 403 or 404).
//
// GitHub API: GET /repos/{owner}/{repo}/environments?per_page=1
func (c *Client) canListEnvironments(ctx context.Context) error {
	err := c.call(ctx, false, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		_, resp, err := api.Repositories.ListEnvironments(ctx, c.owner, c.repo, &github.EnvironmentListOptions{ListOptions: github.ListOptions{PerPage: 1}})
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		return &apiError{msg: fmt.Sprintf("%s (GitHub answered 404 to the list of environments)", ErrPermission), errs: []error{ErrPermission, err}}
	}
	return err
}

// htmlRepoURL is the repository's web address: github.com for the public
// API, the server itself for GitHub Enterprise Server (/api/v3 dropped).
func (c *Client) htmlRepoURL() string {
	if c.baseURL.Host == "api.github.com" {
		return "https://github.com/" + c.owner + "/" + c.repo
	}
	u := *c.baseURL
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	return strings.TrimSuffix(u.String(), "/") + "/" + c.owner + "/" + c.repo
}
