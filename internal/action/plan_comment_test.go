package action

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/ghtest"
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
		PlanMarker + "\n## RDS provisioning plan\n",
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
	section := strings.Trim(strings.TrimPrefix(second.summary, planHeader), "\n")
	if !strings.HasPrefix(second.summary, planHeader) || !strings.Contains(body, planSectionStart("act-plan")+"\n"+section+"\n"+planSectionEnd("act-plan")) {
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

func TestMergePlanComment(t *testing.T) {
	section := func(env, text string) string {
		return planSectionStart(env) + "\n" + text + "\n" + planSectionEnd(env) + "\n\n"
	}
	head := PlanMarker + "\n" + planHeader
	tests := []struct {
		name, current, env, section, want string
	}{
		{"first plan", "", "dev", "dev plan", head + section("dev", "dev plan")},
		{"rerun replaces its section", head + section("dev", "old"), "dev", "new", head + section("dev", "new")},
		{"keeps other environments, in pipeline order",
			head + section("prod", "prod plan") + section("dev", "dev plan"), "test", "test plan",
			head + section("dev", "dev plan") + section("test", "test plan") + section("prod", "prod plan")},
		{"unknown environments after the known ones, by name",
			head + section("zeta", "z") + section("alpha", "a"), "dev", "d",
			head + section("dev", "d") + section("alpha", "a") + section("zeta", "z")},
		{"a section without its end is dropped",
			head + section("dev", "d") + planSectionStart("prod") + "\ncut off", "test", "t",
			head + section("dev", "d") + section("test", "t")},
		{"text outside sections is not kept", "someone's edit\n" + head + section("dev", "d"), "dev", "d2", head + section("dev", "d2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MergePlanComment(tt.current, tt.env, tt.section)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanSection(t *testing.T) {
	row := func(db string, s audit.Status, msg string) audit.Row {
		return audit.Row{Database: db, Username: db + "_user", Action: audit.ActionCreateDatabase, Status: s, Message: msg}
	}
	t.Run("changes, warnings and errors before what is in place", func(t *testing.T) {
		got := PlanSection(ProvisionReport{Environment: "dev", Rows: []audit.Row{
			row("a", audit.NoChange, "Database a exists"),
			row("b", audit.DryRun, "Would create database: b"),
			row("c", audit.Error, "Role c_user has CREATEROLE"),
		}})
		want := "### dev\n\n🔍 **1 to change** · ➖ 1 in place · ❌ **1 error**\n\n" +
			"| | Database | Username | Action | Plan |\n|---|---|---|---|---|\n" +
			"| 🔍 | b | b\\_user | create\\_database | Would create database\\: b |\n" +
			"| ❌ | c | c\\_user | create\\_database | Role c\\_user has CREATEROLE |\n\n" +
			"<details><summary>Already in place (1)</summary>\n\n" +
			"| | Database | Username | Action | Plan |\n|---|---|---|---|---|\n" +
			"| ➖ | a | a\\_user | create\\_database | Database a exists |\n\n</details>\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a run-level failure is shown", func(t *testing.T) {
		got := PlanSection(ProvisionReport{Environment: "prod", Err: "master secret <x> not found"})
		want := "### prod\n\n> [!CAUTION]\n> **The plan failed:** master secret &lt;x&gt; not found\n\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("too many rows: errors kept, the cut said, within the section budget", func(t *testing.T) {
		var rows []audit.Row
		for i := range 2000 {
			rows = append(rows, row(fmt.Sprintf("db_%04d", i), audit.NoChange, "Database exists, grants already in place"))
		}
		rows = append(rows, row("broken", audit.Error, "Secret not found"))
		got := PlanSection(ProvisionReport{Environment: "dev", Rows: rows})
		if n := runeSize(got); n > maxPlanSectionChars {
			t.Errorf("section is %d characters, over %d", n, maxPlanSectionChars)
		}
		for _, want := range []string{"| ❌ | broken |", "_Showing ", " of 2001 rows (errors and warnings first)", "➖ 2000 in place"} {
			if !strings.Contains(got, want) {
				t.Errorf("section lacks %q", want)
			}
		}
	})
}
