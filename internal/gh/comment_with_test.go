package gh_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// UpsertCommentWith hands the builder the current body of the marked
// comment (found past the first page), edits it in place, and sends no
// edit when the body would not change.
func TestUpsertCommentWith(t *testing.T) {
	const marker = "<!-- rds-provision-plan -->"
	f := setup(t)
	ctx := context.Background()
	newRequestBranch(t, f, "database/create-dev-inventory")
	pr, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{Head: "database/create-dev-inventory", Base: base, Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		f.srv.AddComment(pr.Number, fmt.Sprintf("LGTM %d", i))
	}
	var seen []string
	appendLine := func(line string) func(string) string {
		return func(current string) string {
			seen = append(seen, current)
			if current == "" {
				current = marker + "\n"
			}
			return current + line + "\n"
		}
	}
	for _, step := range []struct {
		build       func(string) string
		wantUpdated bool
	}{
		{appendLine("dev"), false},
		{appendLine("prod"), true},
		{func(current string) string { seen = append(seen, current); return current }, true},
	} {
		if _, updated, err := f.client.UpsertCommentWith(ctx, pr.Number, marker, step.build); err != nil || updated != step.wantUpdated {
			t.Fatalf("UpsertCommentWith: updated %v, err %v; want updated %v", updated, err, step.wantUpdated)
		}
	}
	want := []string{"", marker + "\ndev\n", marker + "\ndev\nprod\n"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("bodies handed to the builder (-want +got):\n%s", diff)
	}
	cs := f.srv.Comments(pr.Number)
	if len(cs) != 121 || cs[120].Body != marker+"\ndev\nprod\n" {
		t.Errorf("%d comments, last %q", len(cs), cs[len(cs)-1].Body)
	}
	if n := f.srv.CountCalls("PATCH", "/repos/goldenpath/infra/issues/comments/"); n != 1 {
		t.Errorf("%d edits, want 1: an unchanged body is not sent", n)
	}
}

