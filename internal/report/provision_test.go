package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
)

var t0 = time.Date(2026, 1, 16, 10, 30, 0, 0, time.UTC)

func row(db, user, action string, status audit.Status, msg string) audit.Row {
	return audit.Row{Time: t0, Environment: "dev", BuildID: "16-01-26-01", RunID: "12345678",
		Database: db, Username: user, Action: action, Status: status, Duration: 45 * time.Millisecond, Message: msg}
}

func TestProvisionSummaryExact(t *testing.T) {
	r := Provision{
		Environment: "dev", TfvarsPath: "envs/dev-rds/terraform.tfvars", Mode: "standalone",
		BuildID: "16-01-26-01", RunID: "12345678", RunURL: "https://github.com/o/r/actions/runs/12345678",
		Rows: []audit.Row{
			row("keycloak", "keycloak_user", "create_role", audit.Success, "Role created"),
			row("keycloak", "keycloak_user", "create_database", audit.Warning, "Database keycloak exists but owner is postgres, expected keycloak_user"),
		},
	}
	// One line of totals, then the warning before the change (issue 21).
	want := "## RDS provisioning: dev\n\n" +
		"**2 rows:** ⚠️ 1 warning · ✅ **1 changed**\n\n" +
		"tfvars envs/dev-rds/terraform.tfvars (standalone) · build 16-01-26-01 · run [12345678](<https://github.com/o/r/actions/runs/12345678>)\n\n" +
		"| | Database | Username | Action | Status | ms | Message |\n|---|---|---|---|---|--:|---|\n" +
		"| ⚠️ | keycloak | keycloak\\_user | create\\_database | warning | 45 | Database keycloak exists but owner is postgres, expected keycloak\\_user |\n" +
		"| ✅ | keycloak | keycloak\\_user | create\\_role | success | 45 | Role created |\n" +
		"\n<details><summary>Audit CSV (2 rows)</summary>\n\n```csv\n" +
		"timestamp_utc,environment,build_id,run_id,database,username,action,status,duration_ms,message\n" +
		"2026-01-16T10:30:00Z,dev,16-01-26-01,12345678,keycloak,keycloak_user,create_role,success,45,Role created\n" +
		"2026-01-16T10:30:00Z,dev,16-01-26-01,12345678,keycloak,keycloak_user,create_database,warning,45,\"Database keycloak exists but owner is postgres, expected keycloak_user\"\n" +
		"```\n\n</details>\n"
	if diff := cmp.Diff(want, ProvisionSummary(r)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	comment := ProvisionComment(r)
	if !strings.HasPrefix(comment, "<!-- rds-provision:dev -->\n## RDS provisioning: dev\n") {
		t.Errorf("comment does not start with the marker and heading:\n%s", comment[:80])
	}
}

func TestProvisionSummaryBanners(t *testing.T) {
	tests := []struct {
		name    string
		report  Provision
		want    []string
		wantNot []string
	}{
		{
			name:   "dry run banner comes first",
			report: Provision{Environment: "dev", DryRun: true, Rows: []audit.Row{row("keycloak", "keycloak_user", "create_role", audit.DryRun, "Would create/update role: keycloak_user")}},
			want:   []string{"## RDS provisioning: dev\n\n> [!NOTE]\n> 🔍 **Dry run:** nothing was changed.", "**1 row:** 🔍 **1 to change**\n"},
		},
		{
			name:    "run-level failure",
			report:  Provision{Environment: "prod", Err: "approval required: ALLOW_DB_PROVISION=true required for prod environment"},
			want:    []string{"> [!CAUTION]\n> **Failed:** approval required\\: ALLOW\\_DB\\_PROVISION=true required for prod environment", "_No audit rows: nothing was provisioned._"},
			wantNot: []string{"Dry run", "<details>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProvisionSummary(tt.report)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("summary has %q:\n%s", w, got)
				}
			}
		})
	}
}

// A message is data: it must not close the table cell, the code block or
// the details block, nor become a link, HTML, or a mention.
func TestProvisionSummaryEscapes(t *testing.T) {
	hostile := "x | y\n## Heading <img src=x onerror=alert(1)> [click](javascript:alert(1)) @platform-team ``` </details> `code` \u202Eevil"
	r := Provision{Environment: "dev", Rows: []audit.Row{row("db", "u", "create_role", audit.Error, hostile)}}
	got := ProvisionSummary(r)
	tableLine := ""
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "| ❌ |") {
			tableLine = l
		}
	}
	want := strings.ReplaceAll(`| ❌ | db | u | create\_role | error | 45 | x \| y \#\# Heading &lt;img src=x onerror=alert\(1\)&gt; \[click\]\(javascript\:alert\(1\)\) &#64;platform-team \BT\BT\BT &lt;/details&gt; \BTcode\BT evil |`, "BT", "`")
	if diff := cmp.Diff(want, tableLine); diff != "" {
		t.Errorf("table line (-want +got):\n%s", diff)
	}
	// The CSV keeps the message verbatim inside a fence longer than its backticks.
	if !strings.Contains(got, "\n````csv\n") || !strings.Contains(got, "\n````\n\n</details>\n") {
		t.Errorf("CSV fence not lengthened past the message's backticks:\n%s", got)
	}
	if strings.Count(got, "</details>") != 2 { // the real one, and the one inside the fence
		t.Errorf("want exactly one </details> outside the fence:\n%s", got)
	}
}

