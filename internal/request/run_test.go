package request

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

var testNow = time.Date(2026, 1, 20, 14, 30, 0, 0, time.UTC)

const devTfvars = `# dev RDS
aws_region      = "eu-west-2"
database_name   = "platform"
master_username = "platform_admin"

application_databases = {
  keycloak = {
    database_name = "keycloak"
    username      = "keycloak_user"
  },
  backstage = {
    database_name = "backstage"
    username      = "backstage_user"
  }
}
`

const devCatalog = `version: "1.0"
domain: platform-core
owner: platform-team
last_updated: "2026-01-16"
managed_by: platform-team
rds_instance: goldenpath-platform-db-dev
databases:
  keycloak:
    metadata:
      id: DATABASE_KEYCLOAK
      owner: platform-team
      requested_by: platform-bot
      domain: identity
      risk: high
      environment: dev
      status: active
      created_date: "2026-01-10"
    configuration:
      username: keycloak_user
      size_tier: small
      instance_class: db.t3.micro
      secret_path: goldenpath/dev/keycloak/postgres
`

const prodCoupled = `rds_config = {
  enabled         = true
  master_username = "platform_admin"
  application_databases = {
    payments = {
      database_name = "payments"
      username      = "payments_user"
    }
  }
}
`

const prodStandalone = `application_databases = {
  payments = {
    database_name = "payments"
    username      = "payments_user"
  }
}
`

func infraFiles() map[string]string {
	return map[string]string{
		"envs/dev-rds/terraform.tfvars":  devTfvars,
		"envs/prod/terraform.tfvars":     prodCoupled,
		"envs/prod-rds/terraform.tfvars": prodStandalone,
		catalog.Path("dev"):              devCatalog,
		"README.md":                      "infra\n",
	}
}

