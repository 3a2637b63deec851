package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/secrets/secretstest"
)

// gatedRunner is a push provision run whose GitHub Environment the fake
// GitHub describes: no opt-out.
func gatedRunner(in *infra, srv *ghtest.Server) *runner {
	r := in.provisionRunner().
		input("github_token", srv.Token()).
		event("push", map[string]any{"ref": "refs/heads/development"})
	delete(r.env, "INPUT_ALLOW_UNPROTECTED_ENVIRONMENT")
	r.env["GITHUB_API_URL"] = srv.URL()
	return r
}

func TestProvisionRefusesUnprotectedEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		env     *ghtest.Environment // nil: never created
		input   string              // github_environment input
		checked string              // the Environment name looked up
		problem string
	}{
		{name: "environment never created", checked: "act-gate1", problem: `GitHub Environment "act-gate1" does not exist`},
		{name: "no protection rule", env: &ghtest.Environment{}, checked: "act-gate2", problem: `GitHub Environment "act-gate2" has no protection rule (required reviewers or wait timer)`},
		{name: "branch policy alone protects nothing", env: &ghtest.Environment{BranchPolicy: true}, checked: "act-gate3", problem: `GitHub Environment "act-gate3" has no protection rule`},
		{name: "the job's environment comes from the input", env: &ghtest.Environment{}, input: "Production EU", checked: "Production EU", problem: `GitHub Environment "Production EU" has no protection rule`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fmt.Sprintf("act-gate%d", i+1)
			in := newInfra(t, env, []app{{"act_gate_app", "act_gate_app", "act_gate_user"}})
			srv := ghtest.New(t, "goldenpath", "infra")
			if tt.env != nil {
				srv.SetEnvironment(tt.checked, *tt.env)
			}
			r := gatedRunner(in, srv)
			if tt.input != "" {
				r.input("github_environment", tt.input)
			}
			res := r.run(func(o *Options) { o.Secrets = secretstest.Forbidden{T: t, Why: "before the approval gate held"} })
			if !errors.Is(res.err, ErrUnprotectedEnvironment) {
				t.Fatalf("err = %v, want ErrUnprotectedEnvironment\n%s", res.err, res.log)
			}
			for _, want := range []string{
				"::error title=rds-provision " + env + "::unprotected GitHub Environment: " + tt.problem,
				"Add required reviewers or a wait timer at " + srv.URL() + "/goldenpath/infra/settings/environments",
				"allow_unprotected_environment: true",
			} {
				if !strings.Contains(res.log, want) {
					t.Errorf("log lacks %q:\n%s", want, res.log)
				}
			}
			if !strings.Contains(res.summary, "**Failed:** unprotected GitHub Environment") || !strings.Contains(res.summary, "_No audit rows") {
				t.Errorf("summary:\n%s", res.summary)
			}
			wantCalls := []string{"GET /repos/goldenpath/infra/environments/" + tt.checked}
			if tt.env == nil {
				// A 404 is checked against the list: a token without
				// actions: read gets 404 too.
				wantCalls = append(wantCalls, "GET /repos/goldenpath/infra/environments")
			}
			if diff := cmp.Diff(wantCalls, srv.Calls()); diff != "" {
				t.Errorf("GitHub calls (-want +got):\n%s", diff)
			}
		})
	}
}

// Opting out provisions, and says so loudly.
func TestProvisionUnprotectedOptOutIsFlagged(t *testing.T) {
	in := newInfra(t, "act-optout", []app{{"act_optout_app", "act_optout_app", "act_optout_user"}})
	srv := ghtest.New(t, "goldenpath", "infra")
	r := gatedRunner(in, srv).input("allow_unprotected_environment", "true").input("comment_on_pr", "false").input("update_catalog_status", "false")
	res := r.run()
	if res.err != nil {
		t.Fatalf("run: %v\n%s", res.err, res.log)
	}
	if !strings.HasPrefix(res.summary, "> [!CAUTION]\n> ⚠️ **Provisioned without approval:** GitHub Environment \"act-optout\" does not exist") {
		t.Errorf("summary does not open with the warning:\n%s", res.summary)
	}
	if !strings.Contains(res.log, "::warning title=rds-provision act-optout%3A no approval::") || res.outputs["success_count"] != "3" {
		t.Errorf("outputs %v, log:\n%s", res.outputs, res.log)
	}
}

