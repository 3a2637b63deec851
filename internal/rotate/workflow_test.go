package rotate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		Uses        string            `yaml:"uses"`
		Concurrency map[string]any    `yaml:"concurrency"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return wf
}

// The rotation jobs share the apply workflow's concurrency group, so a
// rotation and a provisioning run of one environment never overlap; they
// run rotate --due with the image and need no write permission on the
// repository.
func TestRotationWorkflowSharesTheApplyGroupAndRunsDue(t *testing.T) {
	apply := readWorkflow(t, ".github/workflows/rds-database-apply.yml")
	rot := readWorkflow(t, ".github/workflows/rds-secret-rotation.yml")
	if _, ok := rot.On["workflow_call"]; !ok {
		t.Error("the rotation workflow is not reusable (workflow_call)")
	}
	job := rot.Jobs["rotate"]
	if diff := cmp.Diff(apply.Jobs["provision"].Concurrency["group"], job.Concurrency["group"]); diff != "" {
		t.Errorf("concurrency group differs from the apply workflow's (-apply +rotation):\n%s", diff)
	}
	if job.Concurrency["cancel-in-progress"] != false {
		t.Error("a rotation in progress may be cancelled")
	}
	if diff := cmp.Diff(map[string]string{"contents": "read", "id-token": "write"}, job.Permissions); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	var args string
	for _, s := range job.Steps {
		if strings.HasPrefix(s.Uses, "docker://ghcr.io/goldenpath/rds-provision:") {
			args = s.With["args"]
		}
	}
	if !strings.HasPrefix(args, "rotate --env ${{ matrix.env }} --due") || !strings.Contains(args, "--audit-output") {
		t.Errorf("image step args = %q, want rotate --env <env> --due with an audit file", args)
	}

	caller := readWorkflow(t, "examples/rotation-workflow.yml")
	if _, ok := caller.On["schedule"]; !ok {
		t.Error("the caller example has no schedule")
	}
	if !strings.HasPrefix(caller.Jobs["rotate"].Uses, "goldenpath/rds-provision/.github/workflows/rds-secret-rotation.yml@") {
		t.Errorf("the caller example uses %q", caller.Jobs["rotate"].Uses)
	}
}
