// Package ghtest is an in-memory fake of the part of the GitHub REST API that
// rds-provision uses: the Git Data API (refs, blobs, trees, commits), repository
// contents, pull requests, labels, issue comments and deployment environments
// of one repository.
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
	"encoding/json"
	"fmt"
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
	readOnly      bool
	calls         []string
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
	labels     map[string]int64 // label name -> id
	comments   []*comment
	nextNumber int
	nextID     int64

	environments map[string]*Environment
}

type fault struct {
	method  string
	prefix  string
	status  int
	header  http.Header
	network bool
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
		blobs:      map[string][]byte{},
		trees:      map[string]map[string]treeEntry{},
		commits:    map[string]*commitObj{},
		refs:       map[string]string{},
		labels:     map[string]int64{},
		nextNumber: 1,
		nextID:     1000,
		clock:      time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC),
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
// once with status and headers. The body is what GitHub sends for that
// failure: a 403 with Retry-After is a secondary rate limit ("You have
// exceeded a secondary rate limit"), a 403 with X-RateLimit-Remaining: 0 a
// primary one, anything else a JSON message with the status text. Several
// calls queue several failures. An unused failure fails Verify.
func (s *Server) FailNext(method, pathPrefix string, status int, headers http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, status: status, header: headers.Clone()})
}

// DropNext makes the next matching request fail at the network level: the
// connection is closed without a response.
func (s *Server) DropNext(method, pathPrefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, network: true})
}

// SecondaryRateLimit returns the status and headers of a secondary rate
// limit response with the given Retry-After, for FailNext.
func SecondaryRateLimit(retryAfterSeconds int) (int, http.Header) {
	return http.StatusForbidden, http.Header{"Retry-After": {fmt.Sprint(retryAfterSeconds)}}
}

// Calls lists the requests received, as "METHOD /path" without any /api/v3
// prefix and without the query, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
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
}

var routes = []route{
	{"GET", regexp.MustCompile(`^git/ref/heads/(.+)$`), (*Server).getRef},
	{"POST", regexp.MustCompile(`^git/refs$`), (*Server).createRef},
	{"PATCH", regexp.MustCompile(`^git/refs/heads/(.+)$`), (*Server).updateRef},
	{"GET", regexp.MustCompile(`^contents(?:/(.*))?$`), (*Server).getContents},
	{"POST", regexp.MustCompile(`^git/blobs$`), (*Server).createBlob},
	{"POST", regexp.MustCompile(`^git/trees$`), (*Server).createTree},
	{"POST", regexp.MustCompile(`^git/commits$`), (*Server).createCommit},
	{"GET", regexp.MustCompile(`^git/commits/([^/]+)$`), (*Server).getCommit},
	{"GET", regexp.MustCompile(`^pulls$`), (*Server).listPulls},
	{"POST", regexp.MustCompile(`^pulls$`), (*Server).createPull},
	{"GET", regexp.MustCompile(`^pulls/([0-9]+)$`), (*Server).getPull},
	{"PATCH", regexp.MustCompile(`^pulls/([0-9]+)$`), (*Server).editPull},
	{"POST", regexp.MustCompile(`^issues/([0-9]+)/labels$`), (*Server).addLabels},
	{"GET", regexp.MustCompile(`^commits/([^/]+)/pulls$`), (*Server).pullsForCommit},
	{"GET", regexp.MustCompile(`^issues/([0-9]+)/comments$`), (*Server).listComments},
	{"POST", regexp.MustCompile(`^issues/([0-9]+)/comments$`), (*Server).createComment},
	{"PATCH", regexp.MustCompile(`^issues/comments/([0-9]+)$`), (*Server).editComment},
	{"GET", regexp.MustCompile(`^environments/([^/]+)$`), (*Server).getEnvironment},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	call := r.Method + " " + path
	s.calls = append(s.calls, call)

	s.setRateHeaders(w)
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")

	prefix := "/repos/" + s.owner + "/" + s.repo + "/"
	var handle func(*Server, http.ResponseWriter, *http.Request, []string)
	var match []string
	if rest, ok := strings.CutPrefix(path, prefix); ok {
		for _, rt := range routes {
			if rt.method != r.Method {
				continue
			}
			if m := rt.pattern.FindStringSubmatch(rest); m != nil {
				handle, match = rt.handle, m
				break
			}
		}
	}
	if handle == nil {
		if r.URL.RawQuery != "" {
			call += "?" + r.URL.RawQuery
		}
		s.unexpected = append(s.unexpected, call)
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}

	for _, f := range s.faults {
		if f.used || f.method != r.Method || !strings.HasPrefix(path, f.prefix) {
			continue
		}
		f.used = true
		if f.network {
			dropConnection(w)
			return
		}
		writeFault(w, f)
		return
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
	handle(s, w, r, match)
}

func docs(rest string) string {
	switch {
	case strings.HasPrefix(rest, "git/"):
		return "https://docs.github.com/rest/git"
	case strings.HasPrefix(rest, "pulls"):
		return "https://docs.github.com/rest/pulls/pulls"
	default:
		return "https://docs.github.com/rest/issues"
	}
}

func (s *Server) setRateHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", fmt.Sprint(5000-len(s.calls)%4999))
	h.Set("X-RateLimit-Used", fmt.Sprint(len(s.calls)%4999))
	h.Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Hour).Unix()))
	h.Set("X-RateLimit-Resource", "core")
}

func writeFault(w http.ResponseWriter, f *fault) {
	for k, vs := range f.header {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	switch {
	case f.status == http.StatusForbidden && f.header.Get("Retry-After") != "",
		f.status == http.StatusTooManyRequests:
		writeError(w, f.status,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case f.status == http.StatusForbidden && f.header.Get("X-RateLimit-Remaining") == "0":
		if f.header.Get("X-RateLimit-Reset") == "" {
			w.Header().Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
		}
		writeError(w, f.status,
			"API rate limit exceeded for installation ID 1.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit")
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
