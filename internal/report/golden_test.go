package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, which -update rewrites.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run go test -update and review):\n%s", path, diff)
	}
}

// runRows is a run over n entries (n >= 3) in which three entries need an
// eye, the others being in place: new_app is created (3 changes), grown_app
// gets its grants and schema template (2 changes), and broken_app's secret
// is missing (1 error). The three sit at the start, the middle and the end
// of the tfvars, so the reports must bring them forward.
func runRows(n int) []audit.Row {
	at := time.Date(2026, 1, 16, 10, 30, 0, 0, time.UTC)
	var rows []audit.Row
	add := func(db, user, action string, s audit.Status, ms int, msg string) {
		rows = append(rows, audit.Row{Time: at, Environment: "dev", BuildID: "42", RunID: "12345678",
			Database: db, Username: user, Action: action, Status: s, Duration: time.Duration(ms) * time.Millisecond, Message: msg})
	}
	for i := range n {
		switch {
		case i == 0:
			add("new_app", "new_app_user", audit.ActionCreateRole, audit.Success, 12, "Role created")
			add("new_app", "new_app_user", audit.ActionCreateDatabase, audit.Success, 310, "Database created: new_app with owner new_app_user")
			add("new_app", "new_app_user", audit.ActionApplyGrants, audit.Success, 4, "Granted ALL on new_app to new_app_user")
		case i == n/2:
			add("grown_app", "grown_app_user", audit.ActionCreateRole, audit.NoChange, 12, "Password updated for existing role: grown_app_user")
			add("grown_app", "grown_app_user", audit.ActionCreateDatabase, audit.NoChange, 0, "Database grown_app exists with owner grown_app_user")
			add("grown_app", "grown_app_user", audit.ActionApplyGrants, audit.Success, 18, "Granted ALL on grown_app to grown_app_user (revoked TEMPORARY from PUBLIC)")
			add("grown_app", "grown_app_user", audit.ActionApplySchema, audit.Success, 95, "Schema template basic-app (v1) applied")
		case i == n-1:
			add("broken_app", "broken_app_user", audit.ActionFetchSecret, audit.Error, 0, "Secret not found: goldenpath/dev/broken_app/postgres")
		default:
			db, user := fmt.Sprintf("app_%03d", i), fmt.Sprintf("app_%03d_user", i)
			add(db, user, audit.ActionCreateRole, audit.NoChange, 12, "Password updated for existing role: "+user)
			add(db, user, audit.ActionCreateDatabase, audit.NoChange, 0, fmt.Sprintf("Database %s exists with owner %s", db, user))
			add(db, user, audit.ActionApplyGrants, audit.NoChange, 1, fmt.Sprintf("Grants already in place: ALL on %s to %s", db, user))
		}
	}
	return rows
}

// TestProvisionReportsGolden: for 3 and 300 entries with 5 changes and 1
// error, the job summary and the audit comment open with the totals and
// every change and the error, above the first collapsed block; they stay
// within GitHub's limits (a comment is 65,536 characters at most, a step's
// summary 1 MiB), and every row in place is still counted.
func TestProvisionReportsGolden(t *testing.T) {
	for _, n := range []int{3, 300} {
		rows := runRows(n)
		r := Provision{
			Environment: "dev", Rows: rows, TfvarsPath: "envs/dev-rds/terraform.tfvars", Mode: "standalone",
			BuildID: "42", RunID: "12345678", RunURL: "https://github.com/goldenpath/infra/actions/runs/12345678",
			Artifact: "rds-provision-audit-dev-1",
		}
		for _, tc := range []struct {
			kind   string
			render func(Provision) string
			size   func(string) int
			limit  int
		}{
			{"summary", ProvisionSummary, byteSize, 1 << 20},
			{"comment", ProvisionComment, runeSize, 65536},
		} {
			t.Run(fmt.Sprintf("%s of %d entries", tc.kind, n), func(t *testing.T) {
				got := tc.render(r)
				golden(t, fmt.Sprintf("provision_%s_%d.md", tc.kind, n), got)
				if size := tc.size(got); size > tc.limit {
					t.Errorf("%d over GitHub's limit of %d", size, tc.limit)
				}
				if !utf8.ValidString(got) {
					t.Error("not valid UTF-8")
				}
				fold := strings.Index(got, "<details>")
				if fold < 0 {
					fold = len(got)
				}
				top := got[:fold]
				changes := 0
				for _, row := range rows {
					if row.Status == audit.NoChange {
						continue
					}
					changes++
					line := fmt.Sprintf("| %s | %s | %s | %s | %s |", marker(row.Status), text(row.Database), text(row.Username), text(row.Action), text(string(row.Status)))
					if !strings.Contains(top, line) {
						t.Errorf("above the fold lacks %s", line)
					}
				}
				if changes != 6 {
					t.Fatalf("fixture has %d rows that need an eye, want 6", changes)
				}
				// The error comes first, the totals before it.
				totalsLine := fmt.Sprintf("**%d rows:** ❌ **1 error** · ✅ **5 changed** · ➖ %d in place\n", len(rows), len(rows)-6)
				if t0, e := strings.Index(top, totalsLine), strings.Index(top, "| ❌ | broken\\_app |"); t0 < 0 || e < t0 || strings.Index(top, "| ✅ |") < e {
					t.Errorf("want the totals line %q, then the error, then the changes:\n%s", totalsLine, top)
				}
				// Nothing in place above the fold; each action's rows in
				// place are counted in its block.
				if strings.Contains(top, "| ➖ |") {
					t.Error("a row in place is above the fold")
				}
				for action, count := range map[string]int{"create\\_role": n - 2, "create\\_database": n - 2, "apply\\_grants": n - 3} {
					want := fmt.Sprintf("<details><summary>➖ %s: %d in place</summary>", action, count)
					if has := strings.Contains(got, want); has != (count > 0) {
						t.Errorf("has %q: %v, want %v", want, has, count > 0)
					}
				}
			})
		}
	}
}

