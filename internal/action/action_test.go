package action

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/ghtest"
)

func randomPassword(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "pw-" + hex.EncodeToString(b)
}

// infra is one test's infra repository checkout (the workspace) and the
// secrets of its environment.
type infra struct {
	t         *testing.T
	env       string
	workspace string
	tfvars    string // path relative to the workspace
	passwords map[string]string
}

type app struct{ key, db, user string }

// newInfra writes envs/<env>-rds/terraform.tfvars listing apps and seeds the
// master secret and, unless skipped, each app's secret.
func newInfra(t *testing.T, env string, apps []app, skipSecret ...string) *infra {
	t.Helper()
	in := &infra{t: t, env: env, workspace: t.TempDir(), passwords: map[string]string{}}
	in.tfvars = "envs/" + env + "-rds/terraform.tfvars"
	var b strings.Builder
	b.WriteString("aws_region      = \"eu-west-2\"\nmaster_username = \"platform_admin\"\n\napplication_databases = {\n")
	for _, a := range apps {
		fmt.Fprintf(&b, "  %s = {\n    database_name = %q\n    username      = %q\n  }\n", a.key, a.db, a.user)
	}
	b.WriteString("}\n")
	in.write(in.tfvars, b.String())
	var dbs, users []string
	for _, a := range apps {
		dbs, users = append(dbs, a.db), append(users, a.user)
	}
	pg.DropOnCleanup(t, dbs, users)
	servers.MustPutSecret(t, "goldenpath/"+env+"/rds/master", pg.MasterSecret())
	skip := strings.Join(skipSecret, ",")
	for _, a := range apps {
		if strings.Contains(","+skip+",", ","+a.key+",") {
			continue
		}
		pw := randomPassword(t)
		in.passwords[a.key] = pw
		servers.MustPutSecret(t, "goldenpath/"+env+"/"+a.key+"/postgres", map[string]any{"username": a.user, "password": pw})
	}
	return in
}

func (in *infra) write(rel, content string) {
	in.t.Helper()
	p := filepath.Join(in.workspace, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		in.t.Fatal(err)
	}
}

// provisionRunner is a provision step on this infra, with a local server.
func (in *infra) provisionRunner() *runner {
	r := newRunner(in.t, in.workspace).
		input("mode", "provision").
		input("environment", in.env).
		input("sslmode", "disable").
		input("require_approval", "true")
	r.env["ALLOW_DB_PROVISION"] = "true" // the job runs behind its GitHub Environment
	// Most tests have no fake GitHub to show a protected Environment;
	// approval_test.go checks the gate itself.
	r.input("allow_unprotected_environment", "true")
	return r
}

// mergedPR makes the fake GitHub hold a pull request that added the tfvars
// and was merged into development; it returns the PR number and merge SHA.
func mergedPR(t *testing.T, srv *ghtest.Server, in *infra) (int, string) {
	t.Helper()
	srv.SeedBranch("development", map[string]string{"README.md": "infra\n"})
	content, err := os.ReadFile(filepath.Join(in.workspace, in.tfvars))
	if err != nil {
		t.Fatal(err)
	}
	branch := "database/create-" + in.env + "-app"
	srv.SeedBranch(branch, map[string]string{"README.md": "infra\n", in.tfvars: string(content)})
	n := srv.OpenPullRequest(branch, "development", "Create RDS Database: app ("+in.env+")", "body")
	return n, srv.MergePR(n)
}

