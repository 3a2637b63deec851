package ghtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const issueDocs = "https://docs.github.com/rest/issues/issues"

// issue is an issue; pull requests are issues too on GitHub, and the issue
// endpoints serve both (see issueItems).
type issue struct {
	ID          int64
	Number      int
	Title       string
	Body        string
	State       string // open or closed
	StateReason string // completed, not_planned, reopened or ""
	Labels      []string
	Author      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
}

// Issue is an issue as tests see it.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string
	StateReason string
	Labels      []string
	Author      string
}

func (s *Server) issue(number int) *issue {
	for _, i := range s.issues {
		if i.Number == number {
			return i
		}
	}
	return nil
}

// Issues lists the issues (not the pull requests), oldest first.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, i := range s.issues {
		out = append(out, Issue{Number: i.Number, Title: i.Title, Body: i.Body, State: i.State,
			StateReason: i.StateReason, Labels: append([]string(nil), i.Labels...), Author: i.Author})
	}
	return out
}

// AddIssueAs opens an issue as the user login, with labels, and returns
// its number.
func (s *Server) AddIssueAs(login, title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addIssue(login, title, body, labels).Number
}

func (s *Server) addIssue(author, title, body string, labels []string) *issue {
	now := s.now()
	i := &issue{ID: s.nextID, Number: s.nextNumber, Title: title, Body: body, State: "open",
		Author: author, CreatedAt: now, UpdatedAt: now}
	s.nextID++
	s.nextNumber++
	for _, l := range labels {
		s.addLabel(&i.Labels, l)
	}
	s.issues = append(s.issues, i)
	return i
}

// issueItem is an issue or a pull request as the issue endpoints see it.
type issueItem struct {
	number             int
	title, body, state string
	stateReason        string
	labels             []string
	author             string
	created, updated   time.Time
	closed             time.Time
	pull               bool
}

func (s *Server) issueItems() []issueItem {
	var out []issueItem
	for _, i := range s.issues {
		out = append(out, issueItem{i.Number, i.Title, i.Body, i.State, i.StateReason, i.Labels, i.Author, i.CreatedAt, i.UpdatedAt, i.ClosedAt, false})
	}
	for _, p := range s.pulls {
		out = append(out, issueItem{p.Number, p.Title, p.Body, p.State, "", p.Labels, p.Author, p.CreatedAt, p.UpdatedAt, p.ClosedAt, true})
	}
	return out
}

func (s *Server) issueJSON(r *http.Request, it issueItem) map[string]any {
	labels := make([]map[string]any, 0, len(it.labels))
	for _, l := range it.labels {
		labels = append(labels, s.labelJSON(r, l))
	}
	kind := "issues"
	if it.pull {
		kind = "pull"
	}
	out := map[string]any{
		"id":                 int64(900000 + it.number),
		"node_id":            fmt.Sprintf("I_%d", it.number),
		"url":                s.apiURL(r, fmt.Sprintf("issues/%d", it.number)),
		"repository_url":     strings.TrimSuffix(s.apiURL(r, ""), "/"),
		"comments_url":       s.apiURL(r, fmt.Sprintf("issues/%d/comments", it.number)),
		"html_url":           s.htmlURL(fmt.Sprintf("%s/%d", kind, it.number)),
		"number":             it.number,
		"state":              it.state,
		"state_reason":       nilIfEmpty(it.stateReason),
		"title":              it.title,
		"body":               it.body,
		"user":               accountJSON(it.author),
		"labels":             labels,
		"assignees":          []any{},
		"locked":             false,
		"comments":           s.countComments(it.number),
		"created_at":         it.created.Format(time.RFC3339),
		"updated_at":         it.updated.Format(time.RFC3339),
		"closed_at":          timeOrNil(it.closed),
		"author_association": "NONE",
	}
	if it.pull {
		out["pull_request"] = map[string]any{
			"url":      s.apiURL(r, fmt.Sprintf("pulls/%d", it.number)),
			"html_url": s.htmlURL(fmt.Sprintf("pull/%d", it.number)),
		}
	}
	return out
}

// sinceParam parses the since query parameter (ISO 8601); a bad value is
// answered 422 as GitHub does.
func sinceParam(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeValidation(w, fieldError{Resource: "Issue", Field: "since", Code: "invalid"}, issueDocs)
		return time.Time{}, false
	}
	return t, true
}

