package tfvars

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUpdateGolden applies day-2 edits (a level changed, an entry or a
// whole database retired) to the files under testdata/update, compares the
// unified diff with testdata/update/<case>.diff, checks that only the
// edited values moved (every comment and layout byte stays), that a second
// run changes nothing, and makes the real terraform CLI parse and
// type-check the result.
func TestUpdateGolden(t *testing.T) {
	tests := []struct {
		name, input string
		mode        Mode
		changes     []Change
		want        map[string]Entry // the edited entries as they must read back
	}{
		{
			name: "change_access_keeps_comment", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "orders_bi", AccessLevel: AccessReader}},
			want:    map[string]Entry{"orders_bi": {AccessLevel: AccessReader}},
		},
		{
			name: "change_access_one_line", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "orders_etl", AccessLevel: AccessEditor}},
			want:    map[string]Entry{"orders_etl": {AccessLevel: AccessEditor}},
		},
		{
			name: "retire_grant", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "orders_bi", Retire: true}},
			want:    map[string]Entry{"orders_bi": {AccessLevel: AccessEditor, Retired: true}},
		},
		{
			// The owner named: every entry of the database, each in its
			// own layout (multi-line with commas, one line, one line with
			// a trailing comma and retired = false).
			name: "retire_database", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "orders", Retire: true}, {Key: "orders_bi", Retire: true}, {Key: "orders_etl", Retire: true}, {Key: "orders_audit", Retire: true}},
			want: map[string]Entry{
				"orders": {AccessLevel: AccessOwner, Retired: true}, "orders_bi": {AccessLevel: AccessEditor, Retired: true},
				"orders_etl": {AccessLevel: AccessReader, Retired: true}, "orders_audit": {AccessLevel: AccessReader, Retired: true},
			},
		},
		{
			name: "retire_after_block_comment", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "keycloak", Retire: true}},
			want:    map[string]Entry{"keycloak": {AccessLevel: AccessOwner, Retired: true}},
		},
		{
			name: "retire_trailing_commas", input: "standalone_grants", mode: ModeStandalone,
			changes: []Change{{Key: "orders_reports", Retire: true}},
			want:    map[string]Entry{"orders_reports": {AccessLevel: AccessReader, Retired: true}},
		},
		{
			name: "coupled_quoted_keys", input: "coupled_quoted", mode: ModeCoupled,
			changes: []Change{{Key: "payments", Retire: true}, {Key: "payments_ro", Retire: true}},
			want:    map[string]Entry{"payments": {AccessLevel: AccessOwner, Retired: true}, "payments_ro": {AccessLevel: AccessReader, Retired: true}},
		},
		{
			name: "tabs_crlf", input: "standalone_tabs_crlf", mode: ModeStandalone,
			changes: []Change{{Key: "keycloak_ro", AccessLevel: AccessReader, Retire: true}},
			want:    map[string]Entry{"keycloak_ro": {AccessLevel: AccessReader, Retired: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "update", tt.input+".tfvars"))
			if err != nil {
				t.Fatal(err)
			}
			before, err := Parse(tt.input, src, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Update(tt.input+".tfvars", src, tt.mode, tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Fatal("changed = false on the first update")
			}
			diff := unified(tt.input+".tfvars", src, out)
			golden := filepath.Join("testdata", "update", tt.name+".diff")
			if *update {
				if err := os.WriteFile(golden, []byte(diff), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantDiff, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff != string(wantDiff) {
				t.Errorf("diff differs from %s (run go test -update and review):\n%s", golden, diff)
			}
			if err := onlyValuesEdited(src, out); err != nil {
				t.Error(err)
			}

			after, err := Parse(tt.input, out, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range after.Entries {
				old := before.Entries[i]
				w, edited := tt.want[e.Key]
				if !edited {
					w = old
				}
				got := Entry{AccessLevel: e.AccessLevel, Retired: e.Retired}
				if diff := cmp.Diff(Entry{AccessLevel: w.AccessLevel, Retired: w.Retired}, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", e.Key, diff)
				}
				if e.DatabaseName != old.DatabaseName || e.Username != old.Username || e.SecretName != old.SecretName || e.Key != old.Key {
					t.Errorf("%s moved: %+v -> %+v", e.Key, old, e)
				}
			}

			again, changed, err := Update(tt.input+".tfvars", out, tt.mode, tt.changes)
			if err != nil || changed || string(again) != string(out) {
				t.Errorf("second update: changed=%v err=%v", changed, err)
			}
			if err := VerifyWithTerraform(context.Background(), "", out, tt.mode, len(before.Entries)); err != nil {
				t.Fatalf("terraform rejects the edited file: %v", err)
			}
		})
	}
}

// onlyValuesEdited checks that every line of src is still in out, in
// order, except lines whose only change is a replaced value or an appended
// attribute: each removed line must be matched by an added line that
// starts with the same text up to its "=".
func onlyValuesEdited(src, out []byte) error {
	a, b := strings.SplitAfter(string(src), "\n"), strings.SplitAfter(string(out), "\n")
	j := 0
	for _, line := range a {
		for j < len(b) && b[j] != line {
			cut := strings.IndexAny(line, "=:")
			if cut > 0 && strings.HasPrefix(b[j], line[:cut+1]) {
				break
			}
			if strings.TrimSpace(b[j]) == "" || !strings.Contains(b[j], "retired") && !strings.Contains(b[j], "access_level") {
				return errors.New("a line other than an edited attribute changed: " + strings.TrimSpace(b[j]))
			}
			j++
		}
		if j == len(b) {
			return errors.New("line lost: " + strings.TrimSpace(line))
		}
		j++
	}
	return nil
}

func TestUpdateRefusals(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "update", "standalone_grants.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		changes []Change
		want    string
	}{
		{"owner demoted", []Change{{Key: "orders", AccessLevel: AccessReader}}, "standalone_grants.tfvars:7: conflicting application_databases entry: orders is the owner entry of database orders: its role owns the database, so its level stays owner"},
		{"nobody becomes owner", []Change{{Key: "orders_bi", AccessLevel: AccessOwner}}, `orders_bi: access_level "owner": want editor or reader`},
		{"unknown key", []Change{{Key: "nope", Retire: true}}, `no application_databases entry has the key "nope"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := Update("standalone_grants.tfvars", src, ModeStandalone, tt.changes)
			if err == nil || !strings.Contains(err.Error(), tt.want) || changed || out != nil {
				t.Fatalf("Update = %v, %v, want %q", changed, err, tt.want)
			}
		})
	}
}

// TestInsertGrant adds an editor or reader entry beside a database's
// owner: written with access_level, and refused where it cannot stand.
func TestInsertGrant(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "update", "standalone_grants.tfvars"))
	if err != nil {
		t.Fatal(err)
	}
	grant := NewEntry{Key: "orders_ml", DatabaseName: "orders", Username: "orders_ml", AccessLevel: AccessReader}
	out, changed, err := Insert("standalone_grants.tfvars", src, ModeStandalone, grant)
	if err != nil || !changed {
		t.Fatalf("Insert = %v, %v", changed, err)
	}
	want := "  orders_ml = {\n    database_name = \"orders\"\n    username      = \"orders_ml\"\n    access_level  = \"reader\"\n  }\n}\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("inserted entry is not\n%s\nfile:\n%s", want, out)
	}
	if err := onlyInserted(src, out); err != nil {
		t.Error(err)
	}
	if again, changed, err := Insert("standalone_grants.tfvars", out, ModeStandalone, grant); err != nil || changed || string(again) != string(out) {
		t.Errorf("second insert: changed=%v err=%v", changed, err)
	}
	if err := VerifyWithTerraform(context.Background(), "", out, ModeStandalone, 7); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		e    NewEntry
		want string
	}{
		{"same role, other level", NewEntry{Key: "orders_bi", DatabaseName: "orders", Username: "orders_bi", AccessLevel: AccessReader}, "orders_bi has access_level editor, the new entry reader"},
		{"no owner entry", NewEntry{Key: "x_ro", DatabaseName: "billing", Username: "x_ro", AccessLevel: AccessReader}, `no owner entry lists database "billing"`},
		{"second owner", NewEntry{Key: "orders2", DatabaseName: "orders", Username: "orders2_user"}, `orders = { database_name = "orders", username = "orders_user" } conflicts with orders2`},
		{"username of another entry", NewEntry{Key: "kc_ro", DatabaseName: "orders", Username: "keycloak_user", AccessLevel: AccessReader}, "conflicts with kc_ro"},
		{"template on a grant", NewEntry{Key: "t_ro", DatabaseName: "orders", Username: "t_ro", AccessLevel: AccessReader, InitialSchema: "basic-app"}, "needs access_level owner"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Insert("standalone_grants.tfvars", src, ModeStandalone, tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	retired, _, err := Update("standalone_grants.tfvars", src, ModeStandalone, []Change{{Key: "orders_bi", Retire: true}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Insert("standalone_grants.tfvars", retired, ModeStandalone, NewEntry{Key: "orders_bi", DatabaseName: "orders", Username: "orders_bi", AccessLevel: AccessEditor})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "is retired") {
		t.Errorf("a retired entry granted again: %v", err)
	}
}

// BenchmarkUpdate1000 changes one grant's level and retires another in a
// file of 1,000 owner entries and 1,000 reader grants: parse, splice,
// parse again and compare, as a day-2 request does per tfvars file.
func BenchmarkUpdate1000(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("aws_region = \"eu-west-2\"\n\napplication_databases = {\n")
	for i := range 1000 {
		fmt.Fprintf(&sb, "  app_%04d = {\n    database_name = \"app_%04d\"\n    username      = \"app_%04d_user\"\n  }\n", i, i, i)
		fmt.Fprintf(&sb, "  app_%04d_ro = {\n    database_name = \"app_%04d\"\n    username      = \"app_%04d_ro\"\n    access_level  = \"reader\"\n  }\n", i, i, i)
	}
	sb.WriteString("}\n")
	src := []byte(sb.String())
	changes := []Change{{Key: "app_0500_ro", AccessLevel: AccessEditor}, {Key: "app_0999_ro", Retire: true}}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, changed, err := Update("terraform.tfvars", src, ModeStandalone, changes); err != nil || !changed {
			b.Fatal(changed, err)
		}
	}
}