func TestProvisionPushCommentsOnceAndEditsOnRerun(t *testing.T) {
	t.Parallel()
	in := newInfra(t, "act-push", []app{
		{"act_push_keycloak", "act_push_keycloak", "act_push_keycloak_user"},
		{"act_push_backstage", "act_push_backstage", "act_push_backstage_user"},
	})
	srv := ghtest.New(t, "goldenpath", "infra")
	number, sha := mergedPR(t, srv, in)

	r := in.provisionRunner().
		input("github_token", srv.Token()).
		input("build_id", "16-01-26-01").
		input("run_id", "12345678").
		input("audit_artifact", "rds-provision-audit-act-push-1").
		event("push", map[string]any{"ref": "refs/heads/development", "before": strings.Repeat("0", 40), "after": sha})
	r.env["GITHUB_API_URL"] = srv.URL()
	r.env["GITHUB_SHA"] = sha

	first := r.run()
	if first.err != nil {
		t.Fatalf("first run: %v\n%s", first.err, first.log)
	}
	comments := srv.Comments(number)
	if len(comments) != 1 {
		t.Fatalf("after the first run: %d comments, want 1", len(comments))
	}
	wantOutputs := map[string]string{
		"audit_csv":       "rds-provision-audit-act-push.csv",
		"success_count":   "6", // role, database, grants for each of the two
		"no_change_count": "0",
		"warning_count":   "0",
		"error_count":     "0",
		"dry_run_count":   "0",
		// The html_url GitHub gives the comment the fake holds.
		"pr_comment_url": fmt.Sprintf("https://github.com/goldenpath/infra/pull/%d#issuecomment-%d", number, comments[0].ID),
	}
	if diff := cmp.Diff(wantOutputs, first.outputs); diff != "" {
		t.Errorf("first run outputs (-want +got):\n%s\nlog:\n%s", diff, first.log)
	}
	for _, want := range []string{
		"## RDS provisioning: act-push\n",
		"**6 rows:** ✅ **6 changed**\n",
		"tfvars envs/act-push-rds/terraform.tfvars (standalone) · build 16-01-26-01 · run [12345678](<https://github.com/goldenpath/infra/actions/runs/12345678>)" +
			" · audit CSV [rds-provision-audit-act-push-1](<https://github.com/goldenpath/infra/actions/runs/12345678#artifacts>)\n",
		"| ✅ | act\\_push\\_keycloak | act\\_push\\_keycloak\\_user | create\\_role | success |",
		"<details><summary>Audit CSV (",
	} {
		if !strings.Contains(first.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, first.summary)
		}
	}
	if !strings.HasPrefix(comments[0].Body, "<!-- rds-provision:act-push -->\n## RDS provisioning: act-push\n") {
		t.Errorf("comment does not start with its marker:\n%s", comments[0].Body)
	}

	// Every secret value is masked before anything else could print it, and
	// appears nowhere but in its add-mask line.
	secrets := []string{pg.MasterPassword, in.passwords["act_push_keycloak"], in.passwords["act_push_backstage"], srv.Token()}
	for _, s := range secrets {
		if !strings.Contains(first.log, "::add-mask::"+s+"\n") {
			t.Errorf("no ::add-mask:: for a secret value; log:\n%s", first.log)
		}
		var rest strings.Builder // the log without its add-mask lines
		for _, l := range strings.Split(first.log, "\n") {
			if !strings.HasPrefix(l, "::add-mask::") {
				rest.WriteString(l + "\n")
			}
		}
		csvFile, _ := os.ReadFile(filepath.Join(in.workspace, first.outputs["audit_csv"]))
		for where, text := range map[string]string{"log": rest.String(), "summary": first.summary, "comment": comments[0].Body, "audit file": string(csvFile)} {
			if strings.Contains(text, s) {
				t.Errorf("a secret value leaked into the %s", where)
			}
		}
	}

	second := r.run()
	if second.err != nil {
		t.Fatalf("second run: %v\n%s", second.err, second.log)
	}
	if second.outputs["no_change_count"] != "6" || second.outputs["success_count"] != "0" {
		t.Errorf("second run counts: %v", second.outputs)
	}
	after := srv.Comments(number)
	if len(after) != 1 {
		t.Fatalf("after the second run: %d comments, want 1 (edited)", len(after))
	}
	if after[0].ID != comments[0].ID || after[0].Body == comments[0].Body {
		t.Errorf("the comment was not edited in place: id %d -> %d", comments[0].ID, after[0].ID)
	}
	if !strings.Contains(after[0].Body, "**6 rows:** ➖ 6 in place\n") {
		t.Errorf("edited comment lacks the second run's counts:\n%s", after[0].Body)
	}
	if second.outputs["pr_comment_url"] != first.outputs["pr_comment_url"] {
		t.Errorf("pr_comment_url moved: %q -> %q", first.outputs["pr_comment_url"], second.outputs["pr_comment_url"])
	}
	if !strings.Contains(second.log, fmt.Sprintf("Updated the act-push audit on pull request #%d", number)) {
		t.Errorf("log does not say the comment was updated:\n%s", second.log)
	}

	// The audit file collects both runs under one header.
	csvFile, err := os.ReadFile(filepath.Join(in.workspace, "rds-provision-audit-act-push.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csvFile)), "\n")
	if len(lines) != 13 || !strings.HasPrefix(lines[0], "timestamp_utc,environment,build_id,run_id,") || strings.Count(string(csvFile), "timestamp_utc") != 1 {
		t.Errorf("audit file: %d lines, want header + 12 rows:\n%s", len(lines), csvFile)
	}
	if !strings.Contains(lines[1], ",act-push,16-01-26-01,12345678,act_push_keycloak,act_push_keycloak_user,") {
		t.Errorf("audit row lacks build and run id: %s", lines[1])
	}
}

// TestProvisionDryRunChangesNothing runs on a push that merged a pull
// request, the event on which a real run comments on that pull request: a
// dry run must neither call GitHub nor create anything in PostgreSQL.
func TestProvisionDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	in := newInfra(t, "act-dry", []app{{"act_dry_app", "act_dry_app", "act_dry_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	_, sha := mergedPR(t, srv, in)
	r := in.provisionRunner().
		input("dry_run", "true").
		input("github_token", srv.Token()).
		input("audit_output", "audit/dry.csv").
		event("push", map[string]any{"ref": "refs/heads/development", "before": strings.Repeat("0", 40), "after": sha})
	r.env["GITHUB_API_URL"] = srv.URL()
	r.env["GITHUB_SHA"] = sha
	if err := os.MkdirAll(filepath.Join(in.workspace, "audit"), 0o755); err != nil {
		t.Fatal(err)
	}

	res := r.run()
	if res.err != nil {
		t.Fatalf("dry run: %v\n%s", res.err, res.log)
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("a dry run called GitHub: %v", calls)
	}
	if pg.RoleExists(t, "act_dry_user") || pg.DatabaseExists(t, "act_dry_app") {
		t.Error("a dry run created the role or the database")
	}
	want := map[string]string{
		"audit_csv":       "audit/dry.csv",
		"success_count":   "0",
		"no_change_count": "0",
		"warning_count":   "0",
		"error_count":     "0",
		"dry_run_count":   "3", // role, database, grants
		"pr_comment_url":  "",
	}
	if diff := cmp.Diff(want, res.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(res.summary, "## RDS provisioning: act-dry\n\n> [!NOTE]\n> 🔍 **Dry run:**") {
		t.Errorf("summary does not open with the dry-run banner:\n%s", res.summary)
	}
	for _, want := range []string{
		"[DRY-RUN] Would create/update role: act_dry_user",
		"[DRY-RUN] Would create database: act_dry_app with owner act_dry_user",
		"[DRY-RUN] Would grant ALL on act_dry_app to act_dry_user",
	} {
		if !strings.Contains(res.log, want) {
			t.Errorf("log lacks %q:\n%s", want, res.log)
		}
	}
}

func TestProvisionFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T) *runner
		wantLog []string
		wantSum []string
		outputs map[string]string
	}{
		{
			name: "approval gate without ALLOW_DB_PROVISION",
			setup: func(t *testing.T) *runner {
				in := &infra{t: t, env: "act-gate", workspace: t.TempDir()} // no tfvars, no secrets: nothing may be read
				r := in.provisionRunner()
				delete(r.env, "ALLOW_DB_PROVISION")
				return r
			},
			wantLog: []string{"::error title=rds-provision act-gate::approval required: ALLOW_DB_PROVISION=true required for act-gate environment\n"},
			wantSum: []string{"**Failed:** approval required\\: ALLOW\\_DB\\_PROVISION=true required for act-gate environment", "_No audit rows"},
			outputs: map[string]string{"error_count": "0", "success_count": "0"},
		},
		{
			name: "malformed tfvars points at its line",
			setup: func(t *testing.T) *runner {
				in := newInfra(t, "act-bad", nil)
				in.write(in.tfvars, "aws_region = \"eu-west-2\"\n\napplication_databases = {\n  app = {\n    database_name = \"app\"\n    username = app_user\n  }\n}\n")
				return in.provisionRunner()
			},
			wantLog: []string{"::error col=16,file=envs/act-bad-rds/terraform.tfvars,line=6,title=rds-provision act-bad::"},
			wantSum: []string{"**Failed:**"},
		},
		{
			name: "missing app secret is an error on the entry's line",
			setup: func(t *testing.T) *runner {
				in := newInfra(t, "act-nosecret", []app{{"act_nosecret_app", "act_nosecret_app", "act_nosecret_user"}}, "act_nosecret_app")
				return in.provisionRunner()
			},
			wantLog: []string{"::error file=envs/act-nosecret-rds/terraform.tfvars,line=5,title=act-nosecret fetch_secret%3A act_nosecret_app::Secret not found: goldenpath/act-nosecret/act_nosecret_app/postgres"},
			wantSum: []string{"**1 row:** ❌ **1 error**\n", "Secret not found\\: goldenpath/act-nosecret/act\\_nosecret\\_app/postgres"},
			outputs: map[string]string{"error_count": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.setup(t).run()
			if res.err == nil {
				t.Fatalf("run succeeded; log:\n%s", res.log)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(res.log, w) {
					t.Errorf("log lacks %q:\n%s", w, res.log)
				}
			}
			for _, w := range tt.wantSum {
				if !strings.Contains(res.summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, res.summary)
				}
			}
			for k, v := range tt.outputs {
				if res.outputs[k] != v {
					t.Errorf("output %s = %q, want %q", k, res.outputs[k], v)
				}
			}
		})
	}
}

