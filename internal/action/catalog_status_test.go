package action

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

func catalogEntry(name, env, user string) string {
	return fmt.Sprintf(`  %s:
    metadata:
      id: DATABASE_%s
      owner: app-team
      requested_by: jane-doe
      domain: catalog
      risk: low
      environment: %s
      status: pending
      created_date: "2026-01-15"
    configuration:
      username: %s
      size_tier: small
      instance_class: db.t3.micro
      secret_path: goldenpath/%s/%s/postgres
`, name, strings.ToUpper(name), env, user, env, name)
}

// A push run behind a protected Environment provisions, comments, and marks
// the catalog: the environment's own file and the shared dev file, whose
// entry names this environment, in one commit. One entry's secret is
// missing: it is marked failed, with the error in the summary. A rerun
// makes no commit.
func TestProvisionPushMarksCatalogStatus(t *testing.T) {
	const env = "act-cat"
	apps := []app{
		{"act_cat_orders", "act_cat_orders", "act_cat_orders_user"},
		{"act_cat_billing", "act_cat_billing", "act_cat_billing_user"},
		{"act_cat_broken", "act_cat_broken", "act_cat_broken_user"},
	}
	in := newInfra(t, env, apps, "act_cat_broken")
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SetEnvironment(env, ghtest.Environment{Reviewers: []string{"sre-lead"}})

	ownCatalog, shared := catalog.Path(env), catalog.Path("dev")
	ownSrc := "# " + env + " catalog\nversion: \"1.0\"\nlast_updated: \"2026-01-15\"\nrds_instance: " + catalog.Instance(env) + "\ndatabases:\n" +
		catalogEntry("act_cat_orders", env, "act_cat_orders_user") + catalogEntry("act_cat_broken", env, "act_cat_broken_user")
	sharedSrc := "version: \"1.0\"\nlast_updated: \"2026-01-15\"\nrds_instance: " + catalog.Instance("dev") + "\ndatabases:\n" +
		catalogEntry("act_cat_billing", env, "act_cat_billing_user") + catalogEntry("keycloak", "dev", "keycloak_user")
	tfvars, err := os.ReadFile(filepath.Join(in.workspace, in.tfvars))
	if err != nil {
		t.Fatal(err)
	}
	srv.SeedBranch("development", map[string]string{"README.md": "infra\n", ownCatalog: ownSrc, shared: sharedSrc})
	srv.SeedBranch("database/create-act-cat", map[string]string{"README.md": "infra\n", ownCatalog: ownSrc, shared: sharedSrc, in.tfvars: string(tfvars)})
	number := srv.OpenPullRequest("database/create-act-cat", "development", "Create RDS Database: act_cat_orders (act-cat)", "body")
	sha := srv.MergePR(number)

	r := gatedRunner(in, srv).input("fail_fast", "false")
	r.env["GITHUB_SHA"] = sha
	r.env["GITHUB_REF"] = "refs/heads/development"
	commitsBefore := len(srv.Commits("development"))

	first := r.run()
	if first.err == nil {
		t.Fatalf("first run succeeded despite a missing secret:\n%s", first.log)
	}
	if !strings.Contains(first.log, `GitHub Environment "act-cat" is protected (1 required reviewer(s))`) {
		t.Errorf("log does not say the Environment was checked:\n%s", first.log)
	}
	commits := srv.Commits("development")
	if len(commits) != commitsBefore+1 {
		t.Fatalf("%d new commits on development, want 1", len(commits)-commitsBefore)
	}
	if first.outputs["catalog_commit"] != commits[0].SHA || !strings.HasPrefix(commits[0].Message, "catalog: act_cat_billing, act_cat_broken, act_cat_orders in act-cat after provisioning") {
		t.Errorf("catalog_commit %q, head %s %q", first.outputs["catalog_commit"], commits[0].SHA, commits[0].Message)
	}
	if diff := cmp.Diff([]string{sha}, commits[0].Parents); diff != "" {
		t.Errorf("status commit parents (-want +got):\n%s", diff)
	}
	files := srv.Files("development")
	status := map[string]string{}
	for _, f := range []string{ownCatalog, shared} {
		entries, err := catalog.Entries([]byte(files[f]))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			status[e.Name] = e.Status
		}
	}
	want := map[string]string{"act_cat_orders": "active", "act_cat_billing": "active", "act_cat_broken": "failed", "keycloak": "pending"}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("catalog statuses (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(files[ownCatalog], "# act-cat catalog\n") || !strings.Contains(files[ownCatalog], `last_updated: "`) {
		t.Errorf("own catalog lost its comment or last_updated:\n%s", files[ownCatalog])
	}
	for _, w := range []string{
		"### Catalog status\n",
		"| act\\_cat\\_broken | failed | Secret not found\\: goldenpath/act-cat/act\\_cat\\_broken/postgres",
		"| act\\_cat\\_orders | active |  |",
	} {
		if !strings.Contains(first.summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, first.summary)
		}
	}
	comments := srv.Comments(number)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "## RDS provisioning: act-cat") {
		t.Fatalf("audit comment: %+v", comments)
	}

	second := r.run()
	if n := len(srv.Commits("development")); n != commitsBefore+1 {
		t.Errorf("the rerun added %d commits", n-commitsBefore-1)
	}
	if second.outputs["catalog_commit"] != "" || !strings.Contains(second.summary, "already says so: no commit") {
		t.Errorf("rerun: catalog_commit %q, summary:\n%s", second.outputs["catalog_commit"], second.summary)
	}
	if got := srv.Comments(number); len(got) != 1 || got[0].ID != comments[0].ID {
		t.Errorf("rerun comments: %+v", got)
	}
}

func TestProvisionCatalogStatusOff(t *testing.T) {
	const env = "act-catoff"
	in := newInfra(t, env, []app{{"act_catoff_app", "act_catoff_app", "act_catoff_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SetEnvironment(env, ghtest.Environment{WaitTimer: 10})
	r := gatedRunner(in, srv).input("update_catalog_status", "false").input("comment_on_pr", "false")
	r.env["GITHUB_REF"] = "refs/heads/development"
	res := r.run()
	if res.err != nil {
		t.Fatalf("run: %v\n%s", res.err, res.log)
	}
	if diff := cmp.Diff([]string{"GET /repos/goldenpath/infra/environments/" + env}, srv.Calls()); diff != "" {
		t.Errorf("GitHub calls (-want +got):\n%s", diff)
	}
}
