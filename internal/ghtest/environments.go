package ghtest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

const environmentsDocs = "https://docs.github.com/rest/deployments/environments"

// Environment is a GitHub deployment environment as a repository
// administrator configures it; its protection rules are served the way
// GET /repos/{owner}/{repo}/environments/{name} documents them.
type Environment struct {
	// Reviewers are the logins of the required reviewers (a
	// required_reviewers rule when not empty).
	Reviewers []string
	// PreventSelfReview forbids a reviewer to approve a run they triggered.
	PreventSelfReview bool
	// WaitTimer is the wait timer in minutes (a wait_timer rule when > 0).
	WaitTimer int
	// BranchPolicy restricts the deployment branches (a branch_policy rule,
	// which protects nothing by itself: anyone who can push runs the job).
	BranchPolicy bool
}

// environment is a stored Environment under the name it was created with.
type environment struct {
	Environment
	name string
}

// SetEnvironment creates or replaces the environment name. Names are
// case-insensitive, as on GitHub: "Prod" replaces "prod" and keeps the new
// spelling. Environments not set are answered 404, as GitHub answers for
// one that was never created (a job that names it creates it unprotected).
func (s *Server) SetEnvironment(name string, env Environment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.environments == nil {
		s.environments = map[string]*environment{}
	}
	cp := env
	cp.Reviewers = append([]string(nil), env.Reviewers...)
	s.environments[strings.ToLower(name)] = &environment{Environment: cp, name: name}
}

// DenyEnvironments makes the environment endpoints answer as GitHub does
// for a token without actions: read (GITHUB_TOKEN) or Environments read (a
// GitHub App): status is 403 ("Resource not accessible by integration") or
// 404 ("Not Found", as for a private repository); 0 allows them again.
func (s *Server) DenyEnvironments(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.environmentsDeny = status
}

// denyEnvironments answers a denied request and reports whether it did.
func (s *Server) denyEnvironments(w http.ResponseWriter, doc string) bool {
	switch s.environmentsDeny {
	case 0:
		return false
	case http.StatusForbidden:
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", doc)
	default:
		writeError(w, s.environmentsDeny, "Not Found", doc)
	}
	return true
}

// GET /repos/{owner}/{repo}/environments?per_page=&page= — by name.
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, _ []string) {
	if s.denyEnvironments(w, environmentsDocs+"#list-environments") {
		return
	}
	var list []*environment
	for _, e := range s.environments {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].name) < strings.ToLower(list[j].name) })
	out := []map[string]any{}
	for _, e := range paginate(w, r, list) {
		out = append(out, s.environmentJSON(r, e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "environments": out})
}

// GET /repos/{owner}/{repo}/environments/{environment_name}
func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request, m []string) {
	if s.denyEnvironments(w, environmentsDocs+"#get-an-environment") {
		return
	}
	name, err := url.PathUnescape(m[1])
	env, ok := s.environments[strings.ToLower(name)]
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "Not Found", environmentsDocs+"#get-an-environment")
		return
	}
	writeJSON(w, http.StatusOK, s.environmentJSON(r, env))
}

func (s *Server) environmentJSON(r *http.Request, env *environment) map[string]any {
	name := env.name
	id := int64(161088068 + len(name))
	rules := []map[string]any{}
	ruleID := int64(3736)
	if env.WaitTimer > 0 {
		rules = append(rules, map[string]any{
			"id": ruleID, "node_id": fmt.Sprintf("GA_%d", ruleID), "type": "wait_timer", "wait_timer": env.WaitTimer,
		})
		ruleID++
	}
	if len(env.Reviewers) > 0 {
		var reviewers []map[string]any
		for i, login := range env.Reviewers {
			reviewers = append(reviewers, map[string]any{
				"type": "User",
				"reviewer": map[string]any{
					"login": login, "id": 1000 + i, "type": "User", "site_admin": false,
					"html_url": "https://github.com/" + login,
				},
			})
		}
		rules = append(rules, map[string]any{
			"id": ruleID, "node_id": fmt.Sprintf("GA_%d", ruleID), "prevent_self_review": env.PreventSelfReview,
			"type": "required_reviewers", "reviewers": reviewers,
		})
		ruleID++
	}
	var branchPolicy any
	if env.BranchPolicy {
		rules = append(rules, map[string]any{"id": ruleID, "node_id": fmt.Sprintf("GA_%d", ruleID), "type": "branch_policy"})
		branchPolicy = map[string]any{"protected_branches": false, "custom_branch_policies": true}
	}
	created := s.clock.Format(time.RFC3339)
	return map[string]any{
		"id":                       id,
		"node_id":                  fmt.Sprintf("EN_%d", id),
		"name":                     name,
		"url":                      s.apiURL(r, "environments/"+url.PathEscape(name)),
		"html_url":                 s.htmlURL("deployments/activity_log?environments_filter=" + url.QueryEscape(name)),
		"created_at":               created,
		"updated_at":               created,
		"can_admins_bypass":        true,
		"protection_rules":         rules,
		"deployment_branch_policy": branchPolicy,
	}
}
