package tfvars

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tests of the initial_schema attribute: read, validated, written.

func TestParseInitialSchema(t *testing.T) {
	entry := func(attrs string) string {
		return "application_databases = {\n  orders = {\n    database_name = \"orders\"\n    username      = \"orders_user\"\n" + attrs + "  }\n}\n"
	}
	tests := []struct {
		name    string
		attrs   string
		want    string
		wantErr string
	}{
		{"absent", "", "", ""},
		{"event-sourcing", "    initial_schema = \"event-sourcing\"\n", "event-sourcing", ""},
		{"basic-app", "    initial_schema = \"basic-app\"\n", "basic-app", ""},
		{"none is no template", "    initial_schema = \"none\"\n", "", ""},
		{"unknown", "    initial_schema = \"analytics\"\n", "",
			`t.tfvars:5,22: application_databases.orders.initial_schema is "analytics": want basic-app, event-sourcing or none`},
		{"path-like", "    initial_schema = \"../basic-app\"\n", "",
			`application_databases.orders.initial_schema is "../basic-app"`},
		{"not for an editor", "    access_level   = \"editor\"\n    initial_schema = \"basic-app\"\n", "",
			`application_databases.orders: initial_schema "basic-app" needs access_level owner`},
		{"not a string", "    initial_schema = true\n", "",
			`application_databases.orders.initial_schema must be a quoted string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("t.tfvars", []byte(entry(tc.attrs)), ModeStandalone)
			if tc.wantErr != "" {
				var tfErr *Error
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &tfErr) || tfErr.Line == 0 {
					t.Fatalf("Parse = %v, want an error at a line containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Entries[0].InitialSchema; got != tc.want {
				t.Errorf("InitialSchema = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInsertInitialSchema(t *testing.T) {
	src := []byte("aws_region = \"eu-west-2\"\n\napplication_databases = {\n  keycloak = {\n    database_name = \"keycloak\"\n    username      = \"keycloak_user\"\n  }\n}\n")
	e := NewEntry{Key: "orders", DatabaseName: "orders", Username: "orders_user", InitialSchema: "event-sourcing"}
	out, changed, err := Insert("t.tfvars", src, ModeStandalone, e)
	if err != nil || !changed {
		t.Fatalf("Insert = changed %v, %v", changed, err)
	}
	want := string(src[:len(src)-2]) + `  orders = {
    database_name  = "orders"
    username       = "orders_user"
    initial_schema = "event-sourcing"
  }
}
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("edited file (-want +got):\n%s", diff)
	}
	f, err := Parse("t.tfvars", out, ModeStandalone)
	if err != nil || f.Entries[1].InitialSchema != "event-sourcing" {
		t.Fatalf("read back: %v %+v", err, f)
	}
	// The platform module's type map(object({database_name, username}))
	// drops the extra attribute: terraform still accepts the file.
	if err := VerifyWithTerraform(context.Background(), "", out, ModeStandalone, 2); err != nil {
		t.Errorf("terraform rejects initial_schema: %v", err)
	}

	// Re-running is a no-op; the same entry with another template is a
	// conflict, not a silent success.
	again, changed, err := Insert("t.tfvars", out, ModeStandalone, e)
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("re-insert: changed %v, %v", changed, err)
	}
	for _, other := range []string{"", "basic-app"} {
		o := e
		o.InitialSchema = other
		if _, _, err := Insert("t.tfvars", out, ModeStandalone, o); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `initial_schema "event-sourcing"`) {
			t.Errorf("Insert with initial_schema %q over event-sourcing: %v, want ErrConflict", other, err)
		}
	}
	bad := e
	bad.Key, bad.DatabaseName, bad.Username, bad.InitialSchema = "x_db", "x_db", "x_user", "analytics"
	if _, _, err := Insert("t.tfvars", src, ModeStandalone, bad); err == nil || !strings.Contains(err.Error(), `"analytics"`) {
		t.Errorf("Insert of an unknown template: %v", err)
	}
}

func TestInsertInitialSchemaCoupled(t *testing.T) {
	src := []byte("rds_config = {\n  enabled = true\n  application_databases = {\n    app = { database_name = \"app_db\", username = \"app_user\" }\n  }\n}\n")
	out, _, err := Insert("t.tfvars", src, ModeCoupled, NewEntry{Key: "ledger", DatabaseName: "ledger", Username: "ledger_user", InitialSchema: "basic-app"})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithTerraform(context.Background(), "", out, ModeCoupled, 2); err != nil {
		t.Errorf("terraform rejects initial_schema in coupled mode: %v", err)
	}
}
