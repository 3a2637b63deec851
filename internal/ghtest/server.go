// Package ghtest is an in-memory fake of the part of the GitHub REST API that
// rds-provision uses: the Git Data API (refs, blobs, trees, commits), repository
// contents, pull requests and their requested reviewers, issues, labels, issue
// comments and deployment environments of one repository, and the
// authenticated user.
//
// It is built like go-github's setup() in github/github_test.go — an
// httptest.Server in front of a mux — and speaks the documented JSON shapes
// well enough that the real github.com/google/go-github/v60 client works
// against it. Like cli/cli's httpmock registry, any request outside the
// supported endpoints is answered 404 and recorded, and Verify (registered on
// t.Cleanup by New) fails the test for it.
//
// The fake serves the API at the root of its URL, so GITHUB_API_URL=URL()
// works, and also under /api/v3/, so go-github's WithEnterpriseURLs(URL(),
// URL()) works too. Requests must carry "Authorization: Bearer <Token()>" or
// "Authorization: token <Token()>".
package ghtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// Token is the token the fake accepts unless SetToken changes it. It looks
// like a GitHub installation token so leaks are easy to grep for in tests.
const Token = "ghs_ghtestFakeInstallationToken0123456789"

// MaxCommentLength is GitHub's limit on the body of an issue comment or pull
// request, in characters.
const MaxCommentLength = 65536

// Server is the fake. Create it with New; all methods are safe for concurrent
// use.
type Server struct {
	srv   *httptest.Server
	owner string
	repo  string

	mu            sync.Mutex
	token         string
	identity      Identity
	readOnly      bool
	requests      []Request
	unexpected    []string
	faults        []*fault
	defaultBranch string

	blobs   map[string][]byte
	trees   map[string]map[string]treeEntry
	commits map[string]*commitObj
	refs    map[string]string // branch name -> commit sha
	seq     int               // orders commits and timestamps
	clock   time.Time

	pulls      []*pull
	issues     []*issue
	labels     map[string]int64 // label name -> id
	comments   []*comment
	nextNumber int
	nextID     int64

	collaborators map[string]bool // logins with access to the repository
	teams         map[string]bool // slugs of teams with access

	environments     map[string]*environment // lower-cased name -> environment
	environmentsDeny int                     // status for a token without actions: read; 0 allows
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // without any /api/v3 prefix, without the query
	Query  string
	Accept string
	Body   []byte
}

// Identity is the account the fake's token acts as: the author of the
// comments, issues and pull requests created through the API, and what
// GET /user answers.
type Identity struct {
	// Login is the account's login; a bot's ends in "[bot]".
	Login string
	// Installation is true for an installation token (the workflow's
	// GITHUB_TOKEN, a GitHub App's): GitHub answers GET /user with 403
	// "Resource not accessible by integration".
	Installation bool
	// ReadsTeams is true when the token may read the organisation's teams,
	// which a review request from a team needs: a GitHub App's token with
	// the organization permission Members: read, or a personal token. The
	// workflow's GITHUB_TOKEN never can: GitHub answers its team review
	// requests 422 "Could not resolve to a node with the global id of
	// '<team node id>'".
	ReadsTeams bool
}

// WorkflowToken is the default identity: the workflow's GITHUB_TOKEN, which
// posts as github-actions[bot].
var WorkflowToken = Identity{Login: botLogin, Installation: true}

// AppToken is the identity of a GitHub App's installation token: it posts
// as "<slug>[bot]". Its App has no Members permission (see ReadsTeams).
func AppToken(slug string) Identity { return Identity{Login: slug + "[bot]", Installation: true} }

// AppTokenWithMembers is AppToken for an App given the organization
// permission Members: read, so it can ask teams to review.
func AppTokenWithMembers(slug string) Identity {
	id := AppToken(slug)
	id.ReadsTeams = true
	return id
}

// UserToken is the identity of a personal access token of login.
func UserToken(login string) Identity { return Identity{Login: login, ReadsTeams: true} }

type fault struct {
	method  string
	prefix  string
	status  int
	header  http.Header
	network bool
	after   bool // the request takes effect before the failure
	used    bool
}

// New starts a fake for the repository owner/repo. It is closed, and Verify
// runs, when the test ends.
func New(t testing.TB, owner, repo string) *Server {
	t.Helper()
	s := &Server{
		owner:      owner,
		repo:       repo,
		token:      Token,
		identity:   WorkflowToken,
		blobs:      map[string][]byte{},
		trees:      map[string]map[string]treeEntry{},
		commits:    map[string]*commitObj{},
		refs:       map[string]string{},
		labels:     map[string]int64{},
		nextNumber: 1,
		nextID:     1000,
		// Timestamps start at the real time, as GitHub's are, and move a
		// minute forward with every event, so their order is the events'.
		clock: time.Now().UTC().Truncate(time.Second),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		s.Verify(t)
	})
	return s
}

