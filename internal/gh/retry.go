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

// callFunc is one GitHub request made with api.
type callFunc func(ctx context.Context, api *github.Client) (*github.Response, error)

// call runs fn, retrying transient failures — 5xx, network errors, primary
// and secondary rate limits — with exponential backoff (capped) or the wait
// GitHub asks for, then turns the final error into one a caller can act on.
// write says whether fn changes anything, so a 404 can be read as a
// permission problem.
func (c *Client) call(ctx context.Context, write bool, fn callFunc) error {
	for attempt := 0; ; attempt++ {
		_, err := fn(ctx, c.client())
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, retry, fresh := c.retryAfter(err, attempt)
		if !retry || attempt >= c.maxRetries {
			return classify(err, write)
		}
		if fresh {
			c.resetClient()
		}
		if err := c.wait(ctx, wait); err != nil {
			return err
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

// retryAfter decides whether err is worth another attempt and how long to
// wait first. fresh asks for a new go-github client, which forgets the rate
// limit it saw.
func (c *Client) retryAfter(err error, attempt int) (wait time.Duration, retry, fresh bool) {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		wait = rl.Rate.Reset.Time.Sub(c.now()) + time.Second
		if wait <= 0 {
			wait = time.Second
		}
		return wait, wait <= maxRateLimitWait, true
	case errors.As(err, &abuse):
		wait = secondaryDefaultWait
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			wait = *abuse.RetryAfter
		}
		return wait, wait <= maxRateLimitWait, true
	case errors.As(err, &er):
		if er.Response == nil {
			return 0, false, false
		}
		switch code := er.Response.StatusCode; {
		case code == http.StatusTooManyRequests,
			code == http.StatusForbidden && strings.Contains(strings.ToLower(er.Message), "rate limit"):
			// A rate limit go-github did not recognise (no documentation
			// URL): wait as for a secondary one.
			wait = secondaryDefaultWait
			if s, convErr := strconv.Atoi(er.Response.Header.Get("Retry-After")); convErr == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			return wait, wait <= maxRateLimitWait, true
		case code >= 500 && code != http.StatusNotImplemented:
			return backoff(attempt), true, false
		}
		return 0, false, false
	case isNetworkError(err):
		return backoff(attempt), true, false
	}
	return 0, false, false
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

// classify maps a refused token to ErrPermission and leaves other errors as
// they are.
func classify(err error, write bool) error {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &rl) {
		return &apiError{msg: fmt.Sprintf("GitHub API rate limit exhausted until %s: %s", rl.Rate.Reset.Format(time.RFC3339), rl.Message), errs: []error{err}}
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