// A dry run changes nothing and is not gated; nor is dev.
func TestProvisionGateSkipsDryRunAndDev(t *testing.T) {
	for _, tt := range []struct{ name, env, dryRun string }{
		{"dry run", "act-gatedry", "true"},
		{"dev", "dev", "true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &infra{t: t, env: tt.env, workspace: t.TempDir()}
			srv := ghtest.New(t, "goldenpath", "infra") // Verify: no call expected
			r := gatedRunner(in, srv).input("dry_run", tt.dryRun)
			res := r.run()
			if errors.Is(res.err, ErrUnprotectedEnvironment) || len(srv.Calls()) != 0 {
				t.Errorf("gated: err %v, calls %v", res.err, srv.Calls())
			}
		})
	}
}

// stopSecrets ends a run right after the approval gate: every read fails.
type stopSecrets struct{}

func (stopSecrets) Get(context.Context, string) (string, error) {
	return "", errors.New("stop after the gate")
}

func (stopSecrets) GetMany(context.Context, []string) (map[string]secrets.Result, error) {
	return nil, errors.New("stop after the gate")
}

// Required reviewers who may approve their own push pass the gate with a
// warning; with "Prevent self-review" they pass silently.
func TestProvisionWarnsOnSelfApproval(t *testing.T) {
	const warning = "::warning title=rds-provision act-self%3A self-approval::GitHub Environment \"act-self\" lets a required reviewer approve a run they triggered themselves"
	for _, tt := range []struct {
		name        string
		env         ghtest.Environment
		wantWarning bool
	}{
		{"self-review allowed", ghtest.Environment{Reviewers: []string{"sre-lead"}}, true},
		{"self-review prevented", ghtest.Environment{Reviewers: []string{"sre-lead"}, PreventSelfReview: true}, false},
		{"wait timer only", ghtest.Environment{WaitTimer: 5}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := newInfra(t, "act-self", []app{{"act_self_app", "act_self_app", "act_self_user"}})
			srv := ghtest.New(t, "goldenpath", "infra")
			srv.SetEnvironment("act-self", tt.env)
			res := gatedRunner(in, srv).input("comment_on_pr", "false").input("update_catalog_status", "false").
				run(func(o *Options) { o.Secrets = stopSecrets{} })
			if errors.Is(res.err, ErrUnprotectedEnvironment) {
				t.Fatalf("refused at the gate: %v\n%s", res.err, res.log)
			}
			if got := strings.Contains(res.log, warning); got != tt.wantWarning {
				t.Errorf("self-approval warning %v, want %v:\n%s", got, tt.wantWarning, res.log)
			}
		})
	}
}

// A token without actions: read gets 404 from GitHub as for a missing
// Environment: the gate says the token cannot read it, not that the
// Environment does not exist.
func TestProvisionGateWithoutActionsRead(t *testing.T) {
	for _, status := range []int{403, 404} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			in := newInfra(t, "act-noread", []app{{"act_noread_app", "act_noread_app", "act_noread_user"}})
			srv := ghtest.New(t, "goldenpath", "infra")
			srv.SetEnvironment("act-noread", ghtest.Environment{Reviewers: []string{"sre-lead"}})
			srv.DenyEnvironments(status)
			res := gatedRunner(in, srv).run(func(o *Options) { o.Secrets = secretstest.Forbidden{T: t, Why: "before the approval gate held"} })
			if !errors.Is(res.err, ErrUnprotectedEnvironment) {
				t.Fatalf("err = %v, want ErrUnprotectedEnvironment\n%s", res.err, res.log)
			}
			if !strings.Contains(res.log, "actions: read") || strings.Contains(res.log, "does not exist") {
				t.Errorf("log:\n%s", res.log)
			}
		})
	}
}