// A marked comment is ours only when its author is the account the token
// posts as: github-actions[bot] for the workflow token, "<slug>[bot]" for a
// GitHub App token (the slug given), the token's user for a personal token
// (GET /user). A copy of the marker by anyone else — a collaborator or a
// member, the pull request's author, another App — is neither read nor
// edited, and ours is posted beside it.
func TestUpsertCommentAdoptsOnlyItsOwnAccount(t *testing.T) {
	const marker = "<!-- rds-provision:prod -->"
	forged := marker + "\n✅ prod: nothing to change"
	workflow := func(*ghtest.Server, *gh.Options) {}
	app := func(s *ghtest.Server, o *gh.Options) {
		s.SetIdentity(ghtest.AppToken("rds-provisioner"))
		o.AppSlug = "rds-provisioner"
	}
	pat := func(s *ghtest.Server, o *gh.Options) {
		s.SetToken("github_pat_11PLATFORMCI0123456789")
		s.SetIdentity(ghtest.UserToken("platform-ci"))
		o.Token = s.Token()
	}
	tests := []struct {
		name        string
		token       func(*ghtest.Server, *gh.Options)
		author      string // of the planted comment
		association string
		wantAdopted bool
	}{
		{"workflow token: its own bot's comment", workflow, "github-actions[bot]", "NONE", true},
		{"workflow token: a collaborator's copy", workflow, "pr-author", "COLLABORATOR", false},
		{"workflow token: a member's copy", workflow, "ops", "MEMBER", false},
		{"workflow token: another App's copy", workflow, "other-app[bot]", "NONE", false},
		{"workflow token: an outsider's copy", workflow, "octocat", "NONE", false},
		{"App token: its own bot's comment", app, "rds-provisioner[bot]", "NONE", true},
		{"App token: the workflow bot's copy", app, "github-actions[bot]", "NONE", false},
		{"App token: an owner's copy", app, "goldenpath-admin", "OWNER", false},
		{"personal token: its user's comment", pat, "platform-ci", "MEMBER", true},
		{"personal token: its user's comment, other case", pat, "Platform-CI", "MEMBER", true},
		{"personal token: the workflow bot's copy", pat, "github-actions[bot]", "NONE", false},
		{"personal token: a collaborator's copy", pat, "pr-author", "COLLABORATOR", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ghtest.New(t, owner, repo)
			srv.SeedBranch(base, baseFiles)
			f := setupClient(t, srv, func(o *gh.Options) { tt.token(srv, o) })
			ctx := context.Background()
			n := newPR(t, f)
			planted := srv.AddCommentAs(n, tt.author, tt.association, forged)
			var seen []string
			for range 2 { // the second run edits whichever comment is ours
				if _, _, err := f.client.UpsertCommentWith(ctx, n, marker, func(c string) string {
					seen = append(seen, c)
					return marker + "\naudit"
				}); err != nil {
					t.Fatal(err)
				}
			}
			wantSeen := []string{"", marker + "\naudit"}
			if tt.wantAdopted {
				wantSeen[0] = forged
			}
			if diff := cmp.Diff(wantSeen, seen); diff != "" {
				t.Errorf("current bodies handed to the builder (-want +got):\n%s", diff)
			}
			var got []string
			for _, c := range srv.Comments(n) {
				got = append(got, fmt.Sprintf("%d %s %s", c.ID, c.Author, c.Body))
			}
			want := []string{fmt.Sprintf("%d %s %s", planted, tt.author, marker+"\naudit")}
			if !tt.wantAdopted {
				cs := srv.Comments(n)
				want = []string{
					fmt.Sprintf("%d %s %s", planted, tt.author, forged),
					fmt.Sprintf("%d %s %s", cs[len(cs)-1].ID, mustIdentity(t, f).Login, marker+"\naudit"),
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if n := srv.CountCalls("GET", "/user"); n > 1 {
				t.Errorf("GET /user %d times, want at most once", n)
			}
		})
	}
}

func mustIdentity(t *testing.T, f fixture) gh.Identity {
	t.Helper()
	id, err := f.client.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		identity  ghtest.Identity // what the fake's token really is
		slug      string
		want      string
		wantErr   error
		wantCalls []string
	}{
		{name: "workflow token", token: ghtest.Token, identity: ghtest.WorkflowToken, want: "github-actions[bot]"},
		{name: "App token with its slug", token: ghtest.Token, identity: ghtest.AppToken("rds-provisioner"), slug: "rds-provisioner", want: "rds-provisioner[bot]"},
		{name: "slug given as the bot", token: ghtest.Token, identity: ghtest.AppToken("rds-provisioner"), slug: "RDS-Provisioner[bot]", want: "rds-provisioner[bot]"},
		{name: "classic personal token", token: "ghp_0123456789abcdefABCDEF0123456789abcd", identity: ghtest.UserToken("jane-doe"), want: "jane-doe", wantCalls: []string{"GET /user"}},
		{name: "fine-grained personal token", token: "github_pat_11AAAA0123456789", identity: ghtest.UserToken("platform-ci"), want: "platform-ci", wantCalls: []string{"GET /user"}},
		{name: "token of an old format, refused as an integration", token: "0123456789abcdef0123456789abcdef01234567", identity: ghtest.WorkflowToken, want: "github-actions[bot]", wantCalls: []string{"GET /user"}},
		{name: "rejected token", token: "ghp_notAcceptedByTheServer", identity: ghtest.UserToken("x"), wantErr: gh.ErrUnknownIdentity, wantCalls: []string{"GET /user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ghtest.New(t, owner, repo)
			srv.SetIdentity(tt.identity)
			if tt.wantErr == nil {
				srv.SetToken(tt.token)
			}
			f := setupClient(t, srv, func(o *gh.Options) { o.Token, o.AppSlug = tt.token, tt.slug })
			for range 2 { // learned once
				got, err := f.client.Identity(context.Background())
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), tt.token) {
						t.Fatalf("err = %v, want %v without the token", err, tt.wantErr)
					}
					continue
				}
				if err != nil || got.Login != tt.want || got.Source == "" {
					t.Fatalf("Identity = %+v, %v; want %s", got, err, tt.want)
				}
			}
			wantCalls := tt.wantCalls
			if tt.wantErr != nil {
				wantCalls = append(wantCalls, wantCalls...) // a failure is not remembered
			}
			if diff := cmp.Diff(wantCalls, srv.Calls(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// An App token taken for the workflow token (no slug given) posts a
// comment GitHub attributes to the App: the comment is there, and the
// error says which slug to give so the next run finds it.
func TestUpsertCommentIdentityMismatch(t *testing.T) {
	f := setup(t)
	f.srv.SetIdentity(ghtest.AppToken("rds-provisioner"))
	n := newPR(t, f)
	url, _, err := f.client.UpsertComment(context.Background(), n, "<!-- rds-provision:dev -->", "audit")
	var mismatch *gh.IdentityMismatchError
	if !errors.As(err, &mismatch) || mismatch.Actual != "rds-provisioner[bot]" || mismatch.Expected != "github-actions[bot]" {
		t.Fatalf("err = %v, want an IdentityMismatchError", err)
	}
	if url == "" || len(f.srv.Comments(n)) != 1 || !strings.Contains(err.Error(), `give its slug "rds-provisioner"`) {
		t.Errorf("url %q, comments %v, err %v", url, f.srv.Comments(n), err)
	}
}
