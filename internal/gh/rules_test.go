package gh_test

// Tests of the rules GitHub documents for REST clients, each against the
// test server answering as GitHub does: rate limits ("Rate limits for the
// REST API"), a create whose answer is lost, the labels body, the media
// type, empty repositories, files over 1 MB and environments.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// stamp is clock+d as the log and errors write it.
func stamp(d time.Duration) string { return clock.Add(d).Format(time.RFC3339) }

func TestRateLimits(t *testing.T) {
	const refPath = "/repos/goldenpath/infra/git/ref/heads/"
	fail := func(status int, h http.Header) func(*ghtest.Server) {
		return func(s *ghtest.Server) { s.FailNext("GET", refPath, status, h) }
	}
	times := func(n int, f func(*ghtest.Server)) func(*ghtest.Server) {
		return func(s *ghtest.Server) {
			for range n {
				f(s)
			}
		}
	}
	tests := []struct {
		name       string
		inject     func(*ghtest.Server)
		deadline   time.Duration // from clock; 0: none
		wantSleeps []time.Duration
		wantErr    string // "" for success
		wantLog    string
		wantCalls  int
	}{
		{
			name:       "primary limit on 429 waits until x-ratelimit-reset",
			inject:     fail(ghtest.PrimaryRateLimit(http.StatusTooManyRequests, clock.Add(10*time.Minute))),
			wantSleeps: []time.Duration{10*time.Minute + time.Second},
			wantLog:    "GitHub API rate limit exhausted (429, x-ratelimit-remaining 0) until " + stamp(10*time.Minute) + " (x-ratelimit-reset); retrying in 10m1s",
			wantCalls:  2,
		},
		{
			name:       "primary limit on 403 waits until x-ratelimit-reset",
			inject:     fail(ghtest.PrimaryRateLimit(http.StatusForbidden, clock.Add(10*time.Second))),
			wantSleeps: []time.Duration{11 * time.Second},
			wantLog:    "rate limit exhausted (403, x-ratelimit-remaining 0)",
			wantCalls:  2,
		},
		{
			name:       "a primary limit far off is waited for when the call has no deadline",
			inject:     fail(ghtest.PrimaryRateLimit(http.StatusTooManyRequests, clock.Add(40*time.Minute))),
			wantSleeps: []time.Duration{40*time.Minute + time.Second},
			wantCalls:  2,
		},
		{
			name:      "a primary limit past the call's deadline fails at once, without waiting",
			inject:    fail(ghtest.PrimaryRateLimit(http.StatusTooManyRequests, clock.Add(10*time.Minute))),
			deadline:  2 * time.Minute,
			wantErr:   "until " + stamp(10*time.Minute) + " (x-ratelimit-reset), which is after this run's deadline " + stamp(2*time.Minute) + "; giving up",
			wantCalls: 1,
		},
		{
			name:       "secondary limit on 403 honours retry-after",
			inject:     fail(ghtest.SecondaryRateLimit(7)),
			wantSleeps: []time.Duration{7 * time.Second},
			wantLog:    "GitHub rate limit (403 You have exceeded a secondary rate limit",
			wantCalls:  2,
		},
		{
			name:       "secondary limit on 429 honours retry-after",
			inject:     fail(ghtest.SecondaryRateLimitWith(http.StatusTooManyRequests, 3)),
			wantSleeps: []time.Duration{3 * time.Second},
			wantCalls:  2,
		},
		{
			name:       "repeated secondary limits on 429 without retry-after back off exponentially from a minute",
			inject:     times(3, fail(ghtest.SecondaryRateLimitWith(http.StatusTooManyRequests, 0))),
			wantSleeps: []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute},
			wantLog:    "without retry-after, 3 in a row: backing off exponentially from a minute; retrying in 4m0s",
			wantCalls:  4,
		},
		{
			name:       "repeated secondary limits on 403 without retry-after back off exponentially from a minute",
			inject:     times(2, fail(ghtest.SecondaryRateLimit(0))),
			wantSleeps: []time.Duration{time.Minute, 2 * time.Minute},
			wantCalls:  3,
		},
		{
			name: "only secondary limits count towards the exponent",
			inject: func(s *ghtest.Server) {
				s.FailNext("GET", refPath, http.StatusBadGateway, nil)
				fail(ghtest.SecondaryRateLimitWith(http.StatusTooManyRequests, 0))(s)
			},
			wantSleeps: []time.Duration{time.Second, time.Minute},
			wantCalls:  3,
		},
		{
			name:       "exponential backoff that would pass the deadline fails at once",
			inject:     times(2, fail(ghtest.SecondaryRateLimitWith(http.StatusTooManyRequests, 0))),
			deadline:   90 * time.Second,
			wantSleeps: []time.Duration{time.Minute},
			wantErr:    "after this run's deadline",
			wantCalls:  2,
		},
		{
			name:      "a 403 that is no rate limit is not retried",
			inject:    fail(http.StatusForbidden, nil),
			wantErr:   "Resource not accessible by integration",
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			tt.inject(f.srv)
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.Add(tt.deadline))
				defer cancel()
			}
			before := len(f.srv.Calls())
			got, err := f.client.BranchHead(ctx, base)
			switch {
			case tt.wantErr == "" && (err != nil || got != f.srv.Commits(base)[0].SHA):
				t.Fatalf("BranchHead = %q, %v", got, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantSleeps, *f.sleeps); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			if n := len(f.srv.Calls()) - before; n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if log := strings.Join(*f.logs, "\n"); !strings.Contains(log, tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log)
			}
		})
	}
}