// URL is the API base URL without a trailing slash, the form GITHUB_API_URL
// takes.
func (s *Server) URL() string { return s.srv.URL }

// Owner and Repo name the fake's repository.
func (s *Server) Owner() string { return s.owner }

// Repo is the repository name.
func (s *Server) Repo() string { return s.repo }

// Repository is "owner/repo", the form GITHUB_REPOSITORY takes.
func (s *Server) Repository() string { return s.owner + "/" + s.repo }

// Token is the token the fake currently accepts.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetToken changes the accepted token; other tokens get 401 Bad credentials.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetIdentity changes the account the token acts as (default
// WorkflowToken).
func (s *Server) SetIdentity(id Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity = id
}

// SetReadOnly makes the token read-only: every write (POST, PATCH, PUT,
// DELETE) is answered 403 "Resource not accessible by integration", as
// GitHub does for a GITHUB_TOKEN without contents/pull-requests write.
func (s *Server) SetReadOnly(readOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = readOnly
}

// Client returns a real go-github client pointed at the fake with its token.
func (s *Server) Client() *github.Client {
	c := github.NewClient(nil).WithAuthToken(s.Token())
	c.BaseURL = mustParseURL(s.srv.URL + "/")
	return c
}

// FailNext makes the next request whose method matches and whose path
// (without any /api/v3 prefix, without query) starts with pathPrefix fail
// once with status and headers, without any effect. The body is what GitHub
// sends for that failure: a 403 or 429 with X-RateLimit-Remaining: 0 and no
// Retry-After is a primary rate limit ("API rate limit exceeded"); a 429,
// or a 403 with Retry-After, a secondary one ("You have exceeded a
// secondary rate limit"); anything else a JSON message with the status
// text. Several calls queue several failures. An unused failure fails
// Verify.
func (s *Server) FailNext(method, pathPrefix string, status int, headers http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, status: status, header: headers.Clone()})
}

// FailAfterNext makes the next matching request take effect (the comment is
// created, the issue opened) and then answer status instead of the result,
// as when GitHub times out after committing the write.
func (s *Server) FailAfterNext(method, pathPrefix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, status: status, after: true})
}

// DropNext makes the next matching request fail at the network level: the
// connection is closed without a response.
func (s *Server) DropNext(method, pathPrefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, network: true})
}

// SecondaryRateLimit returns the status (403) and headers of a secondary
// rate limit response, for FailNext: with Retry-After when
// retryAfterSeconds > 0, else without.
func SecondaryRateLimit(retryAfterSeconds int) (int, http.Header) {
	return SecondaryRateLimitWith(http.StatusForbidden, retryAfterSeconds)
}

// SecondaryRateLimitWith is SecondaryRateLimit with status 403 or 429 (GitHub
// may send either): with Retry-After when retryAfterSeconds > 0, else
// without, as GitHub sends it when the client is to back off on its own.
func SecondaryRateLimitWith(status, retryAfterSeconds int) (int, http.Header) {
	h := http.Header{secondaryMark: {"1"}}
	if retryAfterSeconds > 0 {
		h.Set("Retry-After", fmt.Sprint(retryAfterSeconds))
	}
	return status, h
}

// secondaryMark tells writeFault a 403 without retry-after is a secondary
// limit; it is not sent.
const secondaryMark = "X-Ghtest-Secondary-Limit"

// PrimaryRateLimit returns the status (403 or 429) and headers of an
// exhausted primary rate limit that lifts at reset, for FailNext.
func PrimaryRateLimit(status int, reset time.Time) (int, http.Header) {
	return status, http.Header{
		"X-Ratelimit-Remaining": {"0"},
		"X-Ratelimit-Reset":     {fmt.Sprint(reset.Unix())},
	}
}

