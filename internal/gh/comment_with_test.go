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
