package gh

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Environment is what a deployment environment's protection rules say about
// who may let a job that names it run.
type Environment struct {
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
// read; GitHub App: Actions read or Environments read).
//
// GitHub API: GET /repos/{owner}/{repo}/environments/{environment_name}
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
		return out, nil
	}
	if err != nil {
		return out, c.wrap(err, "read environment %q (the token needs actions: read)", name)
	}
	out.Exists = true
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
