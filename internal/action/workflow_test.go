package action

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/request"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// dispatchFields are the workflow_dispatch inputs of create-rds-database.yml
// in their order: the runbook's -f fields, with request_type after the base
// branch and access_level after the username.
var dispatchFields = []string{"base_branch", "request_type", "database_name", "username", "access_level", "owner", "user", "domain", "environment", "risk", "size", "initial_schema"}

type dispatchInput struct {
	Type     string   `yaml:"type"`
	Required bool     `yaml:"required"`
	Default  *string  `yaml:"default"`
	Options  []string `yaml:"options"`
}

// readDispatch reads a workflow's workflow_dispatch inputs, in order, and
// its workflow_call inputs and jobs' steps.
func readDispatch(t *testing.T, path string) (names []string, inputs map[string]dispatchInput, call map[string]dispatchInput, steps []workflowStep) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Dispatch struct {
				Inputs yaml.Node `yaml:"inputs"`
			} `yaml:"workflow_dispatch"`
			Call struct {
				Inputs map[string]dispatchInput `yaml:"inputs"`
			} `yaml:"workflow_call"`
		} `yaml:"on"`
		Jobs map[string]struct {
			Steps []workflowStep    `yaml:"steps"`
			With  map[string]string `yaml:"with"`
			Uses  string            `yaml:"uses"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	inputs = map[string]dispatchInput{}
	content := wf.On.Dispatch.Inputs.Content
	for i := 0; i+1 < len(content); i += 2 {
		var in dispatchInput
		if err := content[i+1].Decode(&in); err != nil {
			t.Fatal(err)
		}
		names = append(names, content[i].Value)
		inputs[content[i].Value] = in
	}
	for _, j := range wf.Jobs {
		steps = append(steps, j.Steps...)
		if j.Uses != "" {
			steps = append(steps, workflowStep{Uses: j.Uses, With: j.With})
		}
	}
	return names, inputs, wf.On.Call.Inputs, steps
}

// TestDispatchFormIsTheRequestForm keeps the workflow_dispatch form one to
// one with the request form (every field, in the runbook's order), its
// choices with the request's vocabulary, every field passed on to the
// action, and the action's inputs declaring each.
func TestDispatchFormIsTheRequestForm(t *testing.T) {
	t.Parallel()
	names, inputs, call, steps := readDispatch(t, filepath.Join("..", "..", ".github", "workflows", "create-rds-database.yml"))
	if diff := cmp.Diff(dispatchFields, names); diff != "" {
		t.Errorf("dispatch inputs (-want +workflow):\n%s", diff)
	}
	var formFields []string
	for _, kv := range (request.Form{}).Fields() {
		formFields = append(formFields, kv[0])
	}
	if diff := cmp.Diff(sortedCopy(formFields), sortedCopy(names)); diff != "" {
		t.Errorf("dispatch inputs are not the form's fields (-form +workflow):\n%s", diff)
	}
	// The choices are request mode's default enums (SPEC's lists), which
	// validate the form: a choice they lack would always be refused.
	enums := request.DefaultEnums()
	want := map[string][]string{
		request.FieldRequestType:   request.RequestTypes(),
		request.FieldAccessLevel:   {tfvars.AccessOwner, tfvars.AccessEditor, tfvars.AccessReader},
		request.FieldOwner:         enums.Owners,
		request.FieldDomain:        enums.Domains,
		request.FieldEnvironment:   enums.Environments,
		request.FieldRisk:          enums.Risks,
		request.FieldSize:          enums.Sizes,
		request.FieldInitialSchema: enums.InitialSchemas,
	}
	for field, opts := range want {
		if diff := cmp.Diff(opts, inputs[field].Options); diff != "" {
			t.Errorf("%s choices (-request +workflow):\n%s", field, diff)
		}
	}
	// Required are only the fields every request type needs; the others
	// are required by their type, and the action says which.
	for _, f := range names {
		every := slices.Contains([]string{"database_name", "username", "user", "environment"}, f)
		if inputs[f].Required != every || call[f].Required != every {
			t.Errorf("%s: required %v (dispatch) / %v (call), want %v", f, inputs[f].Required, call[f].Required, every)
		}
	}
	var action *workflowStep
	for i, s := range steps {
		if s.With["mode"] == "request" {
			action = &steps[i]
		}
	}
	if action == nil {
		t.Fatal("no request step")
	}
	declared := actionInputs(t)
	for _, f := range names {
		if _, ok := call[f]; !ok {
			t.Errorf("workflow_call lacks the input %s", f)
		}
		if action.With[f] != "${{ inputs."+f+" }}" {
			t.Errorf("the request step passes %s = %q", f, action.With[f])
		}
		if !declared[f] {
			t.Errorf("action.yml does not declare the input %s", f)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// actionInputs are the inputs action.yml declares.
func actionInputs(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for k := range a.Inputs {
		out[k] = true
	}
	return out
}

// TestCallerExampleDispatchesTheForm: the caller workflow a consumer copies
// (examples/caller-workflow.yml, saved as their create-rds-database.yml)
// has the same form and passes every field on to the reusable workflow.
func TestCallerExampleDispatchesTheForm(t *testing.T) {
	t.Parallel()
	_, want, _, _ := readDispatch(t, filepath.Join("..", "..", ".github", "workflows", "create-rds-database.yml"))
	names, got, _, steps := readDispatch(t, filepath.Join("..", "..", "examples", "caller-workflow.yml"))
	if diff := cmp.Diff(dispatchFields, names); diff != "" {
		t.Errorf("dispatch inputs (-want +example):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the example's form differs from the reusable workflow's (-reusable +example):\n%s", diff)
	}
	var call *workflowStep
	for i, s := range steps {
		if strings.Contains(s.Uses, "/.github/workflows/create-rds-database.yml@") {
			call = &steps[i]
		}
	}
	if call == nil {
		t.Fatal("the example does not call create-rds-database.yml")
	}
	for _, f := range names {
		if call.With[f] != "${{ inputs."+f+" }}" {
			t.Errorf("the example passes %s = %q", f, call.With[f])
		}
	}
}

// TestBackstageTemplateDispatchesTheWorkflowInputs: the Backstage template
// sends exactly the workflow's dispatch inputs (GitHub refuses an unknown
// one), each from a parameter the template has, and for a choice only one
// of its options: a field its type hides falls back to the form's quiet
// value (the choice's default or first option), which request mode
// ignores without a notice.
func TestBackstageTemplateDispatchesTheWorkflowInputs(t *testing.T) {
	t.Parallel()
	names, inputs, _, _ := readDispatch(t, filepath.Join("..", "..", ".github", "workflows", "create-rds-database.yml"))
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "backstage-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Spec struct {
			Parameters []yaml.Node `yaml:"parameters"`
			Steps      []struct {
				Action string `yaml:"action"`
				Input  struct {
					WorkflowID     string    `yaml:"workflowId"`
					WorkflowInputs yaml.Node `yaml:"workflowInputs"`
				} `yaml:"input"`
			} `yaml:"steps"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	var dispatch *yaml.Node
	for _, s := range tpl.Spec.Steps {
		if s.Action == "github:actions:dispatch" && s.Input.WorkflowID == "create-rds-database.yml" {
			dispatch = &s.Input.WorkflowInputs
		}
	}
	if dispatch == nil {
		t.Fatal("no github:actions:dispatch step for create-rds-database.yml")
	}
	var sent []string
	values := map[string]string{}
	for i := 0; i+1 < len(dispatch.Content); i += 2 {
		sent = append(sent, dispatch.Content[i].Value)
		values[dispatch.Content[i].Value] = dispatch.Content[i+1].Value
	}
	if diff := cmp.Diff(names, sent); diff != "" {
		t.Errorf("dispatched inputs (-workflow +template):\n%s", diff)
	}

	// Every property the parameter pages define, dependencies included,
	// with its enum.
	props := map[string][]string{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "properties" && n.Content[i+1].Kind == yaml.MappingNode {
					p := n.Content[i+1]
					for j := 0; j+1 < len(p.Content); j += 2 {
						var prop struct {
							Enum []string `yaml:"enum"`
						}
						_ = p.Content[j+1].Decode(&prop)
						props[p.Content[j].Value] = append(props[p.Content[j].Value], prop.Enum...)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	always := map[string]bool{} // required on a page, whatever the type
	for i := range tpl.Spec.Parameters {
		walk(&tpl.Spec.Parameters[i])
		var page struct {
			Required []string `yaml:"required"`
		}
		_ = tpl.Spec.Parameters[i].Decode(&page)
		for _, r := range page.Required {
			always[r] = true
		}
	}
	ref := regexp.MustCompile(`^\$\{\{ parameters\.([a-z_]+)(?: or '([a-z-]+)')? \}\}$`)
	for _, name := range names {
		v := values[name]
		if name == "user" {
			if v != "${{ user.entity.metadata.annotations['github.com/user-login'] }}" {
				t.Errorf("user = %q, want the signed-in user's GitHub login", v)
			}
			continue
		}
		m := ref.FindStringSubmatch(v)
		if m == nil || m[1] != name {
			t.Errorf("%s = %q, want ${{ parameters.%s }} with an optional fallback", name, v, name)
			continue
		}
		if _, ok := props[name]; !ok {
			t.Errorf("%s: the template has no parameter %s", name, name)
		}
		in := inputs[name]
		if in.Type != "choice" {
			continue
		}
		for _, e := range props[name] {
			if !slices.Contains(in.Options, e) {
				t.Errorf("%s: the template offers %q, not a choice of the workflow (%v)", name, e, in.Options)
			}
		}
		if in.Required || always[name] {
			continue
		}
		quiet := in.Options[0]
		if in.Default != nil {
			quiet = *in.Default
		}
		if m[2] != quiet {
			t.Errorf("%s: a type that hides it sends %q, want the form's quiet value %q", name, m[2], quiet)
		}
	}
}