// The real timer stops when the context is cancelled: a cancel during an
// hour-long wait returns at once (a wait that ignored it would hang the
// test until go test's timeout), with no further request.
func TestWaitStopsOnCancel(t *testing.T) {
	srv := ghtest.New(t, owner, repo)
	srv.SeedBranch(base, baseFiles)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := gh.New(gh.Options{
		BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository(),
		Logf: func(string, ...any) { cancel() }, // logged just before the wait
	})
	if err != nil {
		t.Fatal(err)
	}
	status, h := ghtest.SecondaryRateLimitWith(http.StatusTooManyRequests, 3600)
	srv.FailNext("GET", "/repos/goldenpath/infra/git/ref/", status, h)
	_, err = c.BranchHead(ctx, base)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's cancellation", err)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// newPR opens the pull request comments go on.
func newPR(t *testing.T, f fixture) int {
	t.Helper()
	newRequestBranch(t, f, "database/create-dev-inventory")
	pr, _, err := f.client.EnsurePullRequest(context.Background(), gh.PullRequestSpec{Head: "database/create-dev-inventory", Base: base, Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return pr.Number
}

// GitHub may create the comment and still answer 5xx: the retry lists the
// comments again and finds it instead of posting a second sticky comment.
func TestUpsertCommentAfter5xxIsNotDoubled(t *testing.T) {
	const marker = "<!-- rds-provision:dev -->"
	for _, tt := range []struct {
		name      string
		landed    bool // the failed attempt created the comment
		wantPosts int
	}{
		{"created, then 502", true, 1},
		{"502 without effect", false, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			n := newPR(t, f)
			path := "/repos/goldenpath/infra/issues/1/comments"
			if tt.landed {
				f.srv.FailAfterNext("POST", path, http.StatusBadGateway)
			} else {
				f.srv.FailNext("POST", path, http.StatusBadGateway, nil)
			}
			url, updated, err := f.client.UpsertComment(context.Background(), n, marker, "audit")
			if err != nil || updated {
				t.Fatalf("UpsertComment: updated %v, err %v", updated, err)
			}
			cs := f.srv.Comments(n)
			if len(cs) != 1 || cs[0].Body != marker+"\naudit" || cs[0].URL != url {
				t.Errorf("comments %+v, url %s: want exactly one, ours", cs, url)
			}
			if got := f.srv.CountCalls("POST", path); got != tt.wantPosts {
				t.Errorf("%d posts, want %d", got, tt.wantPosts)
			}
			// The comments were listed again between the failure and any repost.
			var seq []string
			for _, c := range f.srv.Calls() {
				if strings.HasSuffix(c, path) {
					seq = append(seq, strings.Fields(c)[0])
				}
			}
			want := []string{"GET", "POST", "GET"}
			if !tt.landed {
				want = append(want, "POST")
			}
			if diff := cmp.Diff(want, seq); diff != "" {
				t.Errorf("comment calls (-want +got):\n%s", diff)
			}
		})
	}
}

// Labels go as {"labels": [...]}, the body GitHub documents and recommends.
func TestLabelsBody(t *testing.T) {
	f := setup(t)
	newRequestBranch(t, f, "database/create-dev-inventory")
	if _, _, err := f.client.EnsurePullRequest(context.Background(), gh.PullRequestSpec{
		Head: "database/create-dev-inventory", Base: base, Title: "t", Labels: []string{"rds-database", "dev"},
	}); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, r := range f.srv.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/labels") {
			bodies = append(bodies, strings.TrimSpace(string(r.Body)))
		}
	}
	if diff := cmp.Diff([]string{`{"labels":["rds-database","dev"]}`}, bodies); diff != "" {
		t.Errorf("label request bodies (-want +got):\n%s", diff)
	}
}