// A comment that cannot be posted is a warning; the provisioning succeeds.
func TestProvisionCommentFailureIsAWarning(t *testing.T) {
	t.Parallel()
	in := newInfra(t, "act-warn", []app{{"act_warn_app", "act_warn_app", "act_warn_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	_, sha := mergedPR(t, srv, in)
	r := in.provisionRunner().
		input("github_token", "ghs_wrongToken000000000000000000000000000").
		event("push", map[string]any{"ref": "refs/heads/development", "after": sha})
	r.env["GITHUB_API_URL"] = srv.URL()
	r.env["GITHUB_SHA"] = sha

	res := r.run()
	if res.err != nil {
		t.Fatalf("run failed because of the comment: %v\n%s", res.err, res.log)
	}
	if !strings.Contains(res.log, "::warning title=rds-provision%3A pull request comment::") {
		t.Errorf("no warning annotation:\n%s", res.log)
	}
	if res.outputs["success_count"] != "3" || res.outputs["pr_comment_url"] != "" {
		t.Errorf("outputs: %v", res.outputs)
	}
}

func TestInputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"no mode", map[string]string{}, "::error title=rds-provision%3A input mode::input mode is required: \"request\" or \"provision\"\n"},
		{"unknown mode", map[string]string{"mode": "destroy"}, "::error title=rds-provision%3A input mode::input mode is \"destroy\": want \"request\" or \"provision\"\n"},
		{"bad boolean", map[string]string{"mode": "provision", "environment": "dev", "dry_run": "yes"}, "::error title=rds-provision%3A input dry_run::input dry_run is \"yes\": want true or false\n"},
		{"bad environment", map[string]string{"mode": "provision", "environment": "Dev/../x"}, "::error title=rds-provision%3A input environment::input environment is \"Dev/../x\""},
		{"bad parallel", map[string]string{"mode": "provision", "environment": "dev", "parallel": "0"}, "::error title=rds-provision%3A input parallel::input parallel is \"0\": want a number from 1 (serial) to 64\n"},
		{"bad artifact name", map[string]string{"mode": "provision", "environment": "dev", "audit_artifact": "audit/dev"}, "::error title=rds-provision%3A input audit_artifact::input audit_artifact is \"audit/dev\": an artifact name has none of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, t.TempDir())
			for k, v := range tt.inputs {
				r.input(k, v)
			}
			res := r.run()
			if res.err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(res.log, tt.want) {
				t.Errorf("log lacks %q:\n%s", tt.want, res.log)
			}
		})
	}
}
