package action

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/request"
)

// runbookFields are the -f fields of the runbook's
// `gh workflow run create-rds-database.yml` example, in its order.
var runbookFields = []string{"base_branch", "database_name", "username", "owner", "user", "domain", "environment", "risk", "size", "initial_schema"}

// TestDispatchFormIsTheRunbooksForm keeps the workflow_dispatch form one to
// one with the runbook, and its choices with SPEC's enums.
func TestDispatchFormIsTheRunbooksForm(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "create-rds-database.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Dispatch struct {
				Inputs yaml.Node `yaml:"inputs"`
			} `yaml:"workflow_dispatch"`
		} `yaml:"on"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	var names []string
	options := map[string][]string{}
	inputs := wf.On.Dispatch.Inputs.Content
	for i := 0; i+1 < len(inputs); i += 2 {
		names = append(names, inputs[i].Value)
		var in struct {
			Options []string `yaml:"options"`
		}
		if err := inputs[i+1].Decode(&in); err != nil {
			t.Fatal(err)
		}
		options[inputs[i].Value] = in.Options
	}
	if diff := cmp.Diff(runbookFields, names); diff != "" {
		t.Errorf("dispatch inputs (-runbook +workflow):\n%s", diff)
	}
	// The choices are request mode's default enums (SPEC's lists), which
	// validate the form: a choice they lack would always be refused.
	enums := request.DefaultEnums()
	want := map[string][]string{
		request.FieldEnvironment:   enums.Environments,
		request.FieldRisk:          enums.Risks,
		request.FieldSize:          enums.Sizes,
		request.FieldInitialSchema: enums.InitialSchemas,
	}
	for field, opts := range want {
		if diff := cmp.Diff(opts, options[field]); diff != "" {
			t.Errorf("%s choices (-request.DefaultEnums +workflow):\n%s", field, diff)
		}
	}
}
