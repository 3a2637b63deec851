package ghtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// raw sends one request to the fake and returns status, headers and the
// decoded JSON body (or the raw body under "raw").
func raw(t *testing.T, srv *ghtest.Server, method, path, accept, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token())
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if json.Unmarshal(b, &out) != nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, resp.Header, out
}

// Rate limits as "Rate limits for the REST API" describes them: a primary
// limit is a 403 or 429 with x-ratelimit-remaining 0; a secondary one a 403
// or 429 saying so, with or without retry-after. go-github v60 recognises
// only the 403 forms.
func TestRateLimitAnswers(t *testing.T) {
	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tt := range []struct {
		name          string
		status        int
		header        http.Header
		wantMessage   string
		wantRemaining string
		wantRetry     string
	}{
		{"primary on 403", 0, nil, "API rate limit exceeded", "0", ""},
		{"primary on 429", 429, nil, "API rate limit exceeded", "0", ""},
		{"secondary on 429 with retry-after", 429, http.Header{"Retry-After": {"30"}}, "secondary rate limit", "", "30"},
		{"secondary on 403 without retry-after", 403, http.Header{}, "secondary rate limit", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := ghtest.New(t, "o", "r")
			srv.SeedBranch("main", map[string]string{"a": "1"})
			switch {
			case tt.header == nil && tt.status == 0:
				status, h := ghtest.PrimaryRateLimit(http.StatusForbidden, reset)
				srv.FailNext("GET", "/repos/o/r/git/ref/", status, h)
			case tt.header == nil:
				status, h := ghtest.PrimaryRateLimit(tt.status, reset)
				srv.FailNext("GET", "/repos/o/r/git/ref/", status, h)
			default:
				retry := 0
				if v := tt.header.Get("Retry-After"); v != "" {
					retry = 30
				}
				status, h := ghtest.SecondaryRateLimitWith(tt.status, retry)
				srv.FailNext("GET", "/repos/o/r/git/ref/", status, h)
			}
			status, h, body := raw(t, srv, "GET", "/repos/o/r/git/ref/heads/main", "", "")
			if status != max(tt.status, 403) || !strings.Contains(body["message"].(string), tt.wantMessage) {
				t.Errorf("status %d, body %v", status, body)
			}
			if tt.wantRemaining == "0" && (h.Get("X-Ratelimit-Remaining") != "0" || h.Get("X-Ratelimit-Reset") != "" && h.Get("X-Ratelimit-Reset") != jsonInt(reset.Unix())) {
				t.Errorf("headers %v", h)
			}
			if tt.wantRemaining == "" && h.Get("X-Ratelimit-Remaining") == "0" {
				t.Errorf("a secondary limit with remaining 0: %v", h)
			}
			if h.Get("Retry-After") != tt.wantRetry || h.Get("X-Ghtest-Secondary-Limit") != "" {
				t.Errorf("retry-after %q (want %q), internal header %q", h.Get("Retry-After"), tt.wantRetry, h.Get("X-Ghtest-Secondary-Limit"))
			}
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// An empty repository: 409 "Git Repository is empty." from the Git
// endpoints, 404 "This repository is empty." from contents.
func TestEmptyRepositoryAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	for _, tt := range []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/repos/o/r/git/ref/heads/main", 409, "Git Repository is empty."},
		{"POST", "/repos/o/r/git/blobs", 409, "Git Repository is empty."},
		{"GET", "/repos/o/r/commits/abc/pulls", 409, "Git Repository is empty."},
		{"GET", "/repos/o/r/contents/README.md", 404, "This repository is empty."},
	} {
		status, _, body := raw(t, srv, tt.method, tt.path, "", `{"content":"x"}`)
		if status != tt.status || body["message"] != tt.message {
			t.Errorf("%s %s: %d %v, want %d %q", tt.method, tt.path, status, body, tt.status, tt.message)
		}
	}
}

// A file over 1 MB: the object answer has encoding "none" and no content;
// the raw media type and the blob API serve its bytes.
func TestLargeFileAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	big := strings.Repeat("z", ghtest.ContentsInlineLimit+1)
	srv.SeedBranch("main", map[string]string{"big.txt": big})
	status, _, body := raw(t, srv, "GET", "/repos/o/r/contents/big.txt?ref=main", "application/vnd.github+json", "")
	if status != 200 || body["encoding"] != "none" || body["content"] != "" || body["size"] != float64(len(big)) {
		t.Fatalf("object answer: %d encoding %v content %d chars size %v", status, body["encoding"], len(body["content"].(string)), body["size"])
	}
	if _, _, rawBody := raw(t, srv, "GET", "/repos/o/r/contents/big.txt?ref=main", "application/vnd.github.raw+json", ""); rawBody["raw"] != big {
		t.Errorf("raw media type: %d bytes", len(rawBody["raw"].(string)))
	}
	api := srv.Client()
	blob, _, err := api.Git.GetBlob(context.Background(), "o", "r", body["sha"].(string))
	if err != nil || blob.GetEncoding() != "base64" || blob.GetSize() != len(big) {
		t.Fatalf("blob: %v, %v", blob, err)
	}
	rawBlob, _, err := api.Git.GetBlobRaw(context.Background(), "o", "r", body["sha"].(string))
	if err != nil || string(rawBlob) != big {
		t.Errorf("raw blob: %d bytes, %v", len(rawBlob), err)
	}
}

