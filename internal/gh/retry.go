package gh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// ErrEmptyRepository is returned when GitHub answers 409 "Git Repository is
// empty.": the repository has no commit yet, so it has no branch either.
var ErrEmptyRepository = errors.New("the repository is empty (GitHub answers 409: no commit yet)")

// callFunc is one GitHub request made with api.
type callFunc func(ctx context.Context, api *github.Client) (*github.Response, error)

// callOpts says how call treats a failure.
type callOpts struct {
	// write says whether fn changes anything, so a 404 can be read as a
	// permission problem.
	write bool
	// landed, for a create that is not idempotent (a comment, an issue),
	// looks for what an attempt whose answer was lost (a 5xx, a network
	// error: GitHub may have created it all the same) made. It runs before
	// each retry of such a failure; true means it found it and the call is
	// done, so nothing is created twice.
	landed func(ctx context.Context) (bool, error)
}

// call runs fn, retrying transient failures with the waits GitHub documents
// (see retryAfter), then turns the final error into one a caller can act
// on.
func (c *Client) call(ctx context.Context, write bool, fn callFunc) error {
	return c.do(ctx, callOpts{write: write}, fn)
}

func (c *Client) do(ctx context.Context, o callOpts, fn callFunc) error {
	secondaries := 0
	for attempt := 0; ; attempt++ {
		_, err := fn(ctx, c.client())
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := c.retryAfter(err, attempt, secondaries)
		if !r.retry || attempt >= c.maxRetries {
			return classify(err, o.write)
		}
		if r.secondary {
			secondaries++
		}
		if r.limit {
			// go-github remembers a limit and refuses locally until it
			// passes by its own clock; this package does the waiting.
			c.resetClient()
		}
		what := describeRequest(err)
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(r.wait).After(deadline) {
			return &apiError{msg: fmt.Sprintf("%s: %s, which is after this run's deadline %s; giving up", classify(err, o.write), r.why,
				deadline.UTC().Format(time.RFC3339)), errs: []error{classify(err, o.write)}}
		}
		if r.wait > maxRateLimitWait {
			return &apiError{msg: fmt.Sprintf("%s: %s; giving up rather than waiting %s", classify(err, o.write), r.why, r.wait.Round(time.Second)),
				errs: []error{classify(err, o.write)}}
		}
		c.logf("GitHub: %s: %s; retrying in %s", what, r.why, r.wait.Round(time.Second))
		if err := c.wait(ctx, r.wait); err != nil {
			return err
		}
		if r.ambiguous && o.landed != nil {
			done, err := o.landed(ctx)
			if err != nil {
				return err
			}
			if done {
				c.logf("GitHub: %s had taken effect before the failure; not sending it again", what)
				return nil
			}
		}
	}
}

// wait sleeps d through Options.Sleep, or on a timer that the context can
// cut short.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		c.sleep(d)
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func backoff(attempt int) time.Duration {
	d := baseBackoff << attempt
	if d <= 0 || d > maxBackoff {
		return maxBackoff
	}
	return d
}

// retry is retryAfter's verdict on one failure.
type retry struct {
	retry bool
	wait  time.Duration
	why   string // for the log and the final error
	// limit: a rate limit (a fresh go-github client forgets it);
	// secondary: one that counts towards the exponential backoff;
	// ambiguous: the request may have taken effect (5xx, network error).
	limit, secondary, ambiguous bool
}

// retryAfter decides whether err is worth another attempt and how long to
// wait first. secondaries counts the secondary rate limits this call met
// already.
func (c *Client) retryAfter(err error, attempt, secondaries int) retry {
	if r, ok := c.rateLimit(err, secondaries); ok {
		return r
	}
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &er):
		if er.Response == nil {
			return retry{}
		}
		if code := er.Response.StatusCode; code >= 500 && code != http.StatusNotImplemented {
			return retry{retry: true, wait: backoff(attempt), ambiguous: true, why: fmt.Sprintf("GitHub answered %d", code)}
		}
		return retry{}
	case isNetworkError(err):
		return retry{retry: true, wait: backoff(attempt), ambiguous: true, why: "no answer from GitHub (" + err.Error() + ")"}
	}
	return retry{}
}