// TestProvisionReportLinksTheCSVArtifact: when the CSV does not fit, the
// report names the artifact and links the run's artifacts; without an
// artifact it says where the CSV is instead.
func TestProvisionReportLinksTheCSVArtifact(t *testing.T) {
	r := Provision{Environment: "dev", Rows: runRows(300), RunURL: "https://github.com/o/r/actions/runs/7"}
	tests := []struct {
		name   string
		edit   func(*Provision)
		render func(Provision) string
		want   string
	}{
		{"comment, artifact", func(p *Provision) { p.Artifact = "rds-provision-audit-dev-1" }, ProvisionComment,
			"_The audit CSV (899 rows) is too large to show here. The complete CSV is the run's artifact [rds-provision-audit-dev-1](<https://github.com/o/r/actions/runs/7#artifacts>)._\n"},
		{"comment, no artifact", func(*Provision) {}, ProvisionComment,
			"_The audit CSV (899 rows) is too large to show here. The complete audit is in the [job summary](<https://github.com/o/r/actions/runs/7>) of the workflow run._\n"},
		{"comment, artifact, no run address", func(p *Provision) { p.Artifact, p.RunURL = "audit-csv", "" }, ProvisionComment,
			"The complete CSV is the run's artifact audit-csv._\n"},
		{"summary, the command line's file", func(p *Provision) {
			p.CSVWhere = "audit/dev.csv"
			p.Rows = append(p.Rows, bigRows(3000)...)
		}, ProvisionSummary, "The complete CSV is in audit/dev.csv._\n"},
		{"summary, the step's file", func(p *Provision) { p.Rows = append(p.Rows, bigRows(3000)...) }, ProvisionSummary,
			"The complete CSV is in the file named by the step's audit_csv output._\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := r
			tt.edit(&p)
			if got := tt.render(p); !strings.Contains(got, tt.want) {
				t.Errorf("lacks %q:\n%s", tt.want, got[max(0, len(got)-600):])
			}
		})
	}
}

// bigRows are rows in place with long messages, to overflow a summary.
func bigRows(n int) []audit.Row {
	rows := make([]audit.Row, n)
	for i := range rows {
		rows[i] = audit.Row{Database: fmt.Sprintf("big_%04d", i), Username: "big_user", Action: audit.ActionApplyGrants,
			Status: audit.NoChange, Message: strings.Repeat("grants already in place ", 20)}
	}
	return rows
}

func TestPlanSectionGolden(t *testing.T) {
	rows := runRows(3)
	for i := range rows {
		if rows[i].Status == audit.Success {
			rows[i].Status = audit.DryRun
			rows[i].Message = "Would " + strings.ToLower(rows[i].Message[:1]) + rows[i].Message[1:]
		}
	}
	got := PlanSummary(Provision{Environment: "dev", Rows: rows, TfvarsPath: "envs/dev-rds/terraform.tfvars",
		HeadSHA: strings.Repeat("1a2b3c4d", 5), RunID: "987654321", RunURL: "https://github.com/goldenpath/infra/actions/runs/987654321"})
	golden(t, "plan_summary.md", got)
}

