package ghtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// spyTB records errors instead of failing, to test Verify itself.
type spyTB struct {
	testing.TB
	errs []string
}

func (s *spyTB) Helper() {}
func (s *spyTB) Errorf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func TestVerifyCatchesUnexpectedCalls(t *testing.T) {
	spy := &spyTB{TB: t}
	srv := ghtest.New(spy, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1"})
	srv.FailNext("DELETE", "/repos/o/r/git/refs", http.StatusBadGateway, nil)
	ctx := context.Background()
	api := srv.Client()

	// Supported: no complaint, even when the answer is 404.
	if _, _, err := api.Git.GetRef(ctx, "o", "r", "heads/missing"); !isStatus(err, 404) {
		t.Fatalf("GetRef(missing) = %v, want 404", err)
	}
	// Not supported by the fake: an endpoint, and another repository.
	if _, _, err := api.Repositories.Get(ctx, "o", "r"); !isStatus(err, 404) {
		t.Fatalf("Repositories.Get = %v, want 404", err)
	}
	if _, _, err := api.Git.GetRef(ctx, "o", "other", "heads/main"); !isStatus(err, 404) {
		t.Fatalf("GetRef(other repo) = %v, want 404", err)
	}

	srv.Verify(spy)
	want := []string{
		"ghtest: unexpected request GET /repos/o/r",
		"ghtest: unexpected request GET /repos/o/other/git/ref/heads/main",
		"ghtest: injected failure for DELETE /repos/o/r/git/refs* was never triggered",
	}
	if diff := cmp.Diff(want, spy.errs); diff != "" {
		t.Errorf("Verify errors (-want +got):\n%s", diff)
	}
	spy.errs = nil // New's cleanup verifies again, into the spy.
}

func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == status
}

func TestGitHubBehaviour(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, srv *ghtest.Server, api *github.Client) error
		want int // HTTP status of the error, 0 for success
	}{
		{
			name: "non-fast-forward update without force is 422",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				srv.Advance("main", map[string]string{"b": "2"})
				old := srv.Commits("main")[1].SHA
				_, _, err := api.Git.UpdateRef(ctx, "o", "r", &github.Reference{
					Ref: github.String("refs/heads/main"), Object: &github.GitObject{SHA: github.String(old)},
				}, false)
				return err
			},
			want: 422,
		},
		{
			name: "fast-forward update without force is fine",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				head := srv.Commits("main")[0].SHA
				srv.Advance("main", map[string]string{"b": "2"})
				next := srv.Commits("main")[0].SHA
				_, _, err := api.Git.CreateRef(ctx, "o", "r", &github.Reference{
					Ref: github.String("refs/heads/ff"), Object: &github.GitObject{SHA: github.String(head)},
				})
				if err != nil {
					return err
				}
				_, _, err = api.Git.UpdateRef(ctx, "o", "r", &github.Reference{
					Ref: github.String("refs/heads/ff"), Object: &github.GitObject{SHA: github.String(next)},
				}, false)
				return err
			},
		},
		{
			name: "creating an existing ref is 422",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				_, _, err := api.Git.CreateRef(ctx, "o", "r", &github.Reference{
					Ref: github.String("refs/heads/main"), Object: &github.GitObject{SHA: github.String(srv.Commits("main")[0].SHA)},
				})
				return err
			},
			want: 422,
		},
		{
			name: "a comment over 65536 characters is 422",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				n := srv.OpenPullRequest(branchWithCommit(srv), "main", "t", "")
				_, _, err := api.Issues.CreateComment(ctx, "o", "r", n, &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))})
				return err
			},
			want: 422,
		},
		{
			name: "a comment of exactly 65536 characters is fine",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				n := srv.OpenPullRequest(branchWithCommit(srv), "main", "t", "")
				_, _, err := api.Issues.CreateComment(ctx, "o", "r", n, &github.IssueComment{Body: github.String(strings.Repeat("é", 65536))})
				return err
			},
		},
		{
			name: "a second pull request for the same head is 422",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				head := branchWithCommit(srv)
				srv.OpenPullRequest(head, "main", "t", "")
				_, _, err := api.PullRequests.Create(ctx, "o", "r", &github.NewPullRequest{
					Title: github.String("t"), Head: github.String(head), Base: github.String("main"),
				})
				return err
			},
			want: 422,
		},
		{
			name: "a wrong token is 401",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				bad := github.NewClient(nil).WithAuthToken("nope")
				bad.BaseURL = api.BaseURL
				_, _, err := bad.Git.GetRef(ctx, "o", "r", "heads/main")
				return err
			},
			want: 401,
		},
		{
			name: "a read-only token cannot write",
			run: func(t *testing.T, srv *ghtest.Server, api *github.Client) error {
				srv.SetReadOnly(true)
				if _, _, err := api.Git.GetRef(ctx, "o", "r", "heads/main"); err != nil {
					return err
				}
				_, _, err := api.Git.CreateBlob(ctx, "o", "r", &github.Blob{Content: github.String("x")})
				return err
			},
			want: 403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ghtest.New(t, "o", "r")
			srv.SeedBranch("main", map[string]string{"a": "1"})
			err := tt.run(t, srv, srv.Client())
			switch {
			case tt.want == 0 && err != nil:
				t.Fatalf("err = %v, want success", err)
			case tt.want != 0 && !isStatus(err, tt.want):
				t.Fatalf("err = %v, want HTTP %d", err, tt.want)
			}
		})
	}
}