// Environment names are case-insensitive; a token without actions: read
// gets 403 or 404 on every environment endpoint.
func TestEnvironmentAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SetEnvironment("Production", ghtest.Environment{WaitTimer: 5})
	api := srv.Client()
	ctx := context.Background()
	env, _, err := api.Repositories.GetEnvironment(ctx, "o", "r", "production")
	if err != nil || env.GetName() != "Production" {
		t.Fatalf("GetEnvironment(production) = %v, %v", env, err)
	}
	list, _, err := api.Repositories.ListEnvironments(ctx, "o", "r", nil)
	if err != nil || list.GetTotalCount() != 1 || list.Environments[0].GetName() != "Production" {
		t.Fatalf("ListEnvironments = %v, %v", list, err)
	}
	for _, deny := range []int{403, 404} {
		srv.DenyEnvironments(deny)
		_, _, err1 := api.Repositories.GetEnvironment(ctx, "o", "r", "Production")
		_, _, err2 := api.Repositories.ListEnvironments(ctx, "o", "r", nil)
		if !isStatus(err1, deny) || !isStatus(err2, deny) {
			t.Errorf("denied with %d: %v; %v", deny, err1, err2)
		}
	}
}

// GET /user answers a user's token; an installation token gets 403.
func TestUserAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	api := srv.Client()
	if _, _, err := api.Users.Get(context.Background(), ""); !isStatus(err, 403) || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("workflow token: %v", err)
	}
	srv.SetIdentity(ghtest.UserToken("jane-doe"))
	if u, _, err := api.Users.Get(context.Background(), ""); err != nil || u.GetLogin() != "jane-doe" || u.GetType() != "User" {
		t.Errorf("personal token: %v, %v", u, err)
	}
}

