package ghtest

import (
	"cmp"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	pullDocs    = "https://docs.github.com/rest/pulls/pulls"
	commentDocs = "https://docs.github.com/rest/issues/comments"
	botLogin    = "github-actions[bot]"
)

type pull struct {
	ID             int64
	Number         int
	Title          string
	Body           string
	Head           string
	Base           string
	HeadSHA        string // frozen once closed; else read from the branch
	State          string
	Draft          bool
	Merged         bool
	Labels         []string
	Author         string   // login of who opened it
	RequestedUsers []string // logins whose review is requested
	RequestedTeams []string // team slugs whose review is requested
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClosedAt       time.Time
	MergedAt       time.Time
	MergeCommitSHA string
}

type comment struct {
	ID        int64
	Issue     int
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Author is the login of who posted it: the token's identity for a
	// comment made through the API.
	Author string
	// Association is the author's author_association (NONE, CONTRIBUTOR,
	// MEMBER, ...), as GitHub reports it.
	Association string
}

// PullRequest is a pull request as tests see it.
type PullRequest struct {
	Number         int
	Title          string
	Body           string
	Head           string
	Base           string
	State          string // "open" or "closed"
	Merged         bool
	MergeCommitSHA string
	Labels         []string
	// RequestedReviewers and RequestedTeams are the users and team slugs
	// whose review is requested.
	RequestedReviewers []string
	RequestedTeams     []string
}

// Comment is an issue comment as tests see it.
type Comment struct {
	ID     int64
	Body   string
	URL    string // html_url
	Author string // login
}

func (s *Server) pull(number int) *pull {
	for _, p := range s.pulls {
		if p.Number == number {
			return p
		}
	}
	return nil
}

func (s *Server) now() time.Time {
	s.seq++
	return s.clock.Add(time.Duration(s.seq) * time.Minute)
}

// PullRequests lists every pull request, oldest first.
func (s *Server) PullRequests() []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PullRequest, 0, len(s.pulls))
	for _, p := range s.pulls {
		out = append(out, PullRequest{
			Number: p.Number, Title: p.Title, Body: p.Body, Head: p.Head, Base: p.Base,
			State: p.State, Merged: p.Merged, MergeCommitSHA: p.MergeCommitSHA,
			Labels:             append([]string(nil), p.Labels...),
			RequestedReviewers: append([]string(nil), p.RequestedUsers...),
			RequestedTeams:     append([]string(nil), p.RequestedTeams...),
		})
	}
	return out
}

// OpenPullRequest opens a pull request head -> base directly, as a person
// (octocat) would in the web UI, and returns its number. It panics if a
// branch is missing.
func (s *Server) OpenPullRequest(head, base, title, body string) int {
	return s.OpenPullRequestAs("octocat", head, base, title, body)
}

// OpenPullRequestAs opens a pull request as the user login.
func (s *Server) OpenPullRequestAs(login, head, base, title, body string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refs[head]; !ok {
		panic("ghtest: OpenPullRequest: no branch " + head)
	}
	if _, ok := s.refs[base]; !ok {
		panic("ghtest: OpenPullRequest: no branch " + base)
	}
	return s.addPull(login, head, base, title, body, false).Number
}

func (s *Server) addPull(author, head, base, title, body string, draft bool) *pull {
	now := s.now()
	p := &pull{
		ID: s.nextID, Number: s.nextNumber, Title: title, Body: body, Head: head, Base: base,
		State: "open", Draft: draft, Author: author, CreatedAt: now, UpdatedAt: now,
	}
	s.nextID++
	s.nextNumber++
	s.pulls = append(s.pulls, p)
	return p
}

// Comments lists the comments on issue or pull request number, oldest first.
func (s *Server) Comments(number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Issue == number {
			out = append(out, Comment{ID: c.ID, Body: c.Body, URL: s.commentHTML(c), Author: c.Author})
		}
	}
	return out
}

// AddComment posts a comment as a user without access to the repository
// would (octocat, author_association NONE), and returns its ID.
func (s *Server) AddComment(number int, body string) int64 {
	return s.AddCommentAs(number, "octocat", "NONE", body)
}