// rateLimit recognises a rate limit and the wait GitHub asks for, in the
// order "Rate limits for the REST API" gives: a primary or secondary limit
// is a 403 or a 429; retry-after, when present, says how many seconds to
// wait; else x-ratelimit-remaining: 0 says to wait until x-ratelimit-reset;
// else wait a minute, and exponentially longer while it persists.
func (c *Client) rateLimit(err error, secondaries int) (retry, bool) {
	var (
		resp       *http.Response
		message    string
		primary    bool          // go-github recognised a primary limit
		retryAfter time.Duration // from go-github's secondary limit
		reset      time.Time
	)
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		resp, message, primary, reset = rl.Response, rl.Message, true, rl.Rate.Reset.Time
	case errors.As(err, &abuse):
		// Not abuse.RetryAfter: go-github falls back to x-ratelimit-reset
		// for it, which GitHub sends on every answer, not only when the
		// limit is exhausted. Only its local refusal (no headers) needs it.
		resp, message = abuse.Response, abuse.Message
		if abuse.RetryAfter != nil && (resp == nil || len(resp.Header) == 0) {
			retryAfter = *abuse.RetryAfter
		}
	case errors.As(err, &er):
		resp, message = er.Response, er.Message
	default:
		return retry{}, false
	}
	var h http.Header
	status := http.StatusForbidden
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return retry{}, false
	}
	remaining0 := primary || h.Get("X-Ratelimit-Remaining") == "0"
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	if !remaining0 && retryAfter <= 0 && status != http.StatusTooManyRequests && !strings.Contains(strings.ToLower(message), "rate limit") {
		return retry{}, false // a 403 that is no limit: a permission
	}
	if s, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
		reset = time.Unix(s, 0)
	}
	switch {
	case retryAfter > 0:
		return retry{retry: true, limit: true, secondary: true, wait: retryAfter,
			why: fmt.Sprintf("GitHub rate limit (%d %s), retry-after %s", status, strings.TrimSuffix(message, "."), retryAfter)}, true
	case remaining0 && !reset.IsZero():
		wait := reset.Sub(c.now()) + time.Second
		if wait < time.Second {
			wait = time.Second
		}
		return retry{retry: true, limit: true, wait: wait,
			why: fmt.Sprintf("GitHub API rate limit exhausted (%d, x-ratelimit-remaining 0) until %s (x-ratelimit-reset)", status, reset.UTC().Format(time.RFC3339))}, true
	}
	wait := secondaryBaseWait << secondaries
	if wait <= 0 || secondaries > 10 {
		wait = maxRateLimitWait + time.Second
	}
	return retry{retry: true, limit: true, secondary: true, wait: wait,
		why: fmt.Sprintf("GitHub secondary rate limit (%d %s) without retry-after, %d in a row: backing off exponentially from a minute", status, strings.TrimSuffix(message, "."), secondaries+1)}, true
}

// describeRequest names the request an error answers ("POST
// /repos/o/r/issues/1/comments"), for the log.
func describeRequest(err error) string {
	var er *github.ErrorResponse
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var ue *url.Error
	var resp *http.Response
	switch {
	case errors.As(err, &rl):
		resp = rl.Response
	case errors.As(err, &abuse):
		resp = abuse.Response
	case errors.As(err, &er):
		resp = er.Response
	case errors.As(err, &ue):
		if u, perr := url.Parse(ue.URL); perr == nil {
			return strings.ToUpper(ue.Op) + " " + u.Path
		}
		return strings.ToUpper(ue.Op)
	}
	if resp != nil && resp.Request != nil {
		return resp.Request.Method + " " + resp.Request.URL.Path
	}
	return "a request"
}

func isNetworkError(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// apiError keeps a readable message while errors.Is and errors.As still
// reach every error it wraps.
type apiError struct {
	msg  string
	errs []error
}

func (e *apiError) Error() string   { return e.msg }
func (e *apiError) Unwrap() []error { return e.errs }

// classify maps a refused token to ErrPermission, an empty repository to
// ErrEmptyRepository, a rate limit to a message saying so, and leaves
// other errors as they are.
func classify(err error, write bool) error {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &rl) {
		return &apiError{msg: fmt.Sprintf("GitHub API rate limit exhausted until %s: %s", rl.Rate.Reset.UTC().Format(time.RFC3339), rl.Message), errs: []error{err}}
	}
	if errors.As(err, &abuse) {
		return &apiError{msg: "GitHub secondary rate limit: " + abuse.Message, errs: []error{err}}
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return err
	}
	status := er.Response.StatusCode
	var hint string
	switch {
	case status == http.StatusTooManyRequests:
		return &apiError{msg: fmt.Sprintf("GitHub rate limit (429): %s", er.Message), errs: []error{err}}
	case status == http.StatusConflict && strings.Contains(strings.ToLower(er.Message), "empty"):
		return &apiError{msg: fmt.Sprintf("%s: push a first commit to the default branch", ErrEmptyRepository), errs: []error{ErrEmptyRepository, err}}
	case status == http.StatusUnauthorized:
		hint = "the token is missing, invalid or expired"
	case status == http.StatusForbidden:
		hint = "grant it in the workflow's permissions: block or the GitHub App's settings"
	case status == http.StatusNotFound && write:
		hint = "GitHub answers 404 to a write when the token cannot see the repository or lacks write access"
	default:
		return err
	}
	msg := fmt.Sprintf("%s (GitHub answered %d %q; %s)", ErrPermission, status, er.Message, hint)
	return &apiError{msg: msg, errs: []error{ErrPermission, err}}
}

// isStatus reports whether err is a GitHub error response with this status.
func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}

// validationMentions reports whether err is a 422 whose message or field
// errors contain text (case-insensitive), or name field with code.
func validationMentions(err error, text string) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	text = strings.ToLower(text)
	if strings.Contains(strings.ToLower(er.Message), text) {
		return true
	}
	for _, e := range er.Errors {
		if strings.Contains(strings.ToLower(e.Message), text) {
			return true
		}
	}
	return false
}

// invalidField returns the field ("base", "head") a 422 says is invalid.
func invalidField(err error) string {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return ""
	}
	for _, e := range er.Errors {
		if e.Code == "invalid" && (e.Field == "base" || e.Field == "head") {
			return e.Field
		}
	}
	return ""
}

// wrap prefixes err with the operation and removes the token from its text,
// should any layer have echoed it.
func (c *Client) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := "gh: " + fmt.Sprintf(format, args...) + ": " + err.Error()
	if c.token != "" {
		msg = strings.ReplaceAll(msg, c.token, "[redacted]")
	}
	return &apiError{msg: msg, errs: []error{err}}
}
