package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type workflowStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

type workflowFile struct {
	On struct {
		Call struct {
			Inputs  map[string]any `yaml:"inputs"`
			Secrets map[string]any `yaml:"secrets"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Jobs map[string]struct {
		Env         map[string]string `yaml:"env"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []workflowStep    `yaml:"steps"`
	} `yaml:"jobs"`
}

// Both reusable workflows mint a GitHub App token inside the job when an
// App is configured, and hand it to the action before the workflow token;
// the one that comments names the App too, whose bot alone writes its
// comments.
func TestWorkflowsUseGitHubAppToken(t *testing.T) {
	for _, tt := range []struct {
		file, job string
		comments  bool
	}{
		{"create-rds-database.yml", "request", false},
		{"rds-database-apply.yml", "provision", true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var wf workflowFile
			if err := yaml.Unmarshal(raw, &wf); err != nil {
				t.Fatal(err)
			}
			if wf.On.Call.Inputs["app_id"] == nil || wf.On.Call.Secrets["app_private_key"] == nil {
				t.Errorf("workflow_call lacks the app_id input or the app_private_key secret")
			}
			job := wf.Jobs[tt.job]
			if job.Env["APP_ID"] != "${{ inputs.app_id || vars.RDS_PROVISION_APP_ID }}" {
				t.Errorf("job env APP_ID = %q", job.Env["APP_ID"])
			}
			var mint, action *workflowStep
			for i, s := range job.Steps {
				switch {
				case strings.HasPrefix(s.Uses, "actions/create-github-app-token@"):
					mint = &job.Steps[i]
				case s.With["mode"] != "":
					action = &job.Steps[i]
				}
			}
			if mint == nil || action == nil {
				t.Fatalf("steps: token %v, action %v", mint, action)
			}
			if mint.ID != "app-token" || mint.If != "env.APP_ID != ''" || mint.With["private-key"] != "${{ secrets.app_private_key }}" ||
				len(strings.TrimPrefix(strings.Fields(mint.Uses)[0], "actions/create-github-app-token@")) != 40 {
				t.Errorf("token step: %+v (want id app-token, if env.APP_ID != '', pinned by SHA)", *mint)
			}
			if !strings.HasPrefix(action.With["github_token"], "${{ steps.app-token.outputs.token || ") {
				t.Errorf("action github_token = %q, want the App token first", action.With["github_token"])
			}
			if slug := action.With["github_app_slug"]; tt.comments && slug != "${{ steps.app-token.outputs.app-slug }}" {
				t.Errorf("action github_app_slug = %q, want the App token step's app-slug output", slug)
			}
		})
	}
}

// The apply workflow finds environments by content and names the job's
// GitHub Environment for the protection check.
func TestApplyWorkflowDetectsByContentAndChecksEnvironment(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "rds-database-apply.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflowFile
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	// The detect job runs changes in the released image on two checkouts,
	// without Go: the old revision in a worktree inside the workspace.
	var detect, worktree string
	var image *workflowStep
	for i, s := range wf.Jobs["detect"].Steps {
		switch {
		case s.ID == "detect":
			detect = s.Run
		case strings.HasPrefix(s.Uses, "docker://ghcr.io/goldenpath/rds-provision:"):
			image = &wf.Jobs["detect"].Steps[i]
		case strings.Contains(s.Run, "git worktree add"):
			worktree = s.Run
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			t.Errorf("detect job sets up Go; it runs the image")
		}
	}
	if image == nil || image.With["args"] != "changes --before-dir .rds-provision-before --after-dir . --output .rds-provision-changes.json" {
		t.Errorf("detect job does not run rds-provision changes in the image: %+v", image)
	}
	if !strings.Contains(worktree, `git worktree add --detach .rds-provision-before "${base}"`) || !strings.Contains(worktree, "mkdir .rds-provision-before") {
		t.Errorf("detect job does not check out the old revision into .rds-provision-before:\n%s", worktree)
	}
	if !strings.Contains(detect, "cat .rds-provision-changes.json") {
		t.Errorf("detect step does not read the list changes wrote:\n%s", detect)
	}
	prov := wf.Jobs["provision"]
	if prov.Permissions["actions"] != "read" || prov.Permissions["contents"] != "write" {
		t.Errorf("provision permissions %v: want actions: read (Environment check) and contents: write (catalog status)", prov.Permissions)
	}
	var runs []string
	for _, s := range prov.Steps {
		if s.With["mode"] == "provision" && s.With["github_environment"] != "${{ matrix.env }}" {
			t.Errorf("github_environment = %q, want the job's environment", s.With["github_environment"])
		}
		runs = append(runs, s.Run)
	}
	all := strings.Join(runs, "\n")
	for _, want := range []string{"-out=tfplan", "terraform show -no-color tfplan", "terraform apply -input=false -lock-timeout=20m tfplan"} {
		if !strings.Contains(all, want) {
			t.Errorf("provision job lacks %q", want)
		}
	}
	if strings.Contains(all, "-auto-approve") {
		t.Error("terraform apply without a saved plan")
	}
}

// The apply workflow uploads the audit CSV under the name the action's
// reports link, with actions/upload-artifact pinned by SHA, also after a
// failed provisioning.
func TestApplyWorkflowUploadsTheArtifactTheReportsLink(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "rds-database-apply.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflowFile
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	var action, upload *workflowStep
	for i, s := range wf.Jobs["provision"].Steps {
		switch {
		case s.With["mode"] == "provision":
			action = &wf.Jobs["provision"].Steps[i]
		case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
			upload = &wf.Jobs["provision"].Steps[i]
		}
	}
	if action == nil || upload == nil {
		t.Fatalf("steps: action %v, upload %v", action, upload)
	}
	if action.With["audit_artifact"] == "" || upload.With["name"] != action.With["audit_artifact"] {
		t.Errorf("upload name %q, action audit_artifact %q: want the same", upload.With["name"], action.With["audit_artifact"])
	}
	if upload.With["path"] != "${{ steps."+action.ID+".outputs.audit_csv }}" || !strings.HasPrefix(upload.If, "always()") {
		t.Errorf("upload step %+v: want the action's audit_csv, always", *upload)
	}
	if pin := strings.TrimPrefix(strings.Fields(upload.Uses)[0], "actions/upload-artifact@"); len(pin) != 40 {
		t.Errorf("upload-artifact not pinned by SHA: %s", upload.Uses)
	}
}
