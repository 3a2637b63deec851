package ghtest

import (
	"hash/fnv"
	"net/http"
	"strings"
)

// accountJSON is a simple-user object: a bot's type is Bot, anyone else's
// User. Logins are case-insensitive on GitHub; ids are stable per login.
func accountJSON(login string) map[string]any {
	if login == botLogin {
		return map[string]any{"login": botLogin, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=", "type": "Bot", "site_admin": false,
			"html_url": "https://github.com/apps/github-actions"}
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	kind, html := "User", "https://github.com/"+login
	if slug, ok := strings.CutSuffix(login, "[bot]"); ok {
		kind, html = "Bot", "https://github.com/apps/"+slug
	}
	return map[string]any{"login": login, "id": int64(h.Sum32()), "type": kind, "site_admin": false, "html_url": html}
}

// GET /user — the authenticated user; an installation token has none.
func (s *Server) getUser(w http.ResponseWriter, _ *http.Request, _ []string) {
	if s.identity.Installation {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
		return
	}
	writeJSON(w, http.StatusOK, accountJSON(s.identity.Login))
}

// AddCollaborator gives the user login access to the repository, so a
// review can be requested from them.
func (s *Server) AddCollaborator(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.collaborators == nil {
		s.collaborators = map[string]bool{}
	}
	s.collaborators[strings.ToLower(login)] = true
}

// AddTeam gives the organisation's team slug access to the repository, so
// a review can be requested from it. Other teams are unknown or have no
// access: GitHub answers 422 for them.
func (s *Server) AddTeam(slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.teams == nil {
		s.teams = map[string]bool{}
	}
	s.teams[strings.ToLower(slug)] = true
}

func (s *Server) teamJSON(slug string) map[string]any {
	h := fnv.New32a()
	h.Write([]byte(slug))
	org := "https://api.github.com/orgs/" + s.owner + "/teams/" + slug
	return map[string]any{
		"id": int64(h.Sum32()), "node_id": "T_" + slug, "name": slug, "slug": slug, "description": nil,
		"privacy": "closed", "notification_setting": "notifications_enabled", "permission": "push",
		"url": org, "html_url": "https://github.com/orgs/" + s.owner + "/teams/" + slug,
		"members_url": org + "/members{/member}", "repositories_url": org + "/repos", "parent": nil,
	}
}
