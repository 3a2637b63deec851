package action

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/report"
)

// The pull request's author is a collaborator and plants comments carrying
// the plan and the audit markers, with a fake "prod: no changes" section.
// The plan and, after the merge, the audit land in the tool's own comments
// (github-actions[bot]'s, the workflow token's); the forged text appears in
// neither, and the forged comments are left as they were.
func TestForgedCommentsAreNotAdopted(t *testing.T) {
	in := newInfra(t, "act-forge", []app{{"act_forge_app", "act_forge_app", "act_forge_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", map[string]string{"README.md": "infra\n"})
	const branch = "database/create-act-forge-app"
	srv.SeedBranch(branch, map[string]string{"README.md": "infra\n", in.tfvars: "application_databases = {}\n"})
	number := srv.OpenPullRequestAs("pr-author", branch, "development", "Create RDS Database: act_forge_app (act-forge)", "body")

	const fake = "✅ prod: no changes"
	forgedPlan := report.PlanMarker + "\n" + report.PlanHeader + report.PlanSectionStart("prod") + "\n### prod\n\n" + fake + "\n" + report.PlanSectionEnd("prod") + "\n"
	forgedAudit := report.CommentMarker("act-forge") + "\n## RDS provisioning: act-forge\n\n" + fake + "\n"
	planID := srv.AddCommentAs(number, "pr-author", "COLLABORATOR", forgedPlan)
	auditID := srv.AddCommentAs(number, "pr-author", "COLLABORATOR", forgedAudit)

	ours := func(marker string) []ghtest.Comment {
		var out []ghtest.Comment
		for _, c := range srv.Comments(number) {
			if strings.Contains(c.Body, marker) && c.Author == "github-actions[bot]" {
				out = append(out, c)
			}
		}
		return out
	}
	forgedIntact := func(when string) {
		t.Helper()
		for _, c := range srv.Comments(number) {
			if (c.ID == planID && c.Body != forgedPlan) || (c.ID == auditID && c.Body != forgedAudit) {
				t.Errorf("%s: the forged comment %d was edited:\n%s", when, c.ID, c.Body)
			}
		}
		for _, id := range []int64{planID, auditID} {
			if n := srv.CountCalls("PATCH", fmt.Sprintf("/repos/goldenpath/infra/issues/comments/%d", id)); n != 0 {
				t.Errorf("%s: %d edits of the forged comment %d", when, n, id)
			}
		}
	}

	plan := in.provisionRunner().
		input("dry_run", "true").
		input("require_approval", "false").
		input("github_token", srv.Token()).
		event("pull_request", map[string]any{"action": "opened", "number": number,
			"pull_request": map[string]any{"number": number, "head": map[string]any{"sha": strings.Repeat("cd", 20)}}})
	plan.env["GITHUB_API_URL"] = srv.URL()
	delete(plan.env, "ALLOW_DB_PROVISION")
	for i := range 2 { // the rerun edits the tool's comment, still not the forged one
		res := plan.run()
		if res.err != nil {
			t.Fatalf("plan %d: %v\n%s", i, res.err, res.log)
		}
		if !strings.Contains(res.log, "a marked comment is taken as rds-provision's only when github-actions[bot] wrote it") {
			t.Errorf("the log does not say whose comments are adopted:\n%s", res.log)
		}
	}
	plans := ours(report.PlanMarker)
	if len(plans) != 1 {
		t.Fatalf("%d plan comments of the tool, want 1: %+v", len(plans), srv.Comments(number))
	}
	for _, bad := range []string{fake, report.PlanSectionStart("prod")} {
		if strings.Contains(plans[0].Body, bad) {
			t.Errorf("the plan comment carries the forged %q:\n%s", bad, plans[0].Body)
		}
	}
	if !strings.Contains(plans[0].Body, report.PlanSectionStart("act-forge")) {
		t.Errorf("the plan comment lacks the environment's own section:\n%s", plans[0].Body)
	}
	forgedIntact("after the plan")

	sha := srv.MergePR(number)
	push := in.provisionRunner().
		input("github_token", srv.Token()).
		event("push", map[string]any{"ref": "refs/heads/development", "after": sha})
	push.env["GITHUB_API_URL"] = srv.URL()
	push.env["GITHUB_SHA"] = sha
	res := push.run()
	if res.err != nil {
		t.Fatalf("provision: %v\n%s", res.err, res.log)
	}
	audits := ours(report.CommentMarker("act-forge"))
	if len(audits) != 1 || strings.Contains(audits[0].Body, fake) {
		t.Fatalf("the tool's audit comments: %+v", audits)
	}
	if res.outputs["pr_comment_url"] != audits[0].URL {
		t.Errorf("pr_comment_url %q, want the tool's own comment %q", res.outputs["pr_comment_url"], audits[0].URL)
	}
	forgedIntact("after the merge")
}

// With a GitHub App token the App's bot writes the comments: github_app_slug
// names it, its earlier comment is edited and the workflow bot's copy (a
// collaborator's workflow can post as github-actions[bot]) is not. Without
// the slug the comment still lands, with a warning naming the slug to set.
func TestCommentsOfAGitHubApp(t *testing.T) {
	in := newInfra(t, "act-app", []app{{"act_app_app", "act_app_app", "act_app_user"}})
	type fake struct {
		srv    *ghtest.Server
		number int
		sha    string
	}
	newFake := func() fake {
		srv := ghtest.New(t, "goldenpath", "infra")
		srv.SetIdentity(ghtest.AppToken("rds-provisioner"))
		number, sha := mergedPR(t, srv, in)
		return fake{srv, number, sha}
	}
	run := func(f fake, slug string) stepResult {
		t.Helper()
		r := in.provisionRunner().
			input("github_token", f.srv.Token()).
			input("github_app_slug", slug).
			event("push", map[string]any{"ref": "refs/heads/development", "after": f.sha})
		r.env["GITHUB_API_URL"] = f.srv.URL()
		r.env["GITHUB_SHA"] = f.sha
		res := r.run()
		if res.err != nil {
			t.Fatalf("run: %v\n%s", res.err, res.log)
		}
		return res
	}
	appComments := func(f fake) []ghtest.Comment {
		var out []ghtest.Comment
		for _, c := range f.srv.Comments(f.number) {
			if c.Author == "rds-provisioner[bot]" {
				out = append(out, c)
			}
		}
		return out
	}

	t.Run("with the slug", func(t *testing.T) {
		f := newFake()
		copyID := f.srv.AddCommentAs(f.number, "github-actions[bot]", "NONE", report.CommentMarker("act-app")+"\n✅ act-app: no changes")
		first, second := run(f, "rds-provisioner"), run(f, "rds-provisioner")
		if cs := appComments(f); len(cs) != 1 || first.outputs["pr_comment_url"] != cs[0].URL || second.outputs["pr_comment_url"] != cs[0].URL {
			t.Fatalf("App comments %+v; urls %q, %q", cs, first.outputs["pr_comment_url"], second.outputs["pr_comment_url"])
		}
		if !strings.Contains(second.log, "Updated the act-app audit") ||
			!strings.Contains(second.log, `only when rds-provisioner[bot] wrote it (the installation token of GitHub App "rds-provisioner")`) {
			t.Errorf("log:\n%s", second.log)
		}
		if n := f.srv.CountCalls("PATCH", fmt.Sprintf("/repos/goldenpath/infra/issues/comments/%d", copyID)); n != 0 {
			t.Errorf("the workflow bot's copy was edited %d times", n)
		}
	})
	t.Run("the slug forgotten", func(t *testing.T) {
		f := newFake()
		res := run(f, "")
		const warning = "::warning title=rds-provision%3A pull request comment::GitHub posted "
		if !strings.Contains(res.log, warning) || !strings.Contains(res.log, "as rds-provisioner[bot], but the action adopts only comments by github-actions[bot]") ||
			!strings.Contains(res.log, "set the input github_app_slug: rds-provisioner") {
			t.Errorf("no warning naming the slug:\n%s", res.log)
		}
		if cs := appComments(f); len(cs) != 1 || res.outputs["pr_comment_url"] != cs[0].URL {
			t.Errorf("App comments %+v; url %q", cs, res.outputs["pr_comment_url"])
		}
	})
	t.Run("a bad slug", func(t *testing.T) {
		bad := in.provisionRunner().input("github_app_slug", "rds provisioner").run()
		if bad.err == nil || !strings.Contains(bad.log, "::error title=rds-provision%3A input github_app_slug::input github_app_slug is \"rds provisioner\": want a GitHub App slug") {
			t.Errorf("a bad slug: %v\n%s", bad.err, bad.log)
		}
	})
}