// GET /repos/{owner}/{repo}/issues?labels=&state=&creator=&since=&sort=&direction=
// — issues and pull requests (GitHub counts a pull request as an issue and
// marks it with a pull_request key), open by default, every label in
// labels required, newest first.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, _ []string) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		writeValidation(w, fieldError{Resource: "Issue", Field: "state", Code: "invalid"}, issueDocs+"#list-repository-issues")
		return
	}
	since, ok := sinceParam(w, r)
	if !ok {
		return
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var list []issueItem
	for _, it := range s.issueItems() {
		if (state != "all" && it.state != state) || it.updated.Before(since) ||
			(q.Get("creator") != "" && !strings.EqualFold(q.Get("creator"), it.author)) {
			continue
		}
		has := map[string]bool{}
		for _, l := range it.labels {
			has[strings.ToLower(l)] = true
		}
		all := true
		for _, l := range want {
			all = all && has[strings.ToLower(strings.TrimSpace(l))]
		}
		if all {
			list = append(list, it)
		}
	}
	key := func(it issueItem) time.Time { return it.created }
	if q.Get("sort") == "updated" {
		key = func(it issueItem) time.Time { return it.updated }
	}
	sort.SliceStable(list, func(i, j int) bool {
		if q.Get("direction") == "asc" {
			return key(list[i]).Before(key(list[j]))
		}
		return key(list[j]).Before(key(list[i]))
	})
	out := []map[string]any{}
	for _, it := range paginate(w, r, list) {
		out = append(out, s.issueJSON(r, it))
	}
	writeJSON(w, http.StatusOK, out)
}

// labelNames reads labels given as names or as {"name": ...} objects.
func labelNames(raw []any) ([]string, bool) {
	var names []string
	for _, x := range raw {
		switch x := x.(type) {
		case string:
			names = append(names, x)
		case map[string]any:
			name, _ := x["name"].(string)
			names = append(names, name)
		default:
			return nil, false
		}
	}
	return names, true
}

// POST /repos/{owner}/{repo}/issues — title required; labels that do not
// exist are created.
func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, _ []string) {
	const doc = issueDocs + "#create-an-issue"
	var in struct {
		Title  *string `json:"title"`
		Body   *string `json:"body"`
		Labels []any   `json:"labels"`
	}
	if !decode(w, r, &in) || bodyTooLong(w, "Issue", in.Body, doc) {
		return
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		writeValidation(w, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"}, doc)
		return
	}
	labels, ok := labelNames(in.Labels)
	if !ok {
		writeValidation(w, fieldError{Resource: "Issue", Field: "labels", Code: "invalid"}, doc)
		return
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	i := s.addIssue(s.identity.Login, *in.Title, body, labels)
	w.Header().Set("Location", s.apiURL(r, fmt.Sprintf("issues/%d", i.Number)))
	writeJSON(w, http.StatusCreated, s.issueJSON(r, s.itemOf(i.Number)))
}

func (s *Server) itemOf(number int) issueItem {
	for _, it := range s.issueItems() {
		if it.number == number {
			return it
		}
	}
	return issueItem{}
}

// PATCH /repos/{owner}/{repo}/issues/{number} — title, body, state (open,
// closed) and state_reason (completed, not_planned, reopened); on a pull
// request number it edits the pull request.
func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = issueDocs + "#update-an-issue"
	n, _ := strconv.Atoi(m[1])
	var in struct {
		Title       *string `json:"title"`
		Body        *string `json:"body"`
		State       *string `json:"state"`
		StateReason *string `json:"state_reason"`
	}
	if !decode(w, r, &in) || bodyTooLong(w, "Issue", in.Body, doc) {
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		writeValidation(w, fieldError{Resource: "Issue", Field: "state", Code: "invalid"}, doc)
		return
	}
	if in.StateReason != nil {
		switch *in.StateReason {
		case "completed", "not_planned", "reopened":
		default:
			writeValidation(w, fieldError{Resource: "Issue", Field: "state_reason", Code: "invalid"}, doc)
			return
		}
	}
	if p := s.pull(n); p != nil {
		if in.Title != nil {
			p.Title = *in.Title
		}
		if in.Body != nil {
			p.Body = *in.Body
		}
		if in.State != nil && *in.State != p.State && !p.Merged {
			p.State, p.ClosedAt = *in.State, time.Time{}
			if p.State == "closed" {
				p.HeadSHA, p.ClosedAt = s.refs[p.Head], s.now()
			}
		}
		p.UpdatedAt = s.now()
		writeJSON(w, http.StatusOK, s.issueJSON(r, s.itemOf(n)))
		return
	}
	i := s.issue(n)
	if i == nil {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	if in.Title != nil {
		if strings.TrimSpace(*in.Title) == "" {
			writeValidation(w, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"}, doc)
			return
		}
		i.Title = *in.Title
	}
	if in.Body != nil {
		i.Body = *in.Body
	}
	now := s.now()
	if in.State != nil && *in.State != i.State {
		i.State = *in.State
		if i.State == "closed" {
			i.ClosedAt, i.StateReason = now, "completed"
		} else {
			i.ClosedAt, i.StateReason = time.Time{}, "reopened"
		}
	}
	if in.StateReason != nil {
		i.StateReason = *in.StateReason
	}
	i.UpdatedAt = now
	writeJSON(w, http.StatusOK, s.issueJSON(r, s.itemOf(n)))
}