// Every request asks for application/vnd.github+json: none of the
// endpoints needs a preview; only the raw blob of a large file asks for
// the raw media type.
func TestAcceptHeader(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.srv.Advance(base, map[string]string{"big.yaml": strings.Repeat("x", ghtest.ContentsInlineLimit+1)})
	n := newPR(t, f)
	steps := []func() error{
		func() error { _, _, err := f.client.ReadFile(ctx, base, "README.md"); return err },
		func() error { _, _, err := f.client.ReadFile(ctx, base, "big.yaml"); return err },
		func() error { _, _, err := f.client.UpsertComment(ctx, n, "<!-- m -->", "x"); return err },
		func() error {
			_, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{Head: "database/create-dev-inventory", Base: base, Title: "t", Labels: []string{"l"}})
			return err
		},
		func() error { _, _, err := f.client.PullRequestForCommit(ctx, f.srv.Commits(base)[0].SHA); return err },
		func() error { _, err := f.client.Environment(ctx, "prod"); return err },
		func() error { _, err := f.client.ListIssues(ctx, gh.IssueQuery{Labels: []string{"l"}}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	for _, r := range f.srv.Requests() {
		want := "application/vnd.github+json"
		if strings.Contains(r.Path, "/git/blobs/") && r.Method == "GET" {
			want = "application/vnd.github.v3.raw"
		}
		if r.Accept != want {
			t.Errorf("%s %s: Accept %q, want %q", r.Method, r.Path, r.Accept, want)
		}
	}
}

// A repository without commits answers 409 "Git Repository is empty." on
// the Git endpoints: its branch does not exist, and the error says why.
func TestEmptyRepository(t *testing.T) {
	srv := ghtest.New(t, owner, repo)
	f := setupClient(t, srv)
	ctx := context.Background()
	_, err := f.client.BranchHead(ctx, base)
	if !errors.Is(err, gh.ErrBranchNotFound) || !errors.Is(err, gh.ErrEmptyRepository) {
		t.Fatalf("BranchHead: %v, want ErrBranchNotFound and ErrEmptyRepository", err)
	}
	for _, want := range []string{`"development"`, "the repository is empty", "push a first commit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, found, err := f.client.Branch(ctx, base); found || err != nil {
		t.Errorf("Branch: found %v, err %v; want not found", found, err)
	}
	if _, found, err := f.client.ReadFile(ctx, base, "docs/catalog.yaml"); found || err != nil {
		t.Errorf("ReadFile: found %v, err %v; want not found", found, err)
	}
	if _, found, err := f.client.PullRequestForCommit(ctx, strings.Repeat("a", 40)); found || err != nil {
		t.Errorf("PullRequestForCommit: found %v, err %v; want not found", found, err)
	}
	if len(*f.sleeps) != 0 {
		t.Errorf("a 409 was retried: %v", *f.sleeps)
	}
}

// The contents API answers a file over 1 MB with encoding "none" and no
// content; ReadFile reads it through the blob API, byte for byte.
func TestReadFileOver1MB(t *testing.T) {
	big := strings.Repeat("databases:\n  - name: x\n", ghtest.ContentsInlineLimit/20+1)
	edge := strings.Repeat("y", ghtest.ContentsInlineLimit)
	f := setup(t)
	f.srv.Advance(base, map[string]string{"docs/big.yaml": big, "docs/edge.yaml": edge})
	ctx := context.Background()
	for name, want := range map[string]string{"docs/big.yaml": big, "docs/edge.yaml": edge} {
		got, found, err := f.client.ReadFile(ctx, base, name)
		if err != nil || !found || string(got) != want {
			t.Errorf("ReadFile(%s): %d bytes, found %v, err %v; want %d bytes", name, len(got), found, err, len(want))
		}
	}
	if n := f.srv.CountCalls("GET", "/repos/goldenpath/infra/git/blobs/"); n != 1 {
		t.Errorf("%d blob reads, want 1 (only the file over the limit)", n)
	}
}

func TestEnvironmentNamesAreCaseInsensitive(t *testing.T) {
	f := setup(t)
	f.srv.SetEnvironment("Production", ghtest.Environment{Reviewers: []string{"sre-lead"}})
	got, err := f.client.Environment(context.Background(), "production")
	if err != nil {
		t.Fatal(err)
	}
	want := gh.Environment{Name: "Production", Exists: true, Reviewers: 1, SettingsURL: f.srv.URL() + "/goldenpath/infra/settings/environments"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Environment (-want +got):\n%s", diff)
	}
}

// A token without actions: read gets 403, or 404 as for a missing
// environment: neither may pass for "the environment does not exist".
func TestEnvironmentWithoutActionsRead(t *testing.T) {
	for _, tt := range []struct {
		name      string
		deny      int
		wantErr   bool
		wantCalls []string
	}{
		{"403", http.StatusForbidden, true, []string{"GET /repos/goldenpath/infra/environments/staging"}},
		{"404", http.StatusNotFound, true, []string{"GET /repos/goldenpath/infra/environments/staging", "GET /repos/goldenpath/infra/environments"}},
		{"readable, and missing", 0, false, []string{"GET /repos/goldenpath/infra/environments/staging", "GET /repos/goldenpath/infra/environments"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.srv.SetEnvironment("prod", ghtest.Environment{WaitTimer: 5})
			f.srv.DenyEnvironments(tt.deny)
			before := len(f.srv.Calls())
			env, err := f.client.Environment(context.Background(), "staging")
			if tt.wantErr {
				if !errors.Is(err, gh.ErrPermission) || !strings.Contains(err.Error(), "actions: read") {
					t.Errorf("err = %v, want ErrPermission naming actions: read", err)
				}
			} else if err != nil || env.Exists {
				t.Errorf("Environment = %+v, %v; want a missing environment", env, err)
			}
			if diff := cmp.Diff(tt.wantCalls, f.srv.Calls()[before:]); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// decodeBody decodes a recorded request body.
func decodeBody(t *testing.T, r ghtest.Request) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s %s body %q: %v", r.Method, r.Path, r.Body, err)
	}
	return v
}
