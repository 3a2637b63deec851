package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath/rds-provision/internal/action"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

func TestRunActionReadsInputMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr error
		wantLog string
	}{
		{"no mode", nil, map[string]string{"GITHUB_ACTIONS": "true"}, action.ErrInput, "::error title=rds-provision%3A input mode::input mode is required"},
		{"stray argument", []string{"provision"}, map[string]string{}, ErrUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runAction(context.Background(), tt.args, Env{
				Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string { return tt.env[k] },
				Now:    time.Now,
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantLog) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantLog, stdout.String())
			}
		})
	}
}

func TestNoArgumentsUnderActionsRunsTheAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		code int
		want string
	}{
		{"actions runner", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MODE": "bogus"}, ExitError, "::error title=rds-provision%3A input mode::"},
		{"terminal", map[string]string{}, ExitUsage, "Usage: rds-provision <command>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cliRun(t, tc.env)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

// TestActionProvisionDryRunOnPushChangesNothing runs the binary's action
// mode on a push that merged a pull request, where a real run comments on
// it: a dry run calls GitHub not once and creates nothing in PostgreSQL.
func TestActionProvisionDryRunOnPushChangesNothing(t *testing.T) {
	t.Parallel()
	const env, db, user = "cli-dry", "cli_dry_app", "cli_dry_user"
	pg.DropOnCleanup(t, []string{db}, []string{user})
	workspace, files := t.TempDir(), t.TempDir()
	tfvarsPath := "envs/" + env + "-rds/terraform.tfvars"
	tfvarsSrc := fmt.Sprintf("master_username = \"platform_admin\"\napplication_databases = {\n  %s = {\n    database_name = %q\n    username      = %q\n  }\n}\n", db, db, user)
	writeFile(t, filepath.Join(workspace, tfvarsPath), tfvarsSrc)
	servers.MustPutSecret(t, "goldenpath/"+env+"/rds/master", pg.MasterSecret())
	servers.MustPutSecret(t, "goldenpath/"+env+"/"+db+"/postgres", map[string]any{"username": user, "password": "cli-dry-pw"})

	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", map[string]string{"README.md": "infra\n"})
	srv.SeedBranch("database/create-"+env, map[string]string{"README.md": "infra\n", tfvarsPath: tfvarsSrc})
	sha := srv.MergePR(srv.OpenPullRequest("database/create-"+env, "development", "Create RDS Database: "+db+" ("+env+")", "body"))
	writeFile(t, filepath.Join(files, "event.json"), `{"ref": "refs/heads/development", "after": "`+sha+`"}`)

	code, stdout, stderr := cliRun(t, map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    workspace,
		"GITHUB_OUTPUT":       filepath.Join(files, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(files, "summary"),
		"GITHUB_EVENT_PATH":   filepath.Join(files, "event.json"),
		"GITHUB_EVENT_NAME":   "push",
		"GITHUB_SHA":          sha,
		"GITHUB_REPOSITORY":   srv.Repository(),
		"GITHUB_API_URL":      srv.URL(),
		"INPUT_MODE":          "provision",
		"INPUT_ENVIRONMENT":   env,
		"INPUT_DRY_RUN":       "true",
		"INPUT_SSLMODE":       "disable",
		"INPUT_GITHUB_TOKEN":  srv.Token(),
		"ALLOW_DB_PROVISION":  "true", // the job runs behind its GitHub Environment
	})
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "[DRY-RUN] Would create database: "+db+" with owner "+user) {
		t.Errorf("log lacks the dry-run line:\n%s", stdout)
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("a dry run called GitHub: %v", calls)
	}
	if pg.RoleExists(t, user) || pg.DatabaseExists(t, db) {
		t.Error("a dry run created the role or the database")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
