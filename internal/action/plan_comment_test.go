package action

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/report"
)

// instanceState is what a dry run must leave alone: the roles (attributes
// and password hash) and databases (owner and ACL) whose names start with
// prefix, read as the superuser.
func instanceState(t *testing.T, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT format('role %s super=%s createrole=%s createdb=%s login=%s password=%s',
		              rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, coalesce(rolpassword, ''))
		  FROM pg_authid WHERE rolname LIKE $1 || '%'
		UNION ALL
		SELECT format('database %s owner=%s acl=%s', datname, pg_get_userbyid(datdba), coalesce(datacl::text, ''))
		  FROM pg_database WHERE datname LIKE $1 || '%'
		ORDER BY 1`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	state, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// A dry run on a pull request keeps one plan comment, edited by every rerun
// and shared by the environments, calls nothing on GitHub but that
// comment's list, create and edit, and changes nothing on the instance.
func TestPlanOnPullRequestCommentsOnceAndChangesNothing(t *testing.T) {
	apps := []app{
		{"act_plan_kept", "act_plan_kept", "act_plan_kept_user"},
		{"act_plan_new", "act_plan_new", "act_plan_new_user"},
	}
	// The first app is provisioned already; the pull request adds the second.
	in := newInfra(t, "act-plan", apps)
	in.write(in.tfvars, "aws_region = \"eu-west-2\"\n\napplication_databases = {\n  act_plan_kept = {\n    database_name = \"act_plan_kept\"\n    username      = \"act_plan_kept_user\"\n  }\n}\n")
	if res := in.provisionRunner().input("comment_on_pr", "false").run(); res.err != nil {
		t.Fatalf("provisioning the first app: %v\n%s", res.err, res.log)
	}
	in.write(in.tfvars, "aws_region = \"eu-west-2\"\n\napplication_databases = {\n  act_plan_kept = {\n    database_name = \"act_plan_kept\"\n    username      = \"act_plan_kept_user\"\n  }\n  act_plan_new = {\n    database_name = \"act_plan_new\"\n    username      = \"act_plan_new_user\"\n  }\n}\n")
	before := instanceState(t, "act_plan")

	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", map[string]string{"README.md": "infra\n"})
	srv.SeedBranch("database/create-act-plan-new", map[string]string{"README.md": "infra\n"})
	number := srv.OpenPullRequest("database/create-act-plan-new", "development", "Create RDS Database: act_plan_new (act-plan)", "body")
	audit := srv.AddComment(number, "<!-- rds-provision:act-plan -->\nan audit comment of an earlier merge")
	head := strings.Repeat("ab", 20)
	plan := func(in *infra) stepResult {
		r := in.provisionRunner().
			input("dry_run", "true").
			input("require_approval", "false").
			input("github_token", srv.Token()).
			event("pull_request", map[string]any{"action": "synchronize", "number": number,
				"pull_request": map[string]any{"number": number, "head": map[string]any{"sha": head}}})
		r.env["GITHUB_API_URL"] = srv.URL()
		delete(r.env, "ALLOW_DB_PROVISION") // a plan job runs outside the protected Environment
		return r.run()
	}

	first := plan(in)
	if first.err != nil {
		t.Fatalf("first plan: %v\n%s", first.err, first.log)
	}
	second := plan(in)
	if second.err != nil {
		t.Fatalf("second plan: %v\n%s", second.err, second.log)
	}
	listPath := fmt.Sprintf("GET /repos/goldenpath/infra/issues/%d/comments", number)
	wantCalls := []string{
		listPath, fmt.Sprintf("POST /repos/goldenpath/infra/issues/%d/comments", number),
		listPath,
	}
	var comments []ghtest.Comment
	for _, c := range srv.Comments(number) {
		if c.ID != audit {
			comments = append(comments, c)
		}
	}
	if len(comments) != 1 {
		t.Fatalf("after two runs: %d plan comments, want 1:\n%v", len(comments), comments)
	}
	// The second run found the same plan, so it had nothing to edit.
	if diff := cmp.Diff(wantCalls, srv.Calls()); diff != "" {
		t.Errorf("GitHub calls (-want +got):\n%s", diff)
	}
	if got := srv.Comments(number)[0]; got.ID != audit || got.Body != "<!-- rds-provision:act-plan -->\nan audit comment of an earlier merge" {
		t.Errorf("the audit comment was touched: %+v", got)
	}
	body := comments[0].Body
	for _, want := range []string{
		report.PlanMarker + "\n## RDS provisioning plan\n",
		// Whether the kept app shows as in place or as (re)applied depends on
		// how live the dry run is; the new app is to change either way.
		"<!-- rds-provision-plan:act-plan -->\n### act-plan\n\n🔍 **",
		"tfvars envs/act-plan-rds/terraform.tfvars · commit abababa · run [12345678](<https://github.com/goldenpath/infra/actions/runs/12345678>)",
		"| 🔍 | act\\_plan\\_new | act\\_plan\\_new\\_user | create\\_database | Would create database\\: act\\_plan\\_new with owner act\\_plan\\_new\\_user |",
		"<!-- /rds-provision-plan:act-plan -->\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("plan comment lacks %q:\n%s", want, body)
		}
	}
	for _, secret := range []string{pg.MasterPassword, in.passwords["act_plan_kept"], in.passwords["act_plan_new"], srv.Token()} {
		if strings.Contains(body, secret) || strings.Contains(second.summary, secret) {
			t.Error("a secret value leaked into the plan comment or summary")
		}
	}
	if first.outputs["pr_comment_url"] == "" || second.outputs["pr_comment_url"] != first.outputs["pr_comment_url"] {
		t.Errorf("pr_comment_url: first %q, second %q", first.outputs["pr_comment_url"], second.outputs["pr_comment_url"])
	}
	// The job summary shows the same plan as the comment.
	section := strings.Trim(strings.TrimPrefix(second.summary, report.PlanHeader), "\n")
	if !strings.HasPrefix(second.summary, report.PlanHeader) || !strings.Contains(body, report.PlanSectionStart("act-plan")+"\n"+section+"\n"+report.PlanSectionEnd("act-plan")) {
		t.Errorf("job summary is not the comment's section:\n%s\ncomment:\n%s", second.summary, body)
	}
	if diff := cmp.Diff(before, instanceState(t, "act_plan")); diff != "" {
		t.Errorf("the dry runs changed the instance (-before +after):\n%s", diff)
	}

	// Another environment's plan joins the same comment; a change in the
	// first environment's plan then edits only its own section.
	other := newInfra(t, "act-plan2", []app{{"act_plan2_app", "act_plan2_app", "act_plan2_user"}})
	if res := plan(other); res.err != nil {
		t.Fatalf("second environment: %v\n%s", res.err, res.log)
	}
	in.write(in.tfvars, "aws_region = \"eu-west-2\"\n\napplication_databases = {\n}\n")
	if res := plan(in); res.err != nil {
		t.Fatalf("third plan: %v\n%s", res.err, res.log)
	}
	comments = nil
	for _, c := range srv.Comments(number) {
		if c.ID != audit {
			comments = append(comments, c)
		}
	}
	if len(comments) != 1 {
		t.Fatalf("after two environments: %d plan comments, want 1", len(comments))
	}
	body = comments[0].Body
	first1 := strings.Index(body, "<!-- rds-provision-plan:act-plan -->\n### act-plan\n\n_Nothing to provision")
	second1 := strings.Index(body, "<!-- rds-provision-plan:act-plan2 -->\n### act-plan2\n\n🔍 **3 to change**")
	if first1 < 0 || second1 < first1 {
		t.Errorf("want both environments' sections, act-plan first and updated:\n%s", body)
	}
	if n := srv.CountCalls("PATCH", "/repos/goldenpath/infra/issues/comments/"); n != 2 {
		t.Errorf("%d comment edits, want 2 (one per later plan that changed)", n)
	}
}

// A dry run on a push (or any event without a pull request) calls nothing
// on GitHub at all.
func TestDryRunOnPushCallsNoGitHub(t *testing.T) {
	in := newInfra(t, "act-dry-push", []app{{"act_dry_push", "act_dry_push", "act_dry_push_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	_, sha := mergedPR(t, srv, in)
	r := in.provisionRunner().
		input("dry_run", "true").
		input("github_token", srv.Token()).
		event("push", map[string]any{"ref": "refs/heads/development", "after": sha})
	r.env["GITHUB_API_URL"] = srv.URL()
	r.env["GITHUB_SHA"] = sha
	res := r.run()
	if res.err != nil {
		t.Fatalf("dry run: %v\n%s", res.err, res.log)
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("a dry run on push called GitHub: %v", calls)
	}
	if !strings.HasPrefix(res.summary, "## RDS provisioning: act-dry-push\n") {
		t.Errorf("summary is not the provisioning report:\n%s", res.summary)
	}
}