// Calls lists the requests received, as "METHOD /path" without any /api/v3
// prefix and without the query, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.requests))
	for _, r := range s.requests {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// Requests lists the requests received, with their query, Accept header
// and body, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CountCalls counts the requests with this method whose path starts with
// pathPrefix.
func (s *Server) CountCalls(method, pathPrefix string) int {
	n := 0
	for _, c := range s.Calls() {
		m, p, _ := strings.Cut(c, " ")
		if m == method && strings.HasPrefix(p, pathPrefix) {
			n++
		}
	}
	return n
}

// Verify reports requests the fake does not support and failures queued with
// FailNext or DropNext that never fired.
func (s *Server) Verify(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.unexpected {
		t.Errorf("ghtest: unexpected request %s", u)
	}
	for _, f := range s.faults {
		if !f.used {
			t.Errorf("ghtest: injected failure for %s %s* was never triggered", f.method, f.prefix)
		}
	}
}

type route struct {
	method  string
	pattern *regexp.Regexp
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, m []string)
	// git marks endpoints that need a commit: an empty repository answers
	// them 409 "Git Repository is empty." (contents: 404 "This repository
	// is empty.").
	git bool
}

var routes = []route{
	{"GET", regexp.MustCompile(`^git/ref/heads/(.+)$`), (*Server).getRef, true},
	{"POST", regexp.MustCompile(`^git/refs$`), (*Server).createRef, true},
	{"PATCH", regexp.MustCompile(`^git/refs/heads/(.+)$`), (*Server).updateRef, true},
	{"GET", regexp.MustCompile(`^contents(?:/(.*))?$`), (*Server).getContents, true},
	{"POST", regexp.MustCompile(`^git/blobs$`), (*Server).createBlob, true},
	{"GET", regexp.MustCompile(`^git/blobs/([0-9a-f]{40})$`), (*Server).getBlob, true},
	{"POST", regexp.MustCompile(`^git/trees$`), (*Server).createTree, true},
	{"POST", regexp.MustCompile(`^git/commits$`), (*Server).createCommit, true},
	{"GET", regexp.MustCompile(`^git/commits/([^/]+)$`), (*Server).getCommit, true},
	{"GET", regexp.MustCompile(`^pulls$`), (*Server).listPulls, false},
	{"POST", regexp.MustCompile(`^pulls$`), (*Server).createPull, false},
	{"GET", regexp.MustCompile(`^pulls/([0-9]+)$`), (*Server).getPull, false},
	{"PATCH", regexp.MustCompile(`^pulls/([0-9]+)$`), (*Server).editPull, false},
	{"POST", regexp.MustCompile(`^pulls/([0-9]+)/requested_reviewers$`), (*Server).requestReviewers, false},
	{"GET", regexp.MustCompile(`^issues$`), (*Server).listIssues, false},
	{"POST", regexp.MustCompile(`^issues$`), (*Server).createIssue, false},
	{"PATCH", regexp.MustCompile(`^issues/([0-9]+)$`), (*Server).editIssue, false},
	{"POST", regexp.MustCompile(`^issues/([0-9]+)/labels$`), (*Server).addLabels, false},
	{"GET", regexp.MustCompile(`^commits/([^/]+)/pulls$`), (*Server).pullsForCommit, true},
	{"GET", regexp.MustCompile(`^issues/([0-9]+)/comments$`), (*Server).listComments, false},
	{"POST", regexp.MustCompile(`^issues/([0-9]+)/comments$`), (*Server).createComment, false},
	{"PATCH", regexp.MustCompile(`^issues/comments/([0-9]+)$`), (*Server).editComment, false},
	{"GET", regexp.MustCompile(`^environments$`), (*Server).listEnvironments, false},
	{"GET", regexp.MustCompile(`^environments/([^/]+)$`), (*Server).getEnvironment, false},
}

// userRoutes are the endpoints outside the repository.
var userRoutes = []route{
	{"GET", regexp.MustCompile(`^/user$`), (*Server).getUser, false},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	call := r.Method + " " + path
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Accept: r.Header.Get("Accept"), Body: body})

	s.setRateHeaders(w)
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")

	prefix := "/repos/" + s.owner + "/" + s.repo + "/"
	var matched *route
	var match []string
	find := func(table []route, p string) {
		for i, rt := range table {
			if rt.method != r.Method {
				continue
			}
			if m := rt.pattern.FindStringSubmatch(p); m != nil {
				matched, match = &table[i], m
				return
			}
		}
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok {
		find(routes, rest)
	} else {
		find(userRoutes, path)
	}
	if matched == nil {
		if r.URL.RawQuery != "" {
			call += "?" + r.URL.RawQuery
		}
		s.unexpected = append(s.unexpected, call)
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}

	var after *fault
	for _, f := range s.faults {
		if f.used || f.method != r.Method || !strings.HasPrefix(path, f.prefix) {
			continue
		}
		f.used = true
		switch {
		case f.network:
			dropConnection(w)
			return
		case f.after:
			after = f
		default:
			writeFault(w, f)
			return
		}
		break
	}

	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		writeError(w, http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest")
		return
	case auth != "Bearer "+s.token && auth != "token "+s.token:
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	if s.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", docs(match[0]))
		return
	}
	if matched.git && len(s.refs) == 0 && len(s.commits) == 0 {
		if strings.HasPrefix(match[0], "contents") {
			writeError(w, http.StatusNotFound, "This repository is empty.", "https://docs.github.com/rest/repos/contents#get-repository-content")
		} else {
			writeError(w, http.StatusConflict, "Git Repository is empty.", docs(match[0]))
		}
		return
	}
	if after != nil {
		// Let the write happen, then answer the failure instead.
		matched.handle(s, httptest.NewRecorder(), r, match)
		w.Header().Del("Location")
		writeFault(w, after)
		return
	}
	matched.handle(s, w, r, match)
}

