package gh_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/gh"
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

// A marker in a comment from someone without write access to the
// repository is not ours: the comment is neither edited nor read as the
// current body, and ours is posted beside it. A member's comment (a
// personal token) or a bot's is ours.
func TestUpsertCommentTakesOverOnlyOwnComments(t *testing.T) {
	const marker = "<!-- rds-provision:prod -->"
	forged := marker + "\n✅ prod: nothing to change"
	tests := []struct {
		name        string
		login       string
		association string
		wantUpdated bool
		wantBodies  []string
	}{
		{"outsider", "octocat", "NONE", false, []string{forged, marker + "\naudit"}},
		{"contributor", "drive-by", "CONTRIBUTOR", false, []string{forged, marker + "\naudit"}},
		{"member with a personal token", "platform-bot-user", "MEMBER", true, []string{marker + "\naudit"}},
		{"collaborator", "ops", "COLLABORATOR", true, []string{marker + "\naudit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			newRequestBranch(t, f, "database/create-dev-inventory")
			pr, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{Head: "database/create-dev-inventory", Base: base, Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			f.srv.AddCommentAs(pr.Number, tt.login, tt.association, forged)
			var current string
			_, updated, err := f.client.UpsertCommentWith(ctx, pr.Number, marker, func(c string) string {
				current = c
				return marker + "\naudit"
			})
			if err != nil {
				t.Fatal(err)
			}
			if updated != tt.wantUpdated {
				t.Errorf("updated = %v, want %v", updated, tt.wantUpdated)
			}
			if wantCurrent := map[bool]string{true: forged}[tt.wantUpdated]; current != wantCurrent {
				t.Errorf("builder got current body %q, want %q", current, wantCurrent)
			}
			var bodies []string
			for _, c := range f.srv.Comments(pr.Number) {
				bodies = append(bodies, c.Body)
			}
			if diff := cmp.Diff(tt.wantBodies, bodies); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
		})
	}
}
