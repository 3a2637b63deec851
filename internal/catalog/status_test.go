package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const statusCatalog = `# RDS catalog (shared): comments stay.
version: "1.0"
last_updated: "2026-01-16"
rds_instance: goldenpath-platform-db-dev
databases:
  keycloak:
    metadata:
      environment: dev
      status: pending   # set by provisioning
  backstage:
    metadata:
      status: 'pending'
  orders:
    metadata:
      environment: test
      status: pending
  billing:
    metadata:
      environment: dev
      status: active
`

func TestSetStatus(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		env         string
		statuses    map[string]string
		wantChanged []string
		// wantLines are replacements old -> new expected in the output; all
		// other bytes stay.
		wantLines map[string]string
	}{
		{
			name: "dev entries, in place, quoting kept", src: statusCatalog, env: "dev",
			statuses:    map[string]string{"keycloak": "active", "backstage": "failed", "orders": "active", "billing": "active", "unknown": "active"},
			wantChanged: []string{"keycloak", "backstage"},
			wantLines: map[string]string{
				`last_updated: "2026-01-16"`:                    `last_updated: "2026-01-20"`,
				"      status: pending   # set by provisioning": "      status: active   # set by provisioning",
				"      status: 'pending'":                       "      status: 'failed'",
			},
		},
		{
			name: "a shared catalog's test entry belongs to test", src: statusCatalog, env: "test",
			statuses:    map[string]string{"keycloak": "active", "backstage": "active", "orders": "active"},
			wantChanged: []string{"orders"},
			wantLines: map[string]string{
				`last_updated: "2026-01-16"`:                     `last_updated: "2026-01-20"`,
				"      environment: test\n      status: pending": "      environment: test\n      status: active",
			},
		},
		{
			name: "rerun: nothing changes", src: statusCatalog, env: "dev",
			statuses: map[string]string{"billing": "active"},
		},
		{
			name: "CRLF line endings stay", src: strings.ReplaceAll(statusCatalog, "\n", "\r\n"), env: "dev",
			statuses:    map[string]string{"keycloak": "active"},
			wantChanged: []string{"keycloak"},
			wantLines: map[string]string{
				`last_updated: "2026-01-16"`:                    `last_updated: "2026-01-20"`,
				"      status: pending   # set by provisioning": "      status: active   # set by provisioning",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := SetStatus([]byte(tt.src), tt.env, tt.statuses, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantChanged, changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			want := tt.src
			for old, repl := range tt.wantLines {
				if strings.Contains(want, strings.ReplaceAll(old, "\n", "\r\n")) && strings.Contains(tt.src, "\r\n") {
					old, repl = strings.ReplaceAll(old, "\n", "\r\n"), strings.ReplaceAll(repl, "\n", "\r\n")
				}
				if !strings.Contains(want, old) {
					t.Fatalf("test source lacks %q", old)
				}
				want = strings.Replace(want, old, repl, 1)
			}
			if string(out) != want {
				t.Errorf("output differs:\n%s", unified([]byte(want), out))
			}
		})
	}
}

func TestSetStatusAddsMissingStatus(t *testing.T) {
	src := "rds_instance: goldenpath-platform-db-prod\nlast_updated: \"2026-01-16T10:00:00Z\"\ndatabases:\n  app:\n    metadata:\n      id: DATABASE_APP\n"
	out, changed, err := SetStatus([]byte(src), "prod", map[string]string{"app": "active"}, now)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Entries(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || len(entries) != 1 || entries[0].Status != "active" || !strings.Contains(string(out), `last_updated: "2026-01-20T14:30:00Z"`) {
		t.Errorf("changed %v, output:\n%s", changed, out)
	}
}

func TestSetStatusRejectsUnknownStatus(t *testing.T) {
	if _, _, err := SetStatus([]byte(statusCatalog), "dev", map[string]string{"keycloak": "done"}, now); err == nil || !strings.Contains(err.Error(), `status "done"`) {
		t.Errorf("err = %v", err)
	}
}
