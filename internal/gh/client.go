// Package gh holds rds-provision's GitHub operations — read a branch and a
// file, commit files, point a branch, open or reuse a pull request, request
// reviewers, find the pull request of a merge commit, keep one comment per
// environment up to date, list, open, edit and comment on issues, read a
// deployment environment — over google/go-github, following GitHub's
// documented rules (rate limits, media types, large files, empty
// repositories) with retries for transient failures and errors a user can
// act on.
//
// A marked comment is adopted only when the account the token posts as
// wrote it (see Identity): anyone who may comment can copy a marker.
package gh

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// DefaultBaseURL is GitHub.com's API, used when Options.BaseURL is empty.
const DefaultBaseURL = "https://api.github.com"

const (
	defaultMaxRetries = 5
	baseBackoff       = time.Second
	maxBackoff        = 30 * time.Second
	// maxRateLimitWait bounds one wait for a rate limit to lift when the
	// call has no deadline: a primary limit's window is an hour, so a
	// longer wait means a header GitHub did not mean.
	maxRateLimitWait = time.Hour + time.Minute
	// secondaryBaseWait is GitHub's advice when a secondary rate limit
	// comes without retry-after: wait at least a minute, then exponentially
	// longer while it persists.
	secondaryBaseWait = time.Minute

	// mediaTypeJSON is the media type GitHub recommends for every request
	// that needs no other.
	mediaTypeJSON = "application/vnd.github+json"
)

var (
	// ErrBranchNotFound is returned when a branch does not exist.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrPermission is returned when GitHub refuses the token (401, 403
	// that is not a rate limit, or 404 on a write).
	ErrPermission = errors.New("permission denied: the GitHub token needs `contents: write` and `pull-requests: write` on the repository")
)

// Options configures a Client.
type Options struct {
	// BaseURL is the REST API root, as in GITHUB_API_URL
	// ("https://api.github.com", "https://ghe.example.com/api/v3").
	// Default DefaultBaseURL.
	BaseURL string
	// Token authenticates every request (GITHUB_TOKEN or an app token).
	Token string
	// Repository is "owner/repo", as in GITHUB_REPOSITORY.
	Repository string
	// HTTPClient carries the requests; default a new http.Client.
	HTTPClient *http.Client
	// MaxRetries is how many times a failed call is retried; 0 means the
	// default (5), a negative value disables retries.
	MaxRetries int
	// Sleep waits between attempts; default a wait that ends early when the
	// context is cancelled. Tests inject a recorder so they do not wait.
	Sleep func(time.Duration)
	// Now gives the time, to compute how long a primary rate limit lasts;
	// default time.Now.
	Now func() time.Time
	// Logf says what the client waits for (a rate limit, a retry); default
	// silent.
	Logf func(format string, args ...any)
	// AppSlug is the slug of the GitHub App whose installation token Token
	// is (actions/create-github-app-token's app-slug output): its comments
	// are by "<slug>[bot]". An installation token cannot read its own App,
	// so without it an installation token is taken for the workflow's
	// GITHUB_TOKEN (github-actions[bot]). "<slug>[bot]" is accepted too.
	AppSlug string
}

// OptionError reports an invalid Options field.
type OptionError struct {
	Field  string
	Value  string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("gh: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Client performs rds-provision's GitHub operations on one repository.
type Client struct {
	owner, repo string
	baseURL     *url.URL
	token       string
	httpClient  *http.Client
	maxRetries  int
	sleep       func(time.Duration)
	now         func() time.Time
	logf        func(format string, args ...any)
	appSlug     string

	mu       sync.Mutex
	api      *github.Client
	identity *Identity
}

var (
	// Compiled on first use: bounded repeats cost every start otherwise.
	ownerRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`) })
	repoRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`) })
	slugRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$`) })
)

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	owner, repo, ok := strings.Cut(opts.Repository, "/")
	if !ok || !ownerRE().MatchString(owner) || !repoRE().MatchString(repo) || repo == "." || repo == ".." {
		return nil, &OptionError{Field: "Repository", Value: opts.Repository, Reason: `want "owner/repo"`}
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.User != nil {
		return nil, &OptionError{Field: "BaseURL", Value: redactURL(raw), Reason: "want an http(s) URL such as https://api.github.com"}
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	slug, err := appSlug(opts.AppSlug)
	if err != nil {
		return nil, &OptionError{Field: "AppSlug", Value: opts.AppSlug, Reason: err.Error()}
	}
	c := &Client{
		owner: owner, repo: repo, baseURL: base, token: opts.Token,
		maxRetries: opts.MaxRetries, sleep: opts.Sleep, now: opts.Now, logf: opts.Logf, appSlug: slug,
	}
	hc := http.Client{Timeout: 60 * time.Second}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	hc.Transport = mediaType{next: hc.Transport}
	c.httpClient = &hc
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = defaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.api = c.newAPI()
	return c, nil
}

// CheckAppSlug reports whether s is a GitHub App slug (or its bot's login,
// "<slug>[bot]"), as Options.AppSlug takes it.
func CheckAppSlug(s string) error {
	_, err := appSlug(s)
	return err
}

func appSlug(s string) (string, error) {
	slug := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "[bot]")
	if slug != "" && !slugRE().MatchString(slug) {
		return "", errors.New("want a GitHub App slug: lowercase letters, digits and hyphens, as in the App's address github.com/apps/<slug>")
	}
	return slug, nil
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = url.User("redacted")
		return u.String()
	}
	return raw
}

// newAPI builds a go-github client. A fresh one is used after a rate limit:
// go-github remembers the limit and would refuse requests locally until it
// passes, while this package does its own waiting through Sleep.
func (c *Client) newAPI() *github.Client {
	api := github.NewClient(c.httpClient)
	if c.token != "" {
		api = api.WithAuthToken(c.token)
	}
	u := *c.baseURL
	api.BaseURL = &u
	api.UserAgent = "rds-provision"
	return api
}

func (c *Client) client() *github.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api
}

func (c *Client) resetClient() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.api = c.newAPI()
}

// Repository is "owner/repo".
func (c *Client) Repository() string { return c.owner + "/" + c.repo }

// mediaType sends Accept: application/vnd.github+json, as GitHub
// recommends, where go-github v60 sends application/vnd.github.v3+json or
// a preview media type (reactions, groot) for endpoints that have long
// since left preview; none of the endpoints used here needs a preview. A
// raw media type asked for on purpose (a large file's blob) is kept.
type mediaType struct{ next http.RoundTripper }

func (m mediaType) RoundTrip(req *http.Request) (*http.Response, error) {
	next := m.next
	if next == nil {
		next = http.DefaultTransport
	}
	if accept := req.Header.Get("Accept"); accept != mediaTypeJSON && !strings.Contains(accept, ".raw") {
		req = req.Clone(req.Context())
		req.Header.Set("Accept", mediaTypeJSON)
	}
	return next.RoundTrip(req)
}
