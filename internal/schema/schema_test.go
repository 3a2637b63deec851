package schema

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/audit"
)

func mustLookup(t *testing.T, name string) Template {
	t.Helper()
	tmpl, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestNames(t *testing.T) {
	if diff := cmp.Diff([]string{"basic-app", "event-sourcing"}, Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "none", "Basic-App", "../templates", "basic-app/0001_init.sql"} {
		t.Run(name, func(t *testing.T) {
			_, err := Lookup(name)
			if !errors.Is(err, ErrUnknownTemplate) || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "basic-app or event-sourcing") {
				t.Errorf("Lookup(%q) = %v", name, err)
			}
		})
	}
}

// TestTemplateObjects pins what each template creates: the conflict check
// and docs/schema-templates.md rely on these lists.
func TestTemplateObjects(t *testing.T) {
	tests := []struct {
		name    string
		version int
		tables  []string
		objects []string
	}{
		{"basic-app", 1,
			[]string{"users", "settings", "audit_log"},
			[]string{"users", "settings", "audit_log", "users_email_lower_key", "audit_log_occurred_at_brin", "audit_log_entity_idx", "audit_log_actor_idx", "set_updated_at"}},
		{"event-sourcing", 1,
			[]string{"events", "projection_checkpoints", "snapshots"},
			[]string{"events", "projection_checkpoints", "snapshots", "events_event_type_position_idx", "events_recorded_at_brin", "events_refuse_change", "events_serialize_appends", "events_notify", "set_updated_at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := mustLookup(t, tc.name)
			if tmpl.Version() != tc.version || tmpl.Files[0].Name != "0001_init.sql" || len(tmpl.Files[0].SHA256) != 64 {
				t.Errorf("version %d, files %+v", tmpl.Version(), tmpl.Files)
			}
			if diff := cmp.Diff(tc.tables, tmpl.Tables); diff != "" {
				t.Errorf("tables (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.objects, tmpl.Objects, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTemplatesQualifyNames holds the SQL files to the rules Apply relies
// on: every object created is one createdNames sees (so the conflict check
// is complete), in schema public, and nothing needs a superuser.
func TestTemplatesQualifyNames(t *testing.T) {
	forbidden := regexp.MustCompile(`(?i)\b(CREATE\s+EXTENSION|CREATE\s+OR\s+REPLACE|SECURITY\s+DEFINER|ALTER\s+SYSTEM|ALTER\s+DATABASE|LANGUAGE\s+c\b|COPY\s|SET\s+ROLE|SET\s+SESSION|GRANT\s|REVOKE\s|OWNER\s+TO)`)
	for _, name := range Names() {
		tmpl := mustLookup(t, name)
		for _, f := range tmpl.Files {
			t.Run(name+"/"+f.Name, func(t *testing.T) {
				sql := lineComment.ReplaceAllString(f.SQL, "")
				creates := len(createAnyThat.FindAllString(sql, -1))
				seen := len(createTable.FindAllString(sql, -1)) + len(createIndex.FindAllString(sql, -1)) + len(createFunc.FindAllString(sql, -1))
				if creates != seen {
					t.Errorf("%d CREATE statements, %d of them CREATE TABLE/INDEX/FUNCTION on public.<name>: qualify every name with public. and keep to those kinds", creates, seen)
				}
				if m := forbidden.FindString(sql); m != "" {
					t.Errorf("template uses %q: templates run as the app role and leave ownership and grants to provision", m)
				}
				if !strings.Contains(f.SQL, "SET search_path = ''") && strings.Contains(sql, "CREATE FUNCTION") {
					t.Error("functions must pin search_path")
				}
			})
		}
	}
}

func TestDecide(t *testing.T) {
	es := mustLookup(t, "event-sourcing")
	basic := mustLookup(t, "basic-app")
	at := time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)
	// v2 is event-sourcing grown by one file, as a later release may ship.
	v2 := es
	v2.Files = append(append([]File(nil), es.Files...), File{Version: 2, Name: "0002_more.sql", SQL: "SELECT 1"})

	tests := []struct {
		name    string
		tmpl    Template
		state   State
		action  Action
		from    int
		to      int
		files   []string
		message string
	}{
		{"empty database", es, State{}, ActionApply, 0, 1, []string{"0001_init.sql"}, ""},
		{"marker without rows", es, State{Marker: true}, ActionApply, 0, 1, []string{"0001_init.sql"}, ""},
		{"applied", es, State{Marker: true, Applied: []Applied{{"event-sourcing", 1, at}}, Existing: []string{"events", "snapshots"}}, ActionNoChange, 1, 1, nil,
			"Schema template event-sourcing (v1) already applied"},
		{"own users table", basic, State{Existing: []string{"users"}}, ActionWarning, 0, 0, nil,
			"Database already has users, which schema template basic-app would create, and no rds_provision_schema marker: template not applied, data untouched"},
		{"own function", basic, State{Existing: []string{"set_updated_at"}}, ActionWarning, 0, 0, nil,
			"Database already has set_updated_at, which schema template basic-app would create, and no rds_provision_schema marker: template not applied, data untouched"},
		{"other template's objects only", es, State{Existing: []string{"users", "audit_log"}}, ActionApply, 0, 1, []string{"0001_init.sql"}, ""},
		{"another template applied", es, State{Marker: true, Applied: []Applied{{"basic-app", 1, at}}, Existing: []string{"users", "settings", "audit_log", "set_updated_at"}}, ActionWarning, 0, 0, nil,
			"Database already has schema template basic-app (v1) (see public.rds_provision_schema); event-sourcing (v1) not applied"},
		{"newer version applied", es, State{Marker: true, Applied: []Applied{{"event-sourcing", 1, at}, {"event-sourcing", 2, at}}}, ActionWarning, 2, 2, nil,
			"Database has schema template event-sourcing v2, newer than this rds-provision's v1; nothing applied (upgrade rds-provision)"},
		{"upgrade runs only the new file", v2, State{Marker: true, Applied: []Applied{{"event-sourcing", 1, at}}, Existing: []string{"events"}}, ActionApply, 1, 2, []string{"0002_more.sql"}, ""},
		{"grown template on an empty database", v2, State{}, ActionApply, 0, 2, []string{"0001_init.sql", "0002_more.sql"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.tmpl, tc.state)
			var files []string
			for _, f := range d.Files {
				files = append(files, f.Name)
			}
			got := []any{d.Action, d.Template, d.From, d.To, files, d.Message}
			want := []any{tc.action, tc.tmpl.Name, tc.from, tc.to, tc.files, tc.message}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecisionMessages(t *testing.T) {
	es := mustLookup(t, "event-sourcing")
	basic := mustLookup(t, "basic-app")
	d := Decide(es, State{})
	if got, want := d.Plan("orders"), "Would apply schema template event-sourcing (v1) to orders"; got != want {
		t.Errorf("Plan = %q, want %q", got, want)
	}
	if got, want := d.Done("orders"), "Applied schema template event-sourcing (v1) to orders"; got != want {
		t.Errorf("Done = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		d      Decision
		dryRun bool
		status audit.Status
		msg    string
	}{
		{d, true, audit.DryRun, "Would apply schema template event-sourcing (v1) to orders"},
		{d, false, audit.Success, "Applied schema template event-sourcing (v1) to orders"},
		{Decision{Action: ActionNoChange, Message: "m"}, true, audit.NoChange, "m"},
		{Decision{Action: ActionNoChange, Message: "m"}, false, audit.NoChange, "m"},
		{Decision{Action: ActionWarning, Message: "w"}, false, audit.Warning, "w"},
		// apply_schema rows come after every entry's grants: each names its database.
		{Decide(es, State{Marker: true, Applied: []Applied{{"event-sourcing", 1, time.Time{}}}}), false, audit.NoChange,
			"Schema template event-sourcing (v1) already applied to orders"},
		{Decide(basic, State{Existing: []string{"users", "settings"}}), true, audit.Warning,
			"Database orders already has users, settings, which schema template basic-app would create, and no rds_provision_schema marker: template not applied, data untouched"},
		{Decide(es, State{Marker: true, Applied: []Applied{{"basic-app", 1, time.Time{}}}}), false, audit.Warning,
			"Database orders already has schema template basic-app (v1) (see public.rds_provision_schema); event-sourcing (v1) not applied"},
		{Decide(es, State{Marker: true, Applied: []Applied{{"event-sourcing", 2, time.Time{}}}}), false, audit.Warning,
			"Database orders has schema template event-sourcing v2, newer than this rds-provision's v1; nothing applied (upgrade rds-provision)"},
	} {
		status, msg := tc.d.Row("orders", tc.dryRun)
		if status != tc.status || msg != tc.msg {
			t.Errorf("Row(%s, dryRun %v) = %s %q, want %s %q", tc.d.Action, tc.dryRun, status, msg, tc.status, tc.msg)
		}
	}
	up := Decision{Action: ActionApply, Template: "event-sourcing", From: 1, To: 2}
	if got, want := up.Plan("orders"), "Would upgrade schema template event-sourcing from v1 to v2 in orders"; got != want {
		t.Errorf("Plan = %q, want %q", got, want)
	}
}
