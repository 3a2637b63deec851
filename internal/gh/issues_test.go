package gh_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// ListIssues keeps issues carrying every label asked, in the state asked,
// through every page, and leaves out pull requests (which GitHub's issue
// list includes).
func TestListIssues(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	newRequestBranch(t, f, "database/create-dev-inventory")
	if _, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{
		Head: "database/create-dev-inventory", Base: base, Title: "a pull request", Labels: []string{"rds-drift", "dev"},
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		f.srv.AddIssueAs("octocat", "noise", "", "question", map[bool]string{true: "rds-drift", false: "other"}[i == 7])
	}
	drift := f.srv.AddIssueAs("github-actions[bot]", "RDS drift: dev", "body", "rds-drift", "dev")
	prod := f.srv.AddIssueAs("github-actions[bot]", "RDS drift: prod", "body", "rds-drift", "prod")
	if _, err := f.client.EditIssue(ctx, prod, gh.IssueUpdate{State: "closed"}); err != nil {
		t.Fatal(err)
	}
	numbers := func(q gh.IssueQuery) []int {
		t.Helper()
		list, err := f.client.ListIssues(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, i := range list {
			out = append(out, i.Number)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		q    gh.IssueQuery
		want []int
	}{
		{"open with both labels, not the pull request", gh.IssueQuery{Labels: []string{"rds-drift", "dev"}}, []int{drift}},
		{"closed", gh.IssueQuery{Labels: []string{"rds-drift"}, State: "closed"}, []int{prod}},
		{"all, newest first", gh.IssueQuery{Labels: []string{"rds-drift"}, State: "all"}, []int{prod, drift, 2 + 7}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, numbers(tt.q)); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
	if n := len(numbers(gh.IssueQuery{State: "open"})); n != 121 {
		t.Errorf("%d open issues over every page, want 121", n)
	}
	for _, bad := range []gh.IssueQuery{{State: "merged"}, {Labels: []string{"a,b"}}, {Labels: []string{" "}}} {
		if _, err := f.client.ListIssues(ctx, bad); err == nil {
			t.Errorf("ListIssues(%+v) accepted", bad)
		}
	}
}

// An issue is opened with its labels, edited, closed as not planned and
// reopened; the drift report's comment lands on it.
func TestIssueLifecycle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	made, err := f.client.CreateIssue(ctx, gh.IssueSpec{Title: "RDS drift: dev", Body: "2 roles differ", Labels: []string{"rds-drift", "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	want := gh.Issue{Number: 1, Title: "RDS drift: dev", Body: "2 roles differ", State: "open", Labels: []string{"rds-drift", "dev"},
		Author: "github-actions[bot]", URL: "https://github.com/goldenpath/infra/issues/1"}
	if diff := cmp.Diff(want, made); diff != "" {
		t.Errorf("CreateIssue (-want +got):\n%s", diff)
	}
	last := f.srv.Requests()[len(f.srv.Requests())-1]
	if diff := cmp.Diff(map[string]any{"title": "RDS drift: dev", "body": "2 roles differ", "labels": []any{"rds-drift", "dev"}}, decodeBody(t, last)); diff != "" {
		t.Errorf("create body (-want +got):\n%s", diff)
	}

	title, body := "RDS drift: dev (3)", "3 roles differ"
	steps := []struct {
		update              gh.IssueUpdate
		wantState, wantWhy  string
		wantTitle, wantBody string
	}{
		{gh.IssueUpdate{Title: &title, Body: &body}, "open", "", title, body},
		{gh.IssueUpdate{State: "closed", StateReason: "not_planned"}, "closed", "not_planned", title, body},
		{gh.IssueUpdate{State: "open", StateReason: "reopened"}, "open", "reopened", title, body},
		{gh.IssueUpdate{State: "closed"}, "closed", "completed", title, body},
	}
	for i, st := range steps {
		got, err := f.client.EditIssue(ctx, made.Number, st.update)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got.State != st.wantState || got.StateReason != st.wantWhy || got.Title != st.wantTitle || got.Body != st.wantBody {
			t.Errorf("step %d: %+v", i, got)
		}
	}
	url, err := f.client.CreateComment(ctx, made.Number, "Drift resolved by run 42.")
	if err != nil || !strings.HasPrefix(url, "https://github.com/goldenpath/infra/issues/1#issuecomment-") {
		t.Errorf("CreateComment = %q, %v", url, err)
	}
	if cs := f.srv.Comments(made.Number); len(cs) != 1 || cs[0].Body != "Drift resolved by run 42." {
		t.Errorf("comments %+v", cs)
	}
	// Sticky comments work on issues too.
	if _, _, err := f.client.UpsertComment(ctx, made.Number, "<!-- rds-drift:dev -->", "state"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []gh.IssueUpdate{{State: "merged"}, {State: "open", StateReason: "not_planned"}, {Title: new(string)}} {
		if _, err := f.client.EditIssue(ctx, made.Number, bad); err == nil {
			t.Errorf("EditIssue(%+v) accepted", bad)
		}
	}
	if _, err := f.client.EditIssue(ctx, 99, gh.IssueUpdate{State: "closed"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("editing a missing issue: %v", err)
	}
}

// A create that GitHub carried out but answered 502 is found before it is
// sent again: one issue, one comment.
func TestCreatesAfter5xxAreNotDoubled(t *testing.T) {
	for _, tt := range []struct {
		name   string
		path   string
		create func(f fixture) error
		count  func(f fixture) int
	}{
		{
			name: "issue", path: "/repos/goldenpath/infra/issues",
			create: func(f fixture) error {
				_, err := f.client.CreateIssue(context.Background(), gh.IssueSpec{Title: "RDS drift: dev", Body: "b", Labels: []string{"rds-drift"}})
				return err
			},
			count: func(f fixture) int { return len(f.srv.Issues()) },
		},
		{
			name: "comment", path: "/repos/goldenpath/infra/issues/1/comments",
			create: func(f fixture) error {
				_, err := f.client.CreateComment(context.Background(), 1, "Drift found.")
				return err
			},
			count: func(f fixture) int { return len(f.srv.Comments(1)) },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if tt.name == "comment" {
				f.srv.AddIssueAs("octocat", "an issue", "")
				f.srv.AddCommentAs(1, "octocat", "NONE", "Drift found.") // the same words, not ours
			}
			before := tt.count(f)
			f.srv.FailAfterNext("POST", tt.path, http.StatusBadGateway)
			if err := tt.create(f); err != nil {
				t.Fatal(err)
			}
			if got := tt.count(f) - before; got != 1 {
				t.Errorf("%d made, want 1", got)
			}
			if n := f.srv.CountCalls("POST", tt.path); n != 1 || f.srv.CountCalls("GET", tt.path) != 1 {
				t.Errorf("%d posts and %d lists, want one each", n, f.srv.CountCalls("GET", tt.path))
			}
		})
	}
}

func TestRequestReviewers(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	n := newPR(t, f)
	f.srv.AddTeam("platform-team")
	// The workflow token cannot see the organisation's teams.
	err := f.client.RequestReviewers(ctx, n, gh.Reviewers{Teams: []string{"platform-team"}})
	if !errors.Is(err, gh.ErrReviewersRefused) || !errors.Is(err, gh.ErrTeamsUnreadable) || !strings.Contains(err.Error(), "Members: read") {
		t.Fatalf("a team asked with the workflow token: %v", err)
	}
	f.srv.SetIdentity(ghtest.AppTokenWithMembers("rds-provision"))
	f.srv.AddTeam("dba")
	f.srv.AddCollaborator("sre-lead")

	if err := f.client.RequestReviewers(ctx, n, gh.Reviewers{Teams: []string{"platform-team", "dba"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.client.RequestReviewers(ctx, n, gh.Reviewers{Users: []string{"sre-lead"}, Teams: []string{"dba"}}); err != nil {
		t.Fatal(err)
	}
	pr := f.srv.PullRequests()[0]
	if diff := cmp.Diff([]string{"platform-team", "dba"}, pr.RequestedTeams); diff != "" {
		t.Errorf("requested teams (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sre-lead"}, pr.RequestedReviewers); diff != "" {
		t.Errorf("requested users (-want +got):\n%s", diff)
	}
	var first ghtest.Request // after the workflow token's refused one
	seen := 0
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/requested_reviewers") {
			if seen++; seen == 2 {
				first = r
				break
			}
		}
	}
	if diff := cmp.Diff(map[string]any{"team_reviewers": []any{"platform-team", "dba"}}, decodeBody(t, first)); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name    string
		r       gh.Reviewers
		refused bool // by GitHub (422), else before any call
		want    string
	}{
		{"a team without access", gh.Reviewers{Teams: []string{"app-team"}}, true, "team(s) app-team: Reviews may only be requested from collaborators. One or more of the teams you specified is not a collaborator of the goldenpath/infra repository."},
		{"a user without access", gh.Reviewers{Users: []string{"drive-by"}}, true, "user(s) drive-by: Reviews may only be requested from collaborators"},
		{"the author", gh.Reviewers{Users: []string{"github-actions[bot]"}}, false, `reviewer "github-actions[bot]" is not a GitHub login`},
		{"a team with its organisation", gh.Reviewers{Teams: []string{"goldenpath/dba"}}, false, `give the slug without the organisation ("dba", of goldenpath)`},
		{"nobody", gh.Reviewers{}, false, "no reviewer or team given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := len(f.srv.Calls())
			err := f.client.RequestReviewers(ctx, n, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, gh.ErrReviewersRefused) != tt.refused {
				t.Fatalf("err = %v, want %q (refused by GitHub: %v)", err, tt.want, tt.refused)
			}
			if sent := len(f.srv.Calls()) > calls; sent != tt.refused {
				t.Errorf("request sent: %v, want %v", sent, tt.refused)
			}
		})
	}
	if diff := cmp.Diff([]string{"platform-team", "dba"}, f.srv.PullRequests()[0].RequestedTeams); diff != "" {
		t.Errorf("a refused request changed the requests (-want +got):\n%s", diff)
	}
}
