package request

import (
	"errors"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// TestMakePlanNoTfvarsForEnvironment: an environment without a tfvars file
// in either layout is named with both paths, not reported as a mode to set.
func TestMakePlanNoTfvarsForEnvironment(t *testing.T) {
	snap := Snapshot{}
	for p, src := range infraFiles() {
		snap[p] = []byte(src)
	}
	f := validForm()
	f.Environment, f.Size = "staging", "small"
	_, err := MakePlan(f, snap, PlanSettings{Now: testNow})
	want := "no tfvars file for environment staging: neither envs/staging/terraform.tfvars (coupled layout) nor envs/staging-rds/terraform.tfvars (standalone layout) exists"
	if !errors.Is(err, tfvars.ErrNoTfvars) || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "RDS_MODE") {
		t.Fatalf("err = %v\nwant it to start with %q and not to mention RDS_MODE", err, want)
	}
}
