package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/ghtest"
)

// sampleInfra returns the files of testdata/infra, keyed by their path in
// the repository.
func sampleInfra(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..", "testdata", "infra")
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// requestRunner is the create-rds-database workflow's step with the
// runbook's example form.
func requestRunner(t *testing.T, srv *ghtest.Server) *runner {
	r := newRunner(t, t.TempDir()).
		input("mode", "request").
		input("github_token", srv.Token()).
		input("base_branch", "development").
		input("database_name", "test_inventory").
		input("username", "test_inventory_user").
		input("owner", "app-team").
		input("user", "Daniel-Deans"). // github.actor keeps case; logins do not care
		input("domain", "catalog").
		input("environment", "dev").
		input("risk", "medium").
		input("size", "small").
		input("initial_schema", "none").
		event("workflow_dispatch", map[string]any{"ref": "refs/heads/main", "inputs": map[string]any{"database_name": "test_inventory"}})
	r.env["GITHUB_API_URL"] = srv.URL()
	r.env["GITHUB_REPOSITORY"] = srv.Repository()
	r.env["GITHUB_ACTOR"] = "Daniel-Deans" // the runner keeps the login's case
	r.env["GITHUB_TRIGGERING_ACTOR"] = "Daniel-Deans"
	return r
}

// grantRunner is the workflow's step for a grant of reader access on the
// sample's keycloak to keycloak_bi, for platform-team, with the fields the
// GitHub form always sends for a grant (their first choices).
func grantRunner(t *testing.T, srv *ghtest.Server) *runner {
	return requestRunner(t, srv).
		input("request_type", "grant").
		input("database_name", "keycloak").
		input("username", "keycloak_bi").
		input("access_level", "reader").
		input("owner", "platform-team").
		input("domain", "platform-core").
		input("risk", "none").
		input("size", "small")
}

func TestRequestOpensOnePullRequest(t *testing.T) {
	t.Parallel()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", sampleInfra(t))
	r := requestRunner(t, srv)

	first := r.run()
	if first.err != nil {
		t.Fatalf("request: %v\n%s", first.err, first.log)
	}
	prs := srv.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	const prURL = "https://github.com/goldenpath/infra/pull/1" // the first pull request's html_url
	want := map[string]string{
		"pr_number": "1",
		"pr_url":    prURL,
		"branch":    "database/create-dev-test_inventory",
		"changed":   "true",
	}
	if diff := cmp.Diff(want, first.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		"## RDS database request: test\\_inventory (dev)\n",
		"Pull request [\\#1](<" + prURL + ">) on branch database/create-dev-test\\_inventory.",
		"| user | daniel-deans |",
		"| initial\\_schema | none |",
		"### Changes\n\n```diff\n",
		"+    database_name = \"test_inventory\"",
	} {
		if !strings.Contains(first.summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, first.summary)
		}
	}
	if !strings.Contains(first.log, "::add-mask::"+srv.Token()+"\n") {
		t.Error("the token was not masked")
	}

	second := r.run()
	if second.err != nil {
		t.Fatalf("second request: %v\n%s", second.err, second.log)
	}
	if n := len(srv.PullRequests()); n != 1 {
		t.Errorf("%d pull requests after the same request again, want 1", n)
	}
	// The same pull request again; the base still lacks the entry, so
	// changed stays true.
	if diff := cmp.Diff(want, second.outputs); diff != "" {
		t.Errorf("second run outputs (-want +got):\n%s", diff)
	}
}

