package provision

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The plan of an entry's database (database.go). Pure: no PostgreSQL
// (helpers in plan_test.go).

func TestPlanDatabaseWithAnotherOwner(t *testing.T) {
	f := newFakeState()
	f.db("shop", "postgres")
	got := summarise(runPlan(f.st, false, planEntry("shop", "shop", "shop_user", "")))
	want := []planned{
		{"create_database", "warning", "Database shop exists but owner is postgres, expected shop_user", nil},
		{"apply_grants", "warning", `Grants on shop skipped because its owner is postgres: if safe, run ALTER DATABASE "shop" OWNER TO "shop_user" and re-run`, nil},
	}
	if diff := cmp.Diff(want, got[1:]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
