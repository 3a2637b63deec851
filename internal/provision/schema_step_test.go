package provision

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/schema"
)

// The plan of an initial_schema (schema_step.go). Pure: no PostgreSQL
// (helpers in plan_test.go).

func TestPlanInitialSchemaComesAfterEveryEntrysGrants(t *testing.T) {
	owner := planEntry("shop", "shop", "shop_user", "")
	owner.InitialSchema = "basic-app"
	steps := runPlan(newFakeState().st, false, owner, planEntry("shop_app", "shop", "shop_app", "editor"))
	want := []target{
		{RoleCreate, "create_role", "shop_user", "success", ""}, {DatabaseCreate, "create_database", "shop_user", "success", ""},
		{GrantsGrant, "apply_grants", "shop_user", "success", "shop"},
		{RoleCreate, "create_role", "shop_app", "success", ""}, {DatabaseShared, "create_database", "shop_app", "no_change", ""},
		{GrantsGrant, "apply_grants", "shop_app", "success", "shop"},
		{SchemaApply, "apply_schema", "shop_user", "success", "shop"},
	}
	if diff := cmp.Diff(want, targets(steps)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	last := steps[len(steps)-1]
	if last.Template != "basic-app" || previewMessage(last) != "Would apply schema template basic-app (v1) to shop" || planMessage(last) != "Applied schema template basic-app (v1) to shop" {
		t.Errorf("apply_schema step = %+v (%q, %q)", last, previewMessage(last), planMessage(last))
	}
}

func TestPlanInitialSchemaRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  *schema.State // of the existing database; nil = not inspected
		kind   Kind
		status string
		apply  bool
	}{
		{"empty database", &schema.State{}, SchemaApply, "success", true},
		{"already applied", &schema.State{Marker: true, Applied: []schema.Applied{{Template: "basic-app", Version: 1}}}, SchemaDecided, "no_change", false},
		{"someone else's users table", &schema.State{Existing: []string{"users"}}, SchemaDecided, "warning", false},
		{"another template", &schema.State{Marker: true, Applied: []schema.Applied{{Template: "event-sourcing", Version: 1}}}, SchemaDecided, "warning", false},
		{"not inspected", nil, SchemaUninspectable, "error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeState()
			f.app("shop_user", "shop")
			f.db("shop", "shop_user").schema = tc.state
			e := planEntry("shop", "shop", "shop_user", "")
			e.InitialSchema = "basic-app"
			steps := runPlan(f.st, false, e)
			last := steps[len(steps)-1]
			on := ""
			if tc.apply {
				on = "shop"
			}
			want := target{Kind: tc.kind, Action: "apply_schema", Username: "shop_user", Status: tc.status, On: on}
			if diff := cmp.Diff(want, targets(steps[len(steps)-1:])[0]); diff != "" || (last.Template != "") != tc.apply {
				t.Errorf("apply_schema step (applies %v) (-want +got):\n%s", last.Template != "", diff)
			}
		})
	}
}