func TestRequestSummaryGolden(t *testing.T) {
	fields := []Field{
		{Name: "base_branch", Value: "development"}, {Name: "database_name", Value: "inventory"},
		{Name: "username", Value: "inventory_user"}, {Name: "environment", Value: "dev"},
	}
	grant := []Field{
		{Name: "request_type", Value: "grant"}, {Name: "database_name", Value: "orders"}, {Name: "username", Value: "orders_bi"},
		{Name: "access_level", Value: "reader"}, {Name: "environment", Value: "dev"},
	}
	for _, tc := range []struct {
		name string
		r    Request
	}{
		{"request_opened.md", Request{Fields: fields, Changed: true, Branch: "database/create-dev-inventory", PRNumber: 7,
			PRURL: "https://github.com/goldenpath/infra/pull/7", Diff: "--- a/envs/dev-rds/terraform.tfvars\n+++ b/envs/dev-rds/terraform.tfvars\n@@ -1,2 +1,6 @@\n application_databases = {\n+  inventory = {\n+    database_name = \"inventory\"\n+    username      = \"inventory_user\"\n+  }\n }\n"}},
		{"request_rejected.md", Request{Fields: fields, Problems: []Problem{
			{Field: "database_name", Value: `"Inventory"`, Rule: "must match ^[a-z][a-z0-9_]{2,62}$"},
			{Field: "size", Value: `"large"`, Rule: "dev allows only small"},
		}}},
		{"request_dry_run.md", Request{Fields: fields, DryRun: true, Changed: true, Diff: "+ inventory = {}\n", Body: "## Create RDS Database: inventory (dev)\n"}},
		{"request_placed.md", Request{Fields: fields, Changed: true, Branch: "database/create-prod-inventory", PRNumber: 9,
			PRURL: "https://github.com/goldenpath/infra/pull/9", Instance: "shared-large-2",
			Placement: "placed by size large: shared-large-2 holds 0 of 3 databases, the fewest with room; shared-large-1 2 of 3",
			Diff:      "+    instance      = \"shared-large-2\"\n"}},
		{"request_grant_review_refused.md", Request{Fields: grant, Changed: true, Branch: "database/grant-dev-orders-orders_bi", PRNumber: 8,
			PRURL: "https://github.com/goldenpath/infra/pull/8", ReviewTeam: "sre-team", Unused: []string{`domain "catalog"`, `risk "low"`},
			ReviewRefused: "GitHub refused the review request for team(s) sre-team: Reviews may only be requested from collaborators.",
			Diff:          "+  orders_bi = {\n"}},
		{"request_grant_reviewed.md", Request{Fields: grant, Changed: true, Branch: "database/grant-dev-orders-orders_bi", PRNumber: 8,
			PRURL: "https://github.com/goldenpath/infra/pull/8", ReviewTeam: "app-team", Diff: "+  orders_bi = {\n"}},
		{"request_retire_no_team.md", Request{Fields: []Field{{Name: "request_type", Value: "retire"}, {Name: "database_name", Value: "keycloak"}, {Name: "environment", Value: "dev"}},
			DryRun: true, Changed: true, ReviewWhy: "the catalog's owner is unknown", Diff: "+    retired       = true\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, RequestSummary(tc.r)) })
	}
}

func TestCatalogStatusGolden(t *testing.T) {
	outcomes := []catalog.Outcome{
		{Database: "orders", Status: "active"},
		{Database: "orders", Username: "orders_bi", AccessLevel: "reader", Status: "active"},
		{Database: "broken_app", Status: "failed", Error: "Secret not found: goldenpath/dev/broken_app/postgres"},
	}
	for _, tc := range []struct {
		name   string
		result catalog.StatusResult
	}{
		{"catalog_status_committed.md", catalog.StatusResult{Commit: strings.Repeat("c0ffee", 6) + "c0ff", Written: true, Changed: []string{"orders", "orders/orders_bi", "broken_app"}}},
		{"catalog_status_unchanged.md", catalog.StatusResult{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, CatalogStatusSection(CatalogStatus{Outcomes: outcomes, Branch: "development", Result: tc.result}))
		})
	}
}
