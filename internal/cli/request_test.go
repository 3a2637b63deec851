package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath/rds-provision/internal/ghtest"
)

func runCLI(t *testing.T, getenv map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Env{
		Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return getenv[k] },
		Now:    func() time.Time { return time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC) },
	})
	return code, out.String(), errb.String()
}

func requestArgs(root string, extra ...string) []string {
	return append([]string{"request", "--repo-root", root, "--database-name", "test_inventory", "--username", "test_inventory_user",
		"--owner", "app-team", "--user", "daniel-deans", "--domain", "catalog", "--environment", "dev", "--risk", "medium", "--size", "small"}, extra...)
}

func infraDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "envs", "dev-rds", "terraform.tfvars")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "master_username = \"platform_admin\"\napplication_databases = {\n  keycloak = {\n    database_name = \"keycloak\"\n    username      = \"keycloak_user\"\n  }\n}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRequestCLI(t *testing.T) {
	t.Parallel()
	t.Run("help", func(t *testing.T) {
		code, out, _ := runCLI(t, nil, "request", "--help")
		for _, flag := range []string{"--request-type", "--access-level", "--database-name", "--username", "--owner", "--user", "--domain", "--environment", "--risk", "--size", "--initial-schema", "--base-branch", "--repo-root", "--rds-mode", "--dry-run", "--local", "--secret-prefix"} {
			if !strings.Contains(out, flag+" ") {
				t.Errorf("help lacks %s", flag)
			}
		}
		if code != ExitOK {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		if code, _, _ := runCLI(t, nil, "request", "--nope"); code != ExitUsage {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("no token in PR mode", func(t *testing.T) {
		code, _, errOut := runCLI(t, nil, requestArgs(infraDir(t))...)
		if code != ExitUsage || !strings.Contains(errOut, "GITHUB_TOKEN") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("every invalid field on stderr", func(t *testing.T) {
		dir := infraDir(t)
		code, _, errOut := runCLI(t, nil, requestArgs(dir, "--local", "--username", "platform_admin", "--owner", "x\ny", "--size", "xlarge")...)
		for _, want := range []string{`[ERROR] username: "platform_admin" is the RDS instance's master user`, `[ERROR] owner: "x\ny" must be one of`, `[ERROR] size: "xlarge" is not allowed in dev`} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
		if code != ExitError {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("local then again", func(t *testing.T) {
		dir := infraDir(t)
		code, _, errOut := runCLI(t, nil, requestArgs(dir, "--local")...)
		if code != ExitOK || !strings.Contains(errOut, "Added database test_inventory") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "docs/20-contracts/resource-catalogs/rds-catalog.yaml")); err != nil {
			t.Error(err)
		}
		code, _, errOut = runCLI(t, nil, requestArgs(dir, "--local")...)
		if code != ExitOK || !strings.Contains(errOut, "nothing to do") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("dry run through GitHub only reads", func(t *testing.T) {
		srv := ghtest.New(t, "goldenpath", "infra")
		tfvars, err := os.ReadFile(filepath.Join(infraDir(t), "envs", "dev-rds", "terraform.tfvars"))
		if err != nil {
			t.Fatal(err)
		}
		srv.SeedBranch("development", map[string]string{"envs/dev-rds/terraform.tfvars": string(tfvars)})
		getenv := map[string]string{"GITHUB_TOKEN": srv.Token(), "GITHUB_REPOSITORY": srv.Repository(), "GITHUB_API_URL": srv.URL()}
		// --repo-root names an empty directory: the files come from GitHub.
		code, out, errOut := runCLI(t, getenv, requestArgs(t.TempDir(), "--dry-run")...)
		if code != ExitOK || !strings.Contains(out, "+  test_inventory = {") {
			t.Fatalf("exit %d:\n%s%s", code, out, errOut)
		}
		calls := srv.Calls()
		var writes []string
		for _, c := range calls {
			if !strings.HasPrefix(c, "GET ") {
				writes = append(writes, c)
			}
		}
		if len(calls) == 0 || len(writes) > 0 {
			t.Errorf("calls %v: want reads only, got writes %v", calls, writes)
		}
	})
	t.Run("grant, change-access and retire locally", func(t *testing.T) {
		dir := infraDir(t)
		if code, _, errOut := runCLI(t, nil, requestArgs(dir, "--local", "--database-name", "keycloak", "--username", "keycloak_user")...); code != ExitOK {
			t.Fatalf("create keycloak's catalog entry: exit %d: %s", code, errOut)
		}
		day2 := func(extra ...string) []string {
			return append([]string{"request", "--local", "--repo-root", dir, "--database-name", "keycloak", "--user", "daniel-deans", "--environment", "dev"}, extra...)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{day2("--request-type", "grant", "--username", "keycloak_bi", "--access-level", "reader", "--owner", "app-team", "--risk", "high"),
				"[INFO] Not used by request_type grant, so ignored: risk \"high\"\n[INFO] Granted reader on keycloak to keycloak_bi in dev: envs/dev-rds/terraform.tfvars, docs/20-contracts/resource-catalogs/rds-catalog.yaml\n"},
			{day2("--request-type", "change-access", "--username", "keycloak_bi", "--access-level", "editor"),
				"[INFO] Changed keycloak_bi on keycloak from reader to editor in dev: envs/dev-rds/terraform.tfvars, docs/20-contracts/resource-catalogs/rds-catalog.yaml\n"},
			{day2("--request-type", "retire", "--username", "keycloak_user"),
				"[INFO] Retired database keycloak (every entry) in dev: envs/dev-rds/terraform.tfvars, docs/20-contracts/resource-catalogs/rds-catalog.yaml\n"},
		} {
			code, _, errOut := runCLI(t, nil, tc.args...)
			if code != ExitOK || errOut != tc.want {
				t.Errorf("%v: exit %d\n%s\nwant\n%s", tc.args[3:], code, errOut, tc.want)
			}
		}
		src, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
		if !strings.Contains(string(src), "    access_level  = \"editor\"\n    retired       = true\n") {
			t.Errorf("tfvars:\n%s", src)
		}
		code, _, errOut := runCLI(t, nil, day2("--request-type", "change-access", "--username", "keycloak_bi", "--access-level", "reader")...)
		if code != ExitError || !strings.Contains(errOut, `[ERROR] username: "keycloak_bi" is retired in envs/dev-rds/terraform.tfvars`) {
			t.Errorf("a retired role's level changed: exit %d: %s", code, errOut)
		}
	})
	t.Run("in GitHub Actions the user is who dispatched", func(t *testing.T) {
		env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "jane-doe"}
		code, _, errOut := runCLI(t, env, requestArgs(infraDir(t), "--dry-run")...)
		if code != ExitError || !strings.Contains(errOut, `[ERROR] user: "daniel-deans" is not who dispatched the workflow (GITHUB_ACTOR "jane-doe")`) {
			t.Errorf("exit %d: %s", code, errOut)
		}
		// Outside Actions, GITHUB_ACTOR says nothing.
		delete(env, "GITHUB_ACTIONS")
		if code, _, errOut := runCLI(t, env, requestArgs(infraDir(t), "--dry-run")...); code != ExitOK {
			t.Errorf("outside Actions: exit %d: %s", code, errOut)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		dir := infraDir(t)
		code, out, _ := runCLI(t, nil, requestArgs(dir, "--dry-run")...)
		if code != ExitOK || !strings.Contains(out, "+  test_inventory = {") || !strings.Contains(out, "Create RDS Database: test_inventory (dev)") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}