// Issues and pull requests share numbers and the issue list, where a pull
// request carries a pull_request key; comments and labels work on both.
func TestIssueAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1"})
	pr := srv.OpenPullRequest(branchWithCommit(srv), "main", "a pull request", "")
	api := srv.Client()
	ctx := context.Background()
	issue, _, err := api.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("drift"), Labels: &[]string{"rds-drift"}})
	if err != nil || issue.GetNumber() != pr+1 || issue.GetUser().GetLogin() != "github-actions[bot]" {
		t.Fatalf("Create = %v, %v", issue, err)
	}
	if _, _, err := api.Issues.AddLabelsToIssue(ctx, "o", "r", pr, []string{"rds-drift"}); err != nil {
		t.Fatal(err)
	}
	list, _, err := api.Issues.ListByRepo(ctx, "o", "r", &github.IssueListByRepoOptions{Labels: []string{"rds-drift"}})
	if err != nil || len(list) != 2 || list[0].IsPullRequest() || !list[1].IsPullRequest() {
		t.Fatalf("ListByRepo = %v, %v", list, err)
	}
	if _, _, err := api.Issues.Create(ctx, "o", "r", &github.IssueRequest{Body: github.String("no title")}); !isStatus(err, 422) {
		t.Errorf("an issue without title: %v", err)
	}
	closed, _, err := api.Issues.Edit(ctx, "o", "r", issue.GetNumber(), &github.IssueRequest{State: github.String("closed"), StateReason: github.String("not_planned")})
	if err != nil || closed.GetState() != "closed" || closed.GetStateReason() != "not_planned" || closed.ClosedAt == nil {
		t.Errorf("close: %v, %v", closed, err)
	}
	c, _, err := api.Issues.CreateComment(ctx, "o", "r", issue.GetNumber(), &github.IssueComment{Body: github.String("hi")})
	if err != nil || !strings.Contains(c.GetHTMLURL(), "/issues/2#issuecomment-") {
		t.Errorf("comment on an issue: %v, %v", c, err)
	}
}

// Review requests: teams and users need access to the repository, the
// pull request's author cannot be asked, and requests only accumulate.
func TestReviewRequestAnswers(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1"})
	n := srv.OpenPullRequestAs("jane-doe", branchWithCommit(srv), "main", "t", "")
	srv.AddTeam("dba")
	srv.AddCollaborator("sre-lead")
	srv.SetIdentity(ghtest.UserToken("platform-lead"))
	api := srv.Client()
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		req     github.ReviewersRequest
		status  int
		message string
	}{
		{"unknown team", github.ReviewersRequest{TeamReviewers: []string{"nobody"}}, 422, "Reviews may only be requested from collaborators. One or more of the teams you specified is not a collaborator of the o/r repository."},
		{"the author", github.ReviewersRequest{Reviewers: []string{"Jane-Doe"}}, 422, "Review cannot be requested from pull request author."},
		{"user without access", github.ReviewersRequest{Reviewers: []string{"x"}, TeamReviewers: []string{"dba"}}, 422, "One or more of the users or teams you specified"},
		{"team and user", github.ReviewersRequest{Reviewers: []string{"sre-lead"}, TeamReviewers: []string{"dba"}}, 0, ""},
		{"a token that cannot read teams", github.ReviewersRequest{TeamReviewers: []string{"dba"}}, 422, "Could not resolve to a node with the global id of 'T_dba'."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "a token that cannot read teams" {
				srv.SetIdentity(ghtest.WorkflowToken)
				defer srv.SetIdentity(ghtest.UserToken("platform-lead"))
			}
			pr, _, err := api.PullRequests.RequestReviewers(ctx, "o", "r", n, tt.req)
			switch {
			case tt.status == 0 && (err != nil || len(pr.RequestedTeams) != 1 || pr.RequestedTeams[0].GetSlug() != "dba" || pr.RequestedReviewers[0].GetLogin() != "sre-lead"):
				t.Errorf("RequestReviewers = %+v, %v", pr, err)
			case tt.status != 0 && (!isStatus(err, tt.status) || !strings.Contains(err.Error(), tt.message)):
				t.Errorf("err = %v, want %d %q", err, tt.status, tt.message)
			}
		})
	}
	if diff := cmp.Diff([]string{"dba"}, srv.PullRequests()[0].RequestedTeams); diff != "" {
		t.Errorf("requested teams (-want +got):\n%s", diff)
	}
}

// FailAfterNext lets the write happen and answers the failure.
func TestFailAfterNext(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1"})
	n := srv.OpenPullRequest(branchWithCommit(srv), "main", "t", "")
	srv.FailAfterNext("POST", "/repos/o/r/issues/", http.StatusBadGateway)
	_, _, err := srv.Client().Issues.CreateComment(context.Background(), "o", "r", n, &github.IssueComment{Body: github.String("x")})
	if !isStatus(err, 502) || len(srv.Comments(n)) != 1 {
		t.Errorf("err %v, comments %v", err, srv.Comments(n))
	}
}