func TestRequestValidationAnnotatesEveryField(t *testing.T) {
	t.Parallel()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", sampleInfra(t))
	r := requestRunner(t, srv).
		input("database_name", "Bad-Name").
		input("size", "xlarge").
		input("owner", "nobody")
	// The workflow file is checked out: annotations land on its input lines.
	r.env["GITHUB_WORKFLOW_REF"] = "goldenpath/infra/.github/workflows/create-rds-database.yml@refs/heads/main"
	wf, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "create-rds-database.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(r.workspace, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.workspace, ".github", "workflows", "create-rds-database.yml"), wf, 0o644); err != nil {
		t.Fatal(err)
	}

	res := r.run()
	if res.err == nil {
		t.Fatal("want a validation error")
	}
	if n := len(srv.PullRequests()); n != 0 {
		t.Errorf("%d pull requests opened for an invalid form", n)
	}
	for _, field := range []string{"database_name", "owner", "size"} {
		want := "::error file=.github/workflows/create-rds-database.yml,line="
		found := false
		for _, l := range strings.Split(res.log, "\n") {
			if strings.HasPrefix(l, want) && strings.Contains(l, "title=Invalid "+field+"::"+field+": ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no annotation for %s on the workflow file:\n%s", field, res.log)
		}
	}
	if !strings.Contains(res.summary, "**Rejected:** 3 problem(s)") {
		t.Errorf("summary:\n%s", res.summary)
	}
	if res.outputs["changed"] != "false" || res.outputs["pr_number"] != "" {
		t.Errorf("outputs: %v", res.outputs)
	}
}

// TestRequestDryRunOnlyReads: a dry run reads the base branch through the
// API, so its preview is what a real run would propose, and writes nothing:
// every call is a GET. A push event, like a real run's trigger could be.
func TestRequestDryRunOnlyReads(t *testing.T) {
	t.Parallel()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", sampleInfra(t))
	r := requestRunner(t, srv).input("dry_run", "true").
		event("push", map[string]any{"ref": "refs/heads/main", "after": strings.Repeat("a", 40)})
	res := r.run()
	if res.err != nil {
		t.Fatalf("dry run: %v\n%s", res.err, res.log)
	}
	calls := srv.Calls()
	if len(calls) == 0 {
		t.Error("a dry run did not read the base branch from GitHub")
	}
	var writes []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "GET ") {
			writes = append(writes, c)
		}
	}
	if len(writes) > 0 {
		t.Errorf("a dry run wrote to GitHub: %v", writes)
	}
	if n := len(srv.PullRequests()); n != 0 {
		t.Errorf("a dry run opened %d pull requests", n)
	}
	want := map[string]string{"pr_number": "", "pr_url": "", "branch": "", "changed": "true"}
	if diff := cmp.Diff(want, res.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, w := range []string{"**Dry run:**", "```diff\n", "+    database_name = \"test_inventory\"", "<details><summary>Pull request body</summary>"} {
		if !strings.Contains(res.summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, res.summary)
		}
	}
}

// TestRequestGrantAsksTheOwningTeam: a grant through the action opens its
// pull request and asks the database's owning team to review; the summary
// says so, and lists only the fields a grant uses.
func TestRequestGrantAsksTheOwningTeam(t *testing.T) {
	t.Parallel()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", sampleInfra(t))
	srv.SetIdentity(ghtest.AppTokenWithMembers("rds-provision"))
	srv.AddTeam("platform-team")
	res := grantRunner(t, srv).run()
	if res.err != nil {
		t.Fatalf("grant: %v\n%s", res.err, res.log)
	}
	prs := srv.PullRequests()
	if len(prs) != 1 || prs[0].Head != "database/grant-dev-keycloak-keycloak_bi" || !cmp.Equal(prs[0].RequestedTeams, []string{"platform-team"}) {
		t.Fatalf("pull requests %+v", prs)
	}
	for _, w := range []string{
		"## RDS grant request: keycloak (dev)\n",
		"Review requested from the owning team platform-team.\n",
		"| access\\_level | reader |",
		"+    access_level  = \"reader\"",
	} {
		if !strings.Contains(res.summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, res.summary)
		}
	}
	for _, unused := range []string{"| domain |", "| risk |", "| size |", "Not used by"} {
		if strings.Contains(res.summary, unused) {
			t.Errorf("summary shows %q, which a grant does not use:\n%s", unused, res.summary)
		}
	}
	if strings.Contains(res.log, "::warning") {
		t.Errorf("warnings:\n%s", res.log)
	}
}