// AddCommentAs posts a comment as user login, whose author_association on
// the repository is association (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR,
// NONE, ...), and returns its ID.
func (s *Server) AddCommentAs(number int, login, association, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.addComment(number, login, body)
	c.Association = association
	return c.ID
}

func (s *Server) addComment(number int, author, body string) *comment {
	now := s.now()
	c := &comment{ID: s.nextID, Issue: number, Body: body, Author: author, CreatedAt: now, UpdatedAt: now}
	s.nextID++
	s.comments = append(s.comments, c)
	return c
}

func (s *Server) commentHTML(c *comment) string {
	kind := "pull"
	if s.pull(c.Issue) == nil {
		kind = "issues"
	}
	return s.htmlURL(fmt.Sprintf("%s/%d#issuecomment-%d", kind, c.Issue, c.ID))
}

func (s *Server) labelJSON(r *http.Request, name string) map[string]any {
	id := s.labels[name]
	return map[string]any{
		"id": id, "node_id": fmt.Sprintf("LA_%d", id), "url": s.apiURL(r, "labels/"+name),
		"name": name, "color": "ededed", "default": false, "description": nil,
	}
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (s *Server) pullJSON(r *http.Request, p *pull, single bool) map[string]any {
	headSHA := p.HeadSHA
	if p.State == "open" || headSHA == "" {
		headSHA = s.refs[p.Head]
	}
	repoJSON := map[string]any{
		"id": 1, "name": s.repo, "full_name": s.owner + "/" + s.repo,
		"owner":    map[string]any{"login": s.owner},
		"html_url": s.htmlURL(""), "url": s.apiURL(r, "")[:len(s.apiURL(r, ""))-1],
		"default_branch": s.defaultBranch,
	}
	labels := make([]map[string]any, 0, len(p.Labels))
	for _, l := range p.Labels {
		labels = append(labels, s.labelJSON(r, l))
	}
	out := map[string]any{
		"id":               p.ID,
		"node_id":          fmt.Sprintf("PR_%d", p.ID),
		"number":           p.Number,
		"state":            p.State,
		"locked":           false,
		"title":            p.Title,
		"body":             p.Body,
		"user":             accountJSON(p.Author),
		"draft":            p.Draft,
		"labels":           labels,
		"url":              s.apiURL(r, fmt.Sprintf("pulls/%d", p.Number)),
		"html_url":         s.htmlURL(fmt.Sprintf("pull/%d", p.Number)),
		"issue_url":        s.apiURL(r, fmt.Sprintf("issues/%d", p.Number)),
		"comments_url":     s.apiURL(r, fmt.Sprintf("issues/%d/comments", p.Number)),
		"created_at":       p.CreatedAt.Format(time.RFC3339),
		"updated_at":       p.UpdatedAt.Format(time.RFC3339),
		"closed_at":        timeOrNil(p.ClosedAt),
		"merged_at":        timeOrNil(p.MergedAt),
		"merge_commit_sha": nilIfEmpty(p.MergeCommitSHA),
		"head": map[string]any{
			"label": s.owner + ":" + p.Head, "ref": p.Head, "sha": headSHA,
			"user": map[string]any{"login": s.owner}, "repo": repoJSON,
		},
		"base": map[string]any{
			"label": s.owner + ":" + p.Base, "ref": p.Base, "sha": s.refs[p.Base],
			"user": map[string]any{"login": s.owner}, "repo": repoJSON,
		},
		"author_association":  "NONE",
		"requested_reviewers": s.usersJSON(p.RequestedUsers),
		"requested_teams":     s.teamsJSON(p.RequestedTeams),
	}
	if single {
		out["merged"] = p.Merged
		out["mergeable"] = nil
		out["comments"] = s.countComments(p.Number)
	}
	return out
}

func (s *Server) usersJSON(logins []string) []map[string]any {
	out := []map[string]any{}
	for _, l := range logins {
		out = append(out, accountJSON(l))
	}
	return out
}

func (s *Server) teamsJSON(slugs []string) []map[string]any {
	out := []map[string]any{}
	for _, t := range slugs {
		out = append(out, s.teamJSON(t))
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) countComments(number int) int {
	n := 0
	for _, c := range s.comments {
		if c.Issue == number {
			n++
		}
	}
	return n
}

// GET /repos/{owner}/{repo}/pulls?state=&head=&base=
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, _ []string) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != s.owner {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		head = branch
	}
	var list []*pull
	for _, p := range s.pulls {
		if (state != "all" && p.State != state) || (head != "" && p.Head != head) ||
			(q.Get("base") != "" && p.Base != q.Get("base")) {
			continue
		}
		list = append(list, p)
	}
	// Default sort is created, descending for the list endpoint.
	if q.Get("direction") != "asc" {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Number > list[j].Number })
	}
	out := []map[string]any{}
	for _, p := range paginate(w, r, list) {
		out = append(out, s.pullJSON(r, p, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// POST /repos/{owner}/{repo}/pulls
func (s *Server) createPull(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		Title *string `json:"title"`
		Head  string  `json:"head"`
		Base  string  `json:"base"`
		Body  string  `json:"body"`
		Draft bool    `json:"draft"`
		Issue *int    `json:"issue"`
	}
	if !decode(w, r, &in) {
		return
	}
	const doc = pullDocs + "#create-a-pull-request"
	head := in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok && owner == s.owner {
		head = branch
	}
	switch {
	case in.Title == nil && in.Issue == nil:
		writeValidation(w, fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"}, doc)
		return
	case bodyTooLong(w, "PullRequest", &in.Body, doc):
		return
	}
	if _, ok := s.refs[in.Base]; !ok {
		writeValidation(w, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"}, doc)
		return
	}
	if _, ok := s.refs[head]; !ok {
		writeValidation(w, fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"}, doc)
		return
	}
	for _, p := range s.pulls {
		if p.State == "open" && p.Head == head && p.Base == in.Base {
			writeValidation(w, fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", s.owner, head)}, doc)
			return
		}
	}
	if s.ancestors(s.refs[in.Base])[s.refs[head]] {
		writeValidation(w, fieldError{Resource: "PullRequest", Code: "custom",
			Message: "No commits between " + in.Base + " and " + head}, doc)
		return
	}
	title := ""
	if in.Title != nil {
		title = *in.Title
	}
	p := s.addPull(s.identity.Login, head, in.Base, title, in.Body, in.Draft)
	writeJSON(w, http.StatusCreated, s.pullJSON(r, p, true))
}

// GET /repos/{owner}/{repo}/pulls/{number}
func (s *Server) getPull(w http.ResponseWriter, r *http.Request, m []string) {
	n, _ := strconv.Atoi(m[1])
	p := s.pull(n)
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found", pullDocs+"#get-a-pull-request")
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(r, p, true))
}

// PATCH /repos/{owner}/{repo}/pulls/{number}
func (s *Server) editPull(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = pullDocs + "#update-a-pull-request"
	n, _ := strconv.Atoi(m[1])
	p := s.pull(n)
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if !decode(w, r, &in) {
		return
	}
	if bodyTooLong(w, "PullRequest", in.Body, doc) {
		return
	}
	if in.Base != nil {
		if _, ok := s.refs[*in.Base]; !ok {
			writeValidation(w, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"}, doc)
			return
		}
		p.Base = *in.Base
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.State != nil {
		switch *in.State {
		case "open":
			if p.Merged {
				writeValidation(w, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"}, doc)
				return
			}
			p.State, p.ClosedAt = "open", time.Time{}
		case "closed":
			if p.State == "open" {
				p.HeadSHA = s.refs[p.Head]
			}
			p.State, p.ClosedAt = "closed", s.now()
		default:
			writeValidation(w, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"}, doc)
			return
		}
	}
	p.UpdatedAt = s.now()
	writeJSON(w, http.StatusOK, s.pullJSON(r, p, true))
}

// POST /repos/{owner}/{repo}/issues/{number}/labels — the body is either a
// JSON array of names or {"labels": [...]}; unknown labels are created.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request, m []string) {
	n, _ := strconv.Atoi(m[1])
	labels := s.labelsOf(n)
	if labels == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue")
		return
	}
	var raw any
	if !decode(w, r, &raw) {
		return
	}
	if obj, isObj := raw.(map[string]any); isObj {
		raw = obj["labels"]
	}
	arr, ok := raw.([]any)
	var names []string
	if ok {
		names, ok = labelNames(arr)
	}
	if !ok {
		writeValidation(w, fieldError{Resource: "Label", Field: "labels", Code: "invalid"}, "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue")
		return
	}
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			writeValidation(w, fieldError{Resource: "Label", Field: "name", Code: "missing_field"}, "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue")
			return
		}
		s.addLabel(labels, name)
	}
	out := []map[string]any{}
	for _, l := range *labels {
		out = append(out, s.labelJSON(r, l))
	}
	writeJSON(w, http.StatusOK, out)
}

// labelsOf returns the labels of issue or pull request number, nil when
// there is none.
func (s *Server) labelsOf(number int) *[]string {
	if p := s.pull(number); p != nil {
		return &p.Labels
	}
	if i := s.issue(number); i != nil {
		return &i.Labels
	}
	return nil
}

// addLabel puts name on labels, creating the repository's label if needed,
// as GitHub does for a label that does not exist yet.
func (s *Server) addLabel(labels *[]string, name string) {
	if _, ok := s.labels[name]; !ok {
		s.labels[name] = s.nextID
		s.nextID++
	}
	for _, l := range *labels {
		if l == name {
			return
		}
	}
	*labels = append(*labels, name)
}

// GET /repos/{owner}/{repo}/commits/{sha}/pulls — the merged pull request
// whose merge commit is sha, and pull requests whose head contains sha.
func (s *Server) pullsForCommit(w http.ResponseWriter, r *http.Request, m []string) {
	sha := m[1]
	if c, ok := s.resolve(sha); ok {
		sha = c.SHA
	} else {
		writeValidation(w, fieldError{Resource: "Commit", Field: "sha", Code: "invalid",
			Message: "No commit found for SHA: " + m[1]}, "https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit")
		return
	}
	var list []*pull
	for _, p := range s.pulls {
		if p.MergeCommitSHA == sha {
			list = append(list, p)
			continue
		}
		head := p.HeadSHA
		if p.State == "open" || head == "" {
			head = s.refs[p.Head]
		}
		if head != "" && s.ancestors(head)[sha] && !s.ancestors(s.refs[p.Base])[sha] {
			list = append(list, p)
		}
	}
	out := []map[string]any{}
	for _, p := range paginate(w, r, list) {
		out = append(out, s.pullJSON(r, p, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) commentJSON(r *http.Request, c *comment) map[string]any {
	return map[string]any{
		"id":                 c.ID,
		"node_id":            fmt.Sprintf("IC_%d", c.ID),
		"url":                s.apiURL(r, fmt.Sprintf("issues/comments/%d", c.ID)),
		"html_url":           s.commentHTML(c),
		"issue_url":          s.apiURL(r, fmt.Sprintf("issues/%d", c.Issue)),
		"body":               c.Body,
		"user":               accountJSON(c.Author),
		"created_at":         c.CreatedAt.Format(time.RFC3339),
		"updated_at":         c.UpdatedAt.Format(time.RFC3339),
		"author_association": cmp.Or(c.Association, "NONE"),
	}
}

// GET /repos/{owner}/{repo}/issues/{number}/comments?since=&per_page=&page=
// — oldest first; since keeps the comments updated at or after it.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request, m []string) {
	n, _ := strconv.Atoi(m[1])
	if s.labelsOf(n) == nil {
		writeError(w, http.StatusNotFound, "Not Found", commentDocs+"#list-issue-comments")
		return
	}
	since, ok := sinceParam(w, r)
	if !ok {
		return
	}
	var list []*comment
	for _, c := range s.comments {
		if c.Issue == n && !c.UpdatedAt.Before(since) {
			list = append(list, c)
		}
	}
	out := []map[string]any{}
	for _, c := range paginate(w, r, list) {
		out = append(out, s.commentJSON(r, c))
	}
	writeJSON(w, http.StatusOK, out)
}

func commentBodyOK(w http.ResponseWriter, body *string, doc string) bool {
	switch {
	case body == nil || *body == "":
		writeValidation(w, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"}, doc)
		return false
	}
	return !bodyTooLong(w, "IssueComment", body, doc)
}

// bodyTooLong answers GitHub's 422 for a body (of resource) over
// MaxCommentLength characters and reports whether it did.
func bodyTooLong(w http.ResponseWriter, resource string, body *string, doc string) bool {
	if body == nil || utf8.RuneCountInString(*body) <= MaxCommentLength {
		return false
	}
	writeValidation(w, fieldError{Resource: resource, Field: "body", Code: "custom",
		Message: fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentLength)}, doc)
	return true
}

// POST /repos/{owner}/{repo}/issues/{number}/comments
func (s *Server) createComment(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = commentDocs + "#create-an-issue-comment"
	n, _ := strconv.Atoi(m[1])
	if s.labelsOf(n) == nil {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !decode(w, r, &in) || !commentBodyOK(w, in.Body, doc) {
		return
	}
	c := s.addComment(n, s.identity.Login, *in.Body)
	writeJSON(w, http.StatusCreated, s.commentJSON(r, c))
}

// PATCH /repos/{owner}/{repo}/issues/comments/{id}
func (s *Server) editComment(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = commentDocs + "#update-an-issue-comment"
	id, _ := strconv.ParseInt(m[1], 10, 64)
	var c *comment
	for _, x := range s.comments {
		if x.ID == id {
			c = x
		}
	}
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !decode(w, r, &in) || !commentBodyOK(w, in.Body, doc) {
		return
	}
	c.Body = *in.Body
	c.UpdatedAt = s.now()
	writeJSON(w, http.StatusOK, s.commentJSON(r, c))
}

// POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers — adds
// review requests (never removes any). GitHub answers 422 when a user or a
// team has no access to the repository ("Reviews may only be requested
// from collaborators"), when the pull request's author is asked, and, for
// a team that has access, when the token cannot read the organisation's
// teams (the workflow's GITHUB_TOKEN, an App without Members: read):
// "Validation Failed" with the error "Could not resolve to a node with the
// global id of '<id>'".
func (s *Server) requestReviewers(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request"
	n, _ := strconv.Atoi(m[1])
	p := s.pull(n)
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	var in struct {
		Reviewers     *[]string `json:"reviewers"`
		TeamReviewers *[]string `json:"team_reviewers"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Reviewers == nil && in.TeamReviewers == nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nNo subschema in \"anyOf\" matched.\n\"reviewers\" wasn't supplied.\n\"team_reviewers\" wasn't supplied.", doc)
		return
	}
	var users, teams []string
	if in.Reviewers != nil {
		users = *in.Reviewers
	}
	if in.TeamReviewers != nil {
		teams = *in.TeamReviewers
	}
	badUsers, badTeams := false, false
	for _, u := range users {
		if strings.EqualFold(u, p.Author) {
			writeError(w, http.StatusUnprocessableEntity, "Review cannot be requested from pull request author.", doc)
			return
		}
		badUsers = badUsers || !s.collaborators[strings.ToLower(u)]
	}
	for _, t := range teams {
		badTeams = badTeams || !s.teams[strings.ToLower(t)]
	}
	if !badUsers && !badTeams && len(teams) > 0 && !s.identity.ReadsTeams {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed", "documentation_url": doc, "status": "422",
			"errors": []string{fmt.Sprintf("Could not resolve to a node with the global id of '%s'.", s.teamJSON(strings.ToLower(teams[0]))["node_id"])},
		})
		return
	}
	if badUsers || badTeams {
		who := "users or teams"
		switch {
		case len(users) == 0:
			who = "teams"
		case len(teams) == 0:
			who = "users"
		}
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf(
			"Reviews may only be requested from collaborators. One or more of the %s you specified is not a collaborator of the %s/%s repository.", who, s.owner, s.repo), doc)
		return
	}
	add := func(list *[]string, v string) {
		for _, x := range *list {
			if strings.EqualFold(x, v) {
				return
			}
		}
		*list = append(*list, strings.ToLower(v))
	}
	for _, u := range users {
		add(&p.RequestedUsers, u)
	}
	for _, t := range teams {
		add(&p.RequestedTeams, t)
	}
	p.UpdatedAt = s.now()
	writeJSON(w, http.StatusCreated, s.pullJSON(r, p, false))
}