func docs(rest string) string {
	switch {
	case strings.HasPrefix(rest, "git/"):
		return "https://docs.github.com/rest/git"
	case strings.HasPrefix(rest, "commits"):
		return "https://docs.github.com/rest/commits/commits"
	case strings.HasPrefix(rest, "pulls"):
		return "https://docs.github.com/rest/pulls/pulls"
	case strings.HasPrefix(rest, "environments"):
		return environmentsDocs
	default:
		return "https://docs.github.com/rest/issues"
	}
}

func (s *Server) setRateHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", fmt.Sprint(5000-len(s.requests)%4999))
	h.Set("X-RateLimit-Used", fmt.Sprint(len(s.requests)%4999))
	h.Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Hour).Unix()))
	h.Set("X-RateLimit-Resource", "core")
}

// writeFault answers an injected failure the way GitHub documents it
// ("Rate limits for the REST API"): a primary limit is a 403 or 429 with
// x-ratelimit-remaining 0; a secondary one a 403 or 429 whose message says
// so, with or without retry-after.
func writeFault(w http.ResponseWriter, f *fault) {
	for k, vs := range f.header {
		if http.CanonicalHeaderKey(k) != secondaryMark {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
	}
	limited := f.status == http.StatusForbidden || f.status == http.StatusTooManyRequests
	switch {
	case limited && f.header.Get("X-RateLimit-Remaining") == "0" && f.header.Get("Retry-After") == "" && f.header.Get(secondaryMark) == "":
		if f.header.Get("X-RateLimit-Reset") == "" {
			w.Header().Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
		}
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeError(w, f.status,
			"API rate limit exceeded for installation ID 1.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit")
	case f.status == http.StatusTooManyRequests,
		f.status == http.StatusForbidden && (f.header.Get("Retry-After") != "" || f.header.Get(secondaryMark) != ""):
		writeError(w, f.status,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case f.status == http.StatusForbidden:
		writeError(w, f.status, "Resource not accessible by integration", "https://docs.github.com/rest")
	default:
		writeError(w, f.status, http.StatusText(f.status), "")
	}
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("ghtest: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// apiError is GitHub's error body.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url,omitempty"`
	Status           string       `json:"status,omitempty"`
}

type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, message, docURL string) {
	writeJSON(w, status, apiError{Message: message, DocumentationURL: docURL, Status: fmt.Sprint(status)})
}

// writeValidation writes GitHub's 422 "Validation Failed" with one error.
func writeValidation(w http.ResponseWriter, fe fieldError, docURL string) {
	writeJSON(w, http.StatusUnprocessableEntity, apiError{
		Message: "Validation Failed", Errors: []fieldError{fe}, DocumentationURL: docURL, Status: "422",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON body; on failure it answers 400 "Problems parsing
// JSON" as GitHub does and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest")
		return false
	}
	return true
}

// paginate applies per_page (default 30, at most 100) and page (from 1) and
// sets the Link header the way GitHub does.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	perPage := atoiDefault(q.Get("per_page"), 30)
	if perPage <= 0 {
		perPage = 30
	}
	if perPage > 100 {
		perPage = 100
	}
	page := atoiDefault(q.Get("page"), 1)
	if page <= 0 {
		page = 1
	}
	last := (len(items) + perPage - 1) / perPage
	if last == 0 {
		last = 1
	}
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", fmt.Sprint(p))
		q.Set("per_page", fmt.Sprint(perPage))
		return fmt.Sprintf(`<http://%s%s?%s>; rel="%s"`, r.Host, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := (page - 1) * perPage
	if start >= len(items) {
		return []T{}
	}
	end := min(start+perPage, len(items))
	return items[start:end]
}

func atoiDefault(s string, def int) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return def
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