// TestRequestReviewRefusedIsReported: with the workflow token GitHub
// refuses the team's review request; the pull request is open, and the
// refusal is in its body, the job summary and a warning annotation.
func TestRequestReviewRefusedIsReported(t *testing.T) {
	t.Parallel()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", sampleInfra(t))
	srv.AddTeam("platform-team")
	res := grantRunner(t, srv).input("risk", "high").run()
	if res.err != nil {
		t.Fatalf("a refused review failed the request: %v\n%s", res.err, res.log)
	}
	prs := srv.PullRequests()
	if len(prs) != 1 || len(prs[0].RequestedTeams) != 0 || !strings.Contains(prs[0].Body, "could not be asked to review:** GitHub refused the review request for team(s) platform-team: the token cannot read the organisation's teams") {
		t.Fatalf("pull requests %+v", prs)
	}
	for _, w := range []string{
		"> **Review not requested from the owning team platform-team:** GitHub refused the review request",
		"Members\\: read",
		"> Not used by request\\_type grant, so ignored: risk \"high\".",
	} {
		if !strings.Contains(res.summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, res.summary)
		}
	}
	if !strings.Contains(res.log, "::warning title=rds-provision%3A review::The owning team platform-team could not be asked to review pull request #1: ") {
		t.Errorf("no warning annotation:\n%s", res.log)
	}
	if !strings.Contains(res.log, "::notice title=rds-provision%3A unused fields::Not used by request_type grant, so ignored: risk \"high\"") {
		t.Errorf("no notice of the unused field:\n%s", res.log)
	}
	if res.outputs["pr_number"] != "1" || res.outputs["changed"] != "true" {
		t.Errorf("outputs %v", res.outputs)
	}
}

// TestRequestUserIsWhoDispatched: a person cannot request in another
// person's name; a bot (Backstage's GitHub App) passes the requester's
// login, which the pull request records with the bot.
func TestRequestUserIsWhoDispatched(t *testing.T) {
	t.Parallel()
	t.Run("another person's login", func(t *testing.T) {
		t.Parallel()
		srv := ghtest.New(t, "goldenpath", "infra")
		srv.SeedBranch("development", sampleInfra(t))
		r := requestRunner(t, srv)
		r.env["GITHUB_ACTOR"] = "jane-doe"
		res := r.run()
		if res.err == nil || len(srv.PullRequests()) != 0 {
			t.Fatalf("err %v, %d pull requests", res.err, len(srv.PullRequests()))
		}
		want := `::error title=Invalid user::user: "daniel-deans" is not who dispatched the workflow (GITHUB_ACTOR "jane-doe"): a person can only request as themself`
		if !strings.Contains(res.log, want) {
			t.Errorf("log lacks %q:\n%s", want, res.log)
		}
		if !strings.Contains(res.summary, "**Rejected:** 1 problem(s)") {
			t.Errorf("summary:\n%s", res.summary)
		}
	})
	t.Run("Backstage's App", func(t *testing.T) {
		t.Parallel()
		srv := ghtest.New(t, "goldenpath", "infra")
		srv.SeedBranch("development", sampleInfra(t))
		r := requestRunner(t, srv)
		r.env["GITHUB_ACTOR"], r.env["GITHUB_TRIGGERING_ACTOR"] = "backstage-rds[bot]", "backstage-rds[bot]"
		res := r.run()
		if res.err != nil {
			t.Fatalf("%v\n%s", res.err, res.log)
		}
		want := "Requested by @daniel-deans, the login that `backstage-rds[bot]` passed: that bot dispatched the workflow"
		if prs := srv.PullRequests(); len(prs) != 1 || !strings.Contains(prs[0].Body, want) {
			t.Errorf("body lacks %q: %+v", want, prs)
		}
	})
}