func newFake(t *testing.T) (*ghtest.Server, *gh.Client, string) {
	t.Helper()
	srv := ghtest.New(t, "goldenpath", "infra")
	base := srv.SeedBranch("development", infraFiles())
	c, err := gh.New(gh.Options{BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository(), Sleep: func(time.Duration) {}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, base
}

func prodForm(name, user string) Form {
	f := validForm()
	f.DatabaseName, f.Username, f.Environment, f.Size, f.Risk = name, user, "prod", "large", "high"
	return f
}

func run(t *testing.T, c GitHub, f Form) Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Form: f, GitHub: c, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestRunPullRequest(t *testing.T) {
	srv, c, base := newFake(t)
	form := validForm()

	// First request: one commit with both files on the base head, one PR.
	res := run(t, c, form)
	if !res.Changed || res.Branch != "database/create-dev-test_inventory" || res.PRNumber != 1 || res.PRURL != "https://github.com/goldenpath/infra/pull/1" || !res.PRCreated {
		t.Fatalf("result: %+v", res)
	}
	commits := srv.Commits(res.Branch)
	if len(commits) < 2 || commits[0].Message != "database: create test_inventory in dev" || !cmp.Equal(commits[0].Parents, []string{base}) {
		t.Fatalf("commits on branch: %+v", commits)
	}
	files := srv.Files(res.Branch)
	if !strings.Contains(files["envs/dev-rds/terraform.tfvars"], `username      = "test_inventory_user"`) ||
		!strings.Contains(files[catalog.Path("dev")], "DATABASE_TEST_INVENTORY") {
		t.Fatalf("branch files lack the entry:\n%s\n%s", files["envs/dev-rds/terraform.tfvars"], files[catalog.Path("dev")])
	}
	if diff := cmp.Diff([]string{"envs/dev-rds/terraform.tfvars", catalog.Path("dev")}, res.FilesChanged); diff != "" {
		t.Errorf("files changed (-want +got):\n%s", diff)
	}
	prs := srv.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d PRs", len(prs))
	}
	pr := prs[0]
	if pr.Title != "Create RDS Database: test_inventory (dev)" || pr.Base != "development" || pr.Head != res.Branch {
		t.Errorf("PR: %+v", pr)
	}
	if diff := cmp.Diff([]string{"dev", "medium-risk", "platform-team", "rds-database"}, sorted(pr.Labels)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	for _, want := range []string{"goldenpath-platform-db-dev", "goldenpath/dev/test_inventory/postgres", "make rds-apply ENV=dev", "make rds-provision-auto ENV=dev", "| secret rotation every 30 days (risk `medium`) | `rds-provision rotate --due`", "`daniel-deans`", "envs/dev-rds/terraform.tfvars"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q", want)
		}
	}
	headBefore := srv.Branches()[res.Branch]

	// Same request again: same PR, no new commit, no second PR.
	again := run(t, c, form)
	if again.PRNumber != res.PRNumber || again.PRCreated || srv.Branches()[res.Branch] != headBefore || len(srv.PullRequests()) != 1 {
		t.Errorf("re-run: %+v, branch %s -> %s, %d PRs", again, headBefore, srv.Branches()[res.Branch], len(srv.PullRequests()))
	}

	// Another database while the first PR is open: its own branch and PR.
	other := validForm()
	other.DatabaseName, other.Username = "orders", "orders_user"
	second := run(t, c, other)
	if second.Branch != "database/create-dev-orders" || second.PRNumber == res.PRNumber || len(srv.PullRequests()) != 2 {
		t.Errorf("second database: %+v", second)
	}

	// The base moves: the re-run rebuilds the commit on the new head, same PR.
	moved := srv.Advance("development", map[string]string{"README.md": "infra v2\n"})
	third := run(t, c, form)
	commits = srv.Commits(res.Branch)
	if third.PRNumber != res.PRNumber || !cmp.Equal(commits[0].Parents, []string{moved}) || len(srv.PullRequests()) != 2 {
		t.Errorf("after base moved: %+v, parents %v, want %s", third, commits[0].Parents, moved)
	}
	if srv.Files(res.Branch)["README.md"] != "infra v2\n" {
		t.Error("the branch does not hold the moved base's files")
	}

	// Merged: the base holds the request, nothing to do.
	srv.MergePR(res.PRNumber)
	done := run(t, c, form)
	if done.Changed || done.PRNumber != 0 || len(srv.PullRequests()) != 2 {
		t.Errorf("after merge: %+v", done)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRunProdKeepsDevEntry(t *testing.T) {
	srv, c, _ := newFake(t)
	// keycloak exists for dev; prod gets its own entry in its own file.
	res := run(t, c, prodForm("keycloak", "keycloak_user"))
	files := srv.Files(res.Branch)
	if files[catalog.Path("dev")] != devCatalog {
		t.Error("a prod request changed the dev catalog")
	}
	entries, err := catalog.Entries([]byte(files[catalog.Path("prod")]))
	if err != nil || len(entries) != 1 || entries[0].Environment != "prod" || entries[0].SecretPath != "goldenpath/prod/keycloak/postgres" {
		t.Errorf("prod catalog: %v %+v", err, entries)
	}
	// Coupled mode with both files: both get the entry.
	for _, p := range []string{"envs/prod/terraform.tfvars", "envs/prod-rds/terraform.tfvars"} {
		if !strings.Contains(files[p], `database_name = "keycloak"`) {
			t.Errorf("%s lacks the entry:\n%s", p, files[p])
		}
	}
	if diff := cmp.Diff([]string{"envs/prod/terraform.tfvars", "envs/prod-rds/terraform.tfvars", catalog.Path("prod")}, res.FilesChanged); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, p := range []string{"envs/prod/terraform.tfvars", "envs/prod-rds/terraform.tfvars"} {
		mode := tfvars.ModeStandalone
		if p == "envs/prod/terraform.tfvars" {
			mode = tfvars.ModeCoupled
		}
		if err := tfvars.VerifyWithTerraform(context.Background(), "", []byte(files[p]), mode, 2); err != nil {
			t.Errorf("terraform rejects %s: %v", p, err)
		}
	}
}

func TestRunErrors(t *testing.T) {
	t.Run("validation writes nothing", func(t *testing.T) {
		srv, c, _ := newFake(t)
		f := validForm()
		f.DatabaseName, f.Username, f.Owner = "keycloak", "x\n# y", "me"
		_, err := Run(context.Background(), Options{Form: f, GitHub: c})
		v, ok := IsValidation(err)
		if !ok || len(v.Problems) != 2 || v.Problems[0].Field != "username" || v.Problems[1].Field != "owner" {
			t.Fatalf("err = %v", err)
		}
		for _, call := range srv.Calls() {
			if !strings.HasPrefix(call, "GET") {
				t.Errorf("write call %s", call)
			}
		}
	})
	t.Run("username of another database", func(t *testing.T) {
		_, c, _ := newFake(t)
		f := validForm()
		f.Username = "backstage_user"
		_, err := Run(context.Background(), Options{Form: f, GitHub: c})
		if v, ok := IsValidation(err); !ok || v.Problems[0].Field != "username" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing base branch", func(t *testing.T) {
		_, c, _ := newFake(t)
		f := validForm()
		f.BaseBranch = "release"
		_, err := Run(context.Background(), Options{Form: f, GitHub: c})
		if !errors.Is(err, gh.ErrBranchNotFound) || !strings.Contains(err.Error(), "release") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("catalog is a symlink", func(t *testing.T) {
		srv, c, _ := newFake(t)
		srv.SeedSymlink("development", catalog.Path("dev"), "../../../../shared/catalog.yaml")
		_, err := Run(context.Background(), Options{Form: validForm(), GitHub: c})
		if err == nil || !strings.Contains(err.Error(), "is a symlink") {
			t.Fatalf("err = %v, want the symlink refused", err)
		}
		for _, call := range srv.Calls() {
			if !strings.HasPrefix(call, "GET") {
				t.Errorf("write call %s", call)
			}
		}
	})
	t.Run("read-only token", func(t *testing.T) {
		srv, c, _ := newFake(t)
		srv.SetReadOnly(true)
		_, err := Run(context.Background(), Options{Form: validForm(), GitHub: c})
		if !errors.Is(err, gh.ErrPermission) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("secondary rate limit is retried", func(t *testing.T) {
		srv, c, _ := newFake(t)
		status, header := ghtest.SecondaryRateLimit(1)
		srv.FailNext("POST", "/repos/goldenpath/infra/pulls", status, header)
		res := run(t, c, validForm())
		if res.PRNumber == 0 || len(srv.PullRequests()) != 1 {
			t.Fatalf("result %+v", res)
		}
	})
}

// TestRunDryRunThroughGitHubOnlyReads: with a GitHub client a dry run reads
// the base branch (so its diff is what a real run would propose) and makes
// no write call at all.
func TestRunDryRunThroughGitHubOnlyReads(t *testing.T) {
	srv, c, _ := newFake(t)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Form: validForm(), GitHub: c, DryRun: true, Stdout: &out, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	var writes []string
	for _, call := range calls {
		if !strings.HasPrefix(call, "GET ") {
			writes = append(writes, call)
		}
	}
	if len(calls) == 0 || len(writes) > 0 {
		t.Errorf("calls %v: want reads only, got writes %v", calls, writes)
	}
	if !res.Changed || res.PRNumber != 0 || res.PRURL != "" || res.Branch != "" || len(srv.PullRequests()) != 0 {
		t.Errorf("dry run result %+v, %d pull requests", res, len(srv.PullRequests()))
	}
	if !strings.Contains(out.String(), "+  test_inventory = {") {
		t.Errorf("dry run did not print the diff:\n%s", out.String())
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunLocalAndDryRun(t *testing.T) {
	dir := writeTree(t, infraFiles())
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Form: validForm(), RepoRoot: dir, DryRun: true, Stdout: &out, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars")); string(after) != devTfvars {
		t.Error("dry run wrote the tfvars")
	}
	for _, want := range []string{"+++ b/envs/dev-rds/terraform.tfvars", "+++ b/" + catalog.Path("dev"), "+  test_inventory = {", "Create RDS Database: test_inventory (dev)", "### Controls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out.String())
		}
	}
	if !res.Changed || res.Branch != "" {
		t.Errorf("dry run result %+v", res)
	}

	res, err = Run(context.Background(), Options{Form: validForm(), RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }})
	if err != nil || !res.Changed {
		t.Fatalf("local: %+v %v", res, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
	if err := tfvars.VerifyWithTerraform(context.Background(), "", got, tfvars.ModeStandalone, 3); err != nil {
		t.Error(err)
	}
	res, err = Run(context.Background(), Options{Form: validForm(), RepoRoot: dir, Local: true, Now: func() time.Time { return testNow.Add(time.Hour) }})
	if err != nil || res.Changed {
		t.Fatalf("local re-run: %+v %v", res, err)
	}
}

func TestTerraformOnPath(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatal("terraform is required on PATH for the tfvars checks (install terraform >= 1.5)")
	}
}