func TestProvisionSummarySizeCap(t *testing.T) {
	long := strings.Repeat("a long message ", 40) // 600 bytes
	manyRows := func(n int) []audit.Row {
		rows := make([]audit.Row, n)
		for i := range rows {
			rows[i] = row(fmt.Sprintf("db_%05d", i), "user_x", "create_role", audit.Success, long)
		}
		return rows
	}
	tests := []struct {
		name      string
		rows      int
		render    func(Provision) string
		size      func(string) int
		limit     int
		wantCSV   bool
		wantShown string
	}{
		{"small fits with CSV", 10, ProvisionSummary, byteSize, MaxSummaryBytes, true, ""},
		{"summary drops CSV first", 1200, ProvisionSummary, byteSize, MaxSummaryBytes, false, ""},
		{"summary truncates rows", 3000, ProvisionSummary, byteSize, MaxSummaryBytes, false, "of 3000 rows"},
		{"comment truncates rows", 500, ProvisionComment, runeSize, MaxCommentChars, false, "of 500 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := manyRows(tt.rows)
			rows[len(rows)-1].Status = audit.Error
			rows[len(rows)-1].Message = "Secret not found: goldenpath/dev/last/postgres"
			got := tt.render(Provision{Environment: "dev", Rows: rows})
			if n := tt.size(got); n > tt.limit {
				t.Fatalf("size %d over limit %d", n, tt.limit)
			}
			if !utf8.ValidString(got) {
				t.Fatal("not valid UTF-8")
			}
			if has := strings.Contains(got, "```csv"); has != tt.wantCSV {
				t.Errorf("CSV block present = %v, want %v", has, tt.wantCSV)
			}
			if tt.wantShown != "" && !strings.Contains(got, tt.wantShown) {
				t.Errorf("no truncation note %q", tt.wantShown)
			}
			if !strings.Contains(got, "Secret not found") {
				t.Error("the error row was dropped; errors must be kept first")
			}
			if !strings.Contains(got, fmt.Sprintf("**%d rows:** ❌ **1 error** · ✅ **%d changed**\n", tt.rows, tt.rows-1)) {
				t.Error("totals do not cover every row")
			}
		})
	}
}

func TestRequestSummary(t *testing.T) {
	fields := []Field{{"database_name", "inventory"}, {"username", "inventory_user"}, {"environment", "dev"}}
	tests := []struct {
		name   string
		report Request
		want   []string
	}{
		{
			name:   "opened",
			report: Request{Fields: fields, Changed: true, Branch: "database/create-dev-inventory", PRNumber: 7, PRURL: "https://github.com/o/r/pull/7", Diff: "--- a/x\n+++ b/x\n+ inventory = {}\n"},
			want: []string{"## RDS database request: inventory (dev)\n\n",
				"Pull request [\\#7](<https://github.com/o/r/pull/7>) on branch database/create-dev-inventory.",
				"| database\\_name | inventory |", "### Changes\n\n```diff\n--- a/x\n+++ b/x\n+ inventory = {}\n```\n"},
		},
		{
			name:   "unchanged",
			report: Request{Fields: fields, Branch: "database/create-dev-inventory", PRNumber: 7, PRURL: "https://github.com/o/r/pull/7"},
			want:   []string{"No change: the request is already in pull request [\\#7]"},
		},
		{
			name: "rejected",
			report: Request{Fields: fields, Problems: []Problem{
				{"database_name", `"Inventory"`, "must match ^[a-z][a-z0-9_]{2,62}$"},
				{"size", `"large"`, "dev allows only small"},
			}},
			want: []string{"**Rejected:** 2 problem(s)", `| database\_name | "Inventory" | must match ^\[a-z\]\[a-z0-9\_\]{2,62}$ |`},
		},
		{
			name:   "diff cannot close its fence",
			report: Request{Fields: fields, DryRun: true, Diff: "+ x = \"```\"\n", Body: "## Body"},
			want:   []string{"**Dry run:**", "````diff\n+ x = \"```\"\n````\n", "```markdown\n## Body\n```\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RequestSummary(tt.report)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
		})
	}
	t.Run("huge diff is cut", func(t *testing.T) {
		diff := strings.Repeat("+ line of a very large tfvars file\n", 60000) // 2 MB
		got := RequestSummary(Request{Fields: fields, Diff: diff, Changed: true})
		if len(got) > MaxSummaryBytes {
			t.Fatalf("size %d over limit", len(got))
		}
		if !strings.Contains(got, "too large to show in full") {
			t.Error("no note about the cut")
		}
	})
}

func TestLinkRejectsOtherSchemes(t *testing.T) {
	if got := link("x", "javascript:alert(1)"); got != "x" {
		t.Errorf("link = %q", got)
	}
}
