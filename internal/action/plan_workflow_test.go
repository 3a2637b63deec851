package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// TestPlanWorkflowNeverApplies keeps the plan workflow a preview: the
// action runs as a dry run, nothing runs terraform apply or sets the
// approval flag, the jobs stay out of the GitHub Environments, and the
// token may only read the code, comment and ask for an OIDC token.
func TestPlanWorkflowNeverApplies(t *testing.T) {
	type step struct {
		Uses string            `yaml:"uses"`
		Run  string            `yaml:"run"`
		With map[string]string `yaml:"with"`
		Env  map[string]string `yaml:"env"`
	}
	type job struct {
		Environment any               `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
		Steps       []step            `yaml:"steps"`
	}
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]job    `yaml:"jobs"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "rds-database-plan.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"contents": "read"}, wf.Permissions); diff != "" {
		t.Errorf("workflow permissions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"contents": "read", "id-token": "write", "pull-requests": "write"}, wf.Jobs["plan"].Permissions); diff != "" {
		t.Errorf("plan job permissions (-want +got):\n%s", diff)
	}
	actionSteps := 0
	for name, j := range wf.Jobs {
		if j.Environment != nil {
			t.Errorf("job %s runs in a GitHub Environment; a plan must not take the apply role's place", name)
		}
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "terraform apply") || strings.Contains(s.Run, "ALLOW_DB_PROVISION") || s.Env["ALLOW_DB_PROVISION"] != "" || j.Env["ALLOW_DB_PROVISION"] != "" {
				t.Errorf("job %s applies or approves: %+v", name, s)
			}
			if !strings.HasPrefix(s.Uses, "docker://ghcr.io/goldenpath/rds-provision:") {
				continue
			}
			switch args := s.With["args"]; {
			case strings.HasPrefix(args, "changes "): // compares two trees, touches nothing
				continue
			case args != "action":
				t.Errorf("job %s runs the image with args %q, want action or changes", name, args)
				continue
			}
			actionSteps++
			if s.With["mode"] != "provision" || s.With["dry_run"] != "true" || s.With["comment_on_pr"] != "true" {
				t.Errorf("job %s runs the action as %v, want provision mode, dry_run true, comment_on_pr true", name, s.With)
			}
		}
	}
	if actionSteps != 1 {
		t.Errorf("%d rds-provision steps, want 1", actionSteps)
	}
}