// branchWithCommit makes a branch one commit ahead of main.
func branchWithCommit(srv *ghtest.Server) string {
	srv.SeedBranch("topic", nil)
	srv.Advance("topic", map[string]string{"t": "1"})
	return "topic"
}

func TestCommentsPagination(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1"})
	n := srv.OpenPullRequest(branchWithCommit(srv), "main", "t", "")
	for i := range 5 {
		srv.AddComment(n, fmt.Sprint(i))
	}
	api := srv.Client()
	var bodies []string
	var pages []int
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		cs, resp, err := api.Issues.ListComments(context.Background(), "o", "r", n, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			bodies = append(bodies, c.GetBody())
		}
		pages = append(pages, resp.NextPage)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if diff := cmp.Diff([]string{"0", "1", "2", "3", "4"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2, 3, 0}, pages); diff != "" {
		t.Errorf("next pages (-want +got):\n%s", diff)
	}
}

// TestEnterpriseURLs checks the fake also answers under /api/v3/, where
// go-github's WithEnterpriseURLs puts a host that is not api.*.
func TestEnterpriseURLs(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	want := srv.SeedBranch("main", map[string]string{"dir/a.txt": "hello"})
	api, err := github.NewClient(nil).WithAuthToken(srv.Token()).WithEnterpriseURLs(srv.URL()+"/", srv.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err := api.Git.GetRef(context.Background(), "o", "r", "heads/main")
	if err != nil || ref.GetObject().GetSHA() != want {
		t.Fatalf("GetRef = %v, %v; want %s", ref, err, want)
	}
	file, _, _, err := api.Repositories.GetContents(context.Background(), "o", "r", "dir/a.txt", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := file.GetContent(); got != "hello" {
		t.Errorf("content = %q", got)
	}
	if diff := cmp.Diff([]string{"GET /repos/o/r/git/ref/heads/main", "GET /repos/o/r/contents/dir/a.txt"}, srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestMergePR(t *testing.T) {
	srv := ghtest.New(t, "o", "r")
	srv.SeedBranch("main", map[string]string{"a": "1", "b": "1"})
	srv.SeedBranch("topic", nil)
	// topic branches from main, changes a; main then changes b.
	mainHead := srv.Commits("main")[0].SHA
	api := srv.Client()
	if _, _, err := api.Git.UpdateRef(context.Background(), "o", "r", &github.Reference{
		Ref: github.String("refs/heads/topic"), Object: &github.GitObject{SHA: github.String(mainHead)},
	}, true); err != nil {
		t.Fatal(err)
	}
	srv.Advance("topic", map[string]string{"a": "2"})
	srv.Advance("main", map[string]string{"b": "2"})
	n := srv.OpenPullRequest("topic", "main", "t", "")
	merge := srv.MergePR(n)

	if diff := cmp.Diff(map[string]string{"a": "2", "b": "2"}, srv.Files("main")); diff != "" {
		t.Errorf("merged files (-want +got):\n%s", diff)
	}
	prs, _, err := api.PullRequests.ListPullRequestsWithCommit(context.Background(), "o", "r", merge, nil)
	if err != nil || len(prs) != 1 || prs[0].GetNumber() != n || prs[0].MergedAt == nil {
		t.Fatalf("pulls for merge commit = %v, %v", prs, err)
	}
	pr, _, err := api.PullRequests.Get(context.Background(), "o", "r", n)
	if err != nil || !pr.GetMerged() || pr.GetMergeCommitSHA() != merge || pr.GetState() != "closed" {
		t.Fatalf("PR after merge = %+v, %v", pr, err)
	}
}
