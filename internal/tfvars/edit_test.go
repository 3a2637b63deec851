package tfvars

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/edit")

var inventory = NewEntry{Key: "inventory_service", DatabaseName: "inventory_service", Username: "inventory_user"}

// big is a standalone file with 1,000 entries.
func big() []byte {
	var b strings.Builder
	b.WriteString("aws_region = \"eu-west-2\"\n\napplication_databases = {\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  app_%04d = {\n    database_name = \"app_%04d\"\n    username      = \"app_%04d_user\"\n  }\n", i, i, i)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func unified(name string, a, b []byte) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "a/" + name, ToFile: "b/" + name, Context: 3,
	})
	if err != nil {
		panic(err)
	}
	return d
}

// TestInsertGolden inserts the same entry into each input under
// testdata/edit, compares the unified diff with <input>.diff, checks that
// a second insert changes nothing, and makes the real terraform CLI parse
// and type-check the result.
func TestInsertGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/edit/*.tfvars")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"standalone_1000": big()}
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		cases[strings.TrimSuffix(filepath.Base(in), ".tfvars")] = src
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			mode := ModeStandalone
			if strings.HasPrefix(name, "coupled") {
				mode = ModeCoupled
			}
			before, err := Parse(name, src, mode)
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Insert(name+".tfvars", src, mode, inventory)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Fatal("changed = false on first insert")
			}
			if err := onlyInserted(src, out); err != nil {
				t.Fatal(err)
			}
			diff := unified(name+".tfvars", src, out)
			golden := filepath.Join("testdata", "edit", name+".diff")
			if *update {
				if err := os.WriteFile(golden, []byte(diff), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff != string(want) {
				t.Errorf("diff differs from %s (run go test -update and review):\n%s", golden, diff)
			}
			again, changed, err := Insert(name+".tfvars", out, mode, inventory)
			if err != nil || changed || string(again) != string(out) {
				t.Errorf("second insert: changed=%v err=%v", changed, err)
			}
			if err := VerifyWithTerraform(context.Background(), "", out, mode, len(before.Entries)+1); err != nil {
				t.Fatalf("terraform rejects the edited file: %v", err)
			}
		})
	}
}

// onlyInserted checks Insert's promise that every byte of the file stays as
// it was: out is src with one run of new text spliced in, where the only
// bytes allowed to go are the blanks before a brace that moves to a line of
// its own (`{ }` becoming a multi-line map).
func onlyInserted(src, out []byte) error {
	p := 0
	for p < len(src) && p < len(out) && src[p] == out[p] {
		p++
	}
	s := 0
	for s < len(src)-p && s < len(out)-p && src[len(src)-1-s] == out[len(out)-1-s] {
		s++
	}
	if removed := src[p : len(src)-s]; len(strings.Trim(string(removed), " \t")) > 0 {
		return fmt.Errorf("existing bytes changed at offset %d: %q replaced by %q", p, removed, out[p:len(out)-s])
	}
	return nil
}

func TestOnlyInserted(t *testing.T) {
	tests := []struct {
		name, src, out string
		ok             bool
	}{
		{"insertion", "a = {\n}\n", "a = {\n  b = 1\n}\n", true},
		{"append", "x = 1\n", "x = 1\n\ny = 2\n", true},
		{"blanks before a moved brace", "a = { }\n", "a = {\n  b = 1\n}\n", true},
		{"comment dropped", "# keep\na = {\n}\n", "a = {\n  b = 1\n}\n", false},
		{"value rewritten", "x = \"a\"\n", "x = \"b\"\n", false},
		{"line ending changed", "x = 1\r\n", "x = 1\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := onlyInserted([]byte(tc.src), []byte(tc.out)); (err == nil) != tc.ok {
				t.Errorf("onlyInserted(%q, %q) = %v, want ok %v", tc.src, tc.out, err, tc.ok)
			}
		})
	}
}

// TestInsertOnlyAdds checks that when the map closes on its own line the
// edit adds lines and changes none.
func TestInsertOnlyAdds(t *testing.T) {
	for _, name := range []string{"standalone_spec", "standalone_quoted_keys", "standalone_trailing_commas", "standalone_tabs_crlf", "coupled_spec", "coupled_missing", "coupled_empty_map"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "edit", name+".tfvars"))
			if err != nil {
				t.Fatal(err)
			}
			mode := ModeStandalone
			if strings.HasPrefix(name, "coupled") {
				mode = ModeCoupled
			}
			out, _, err := Insert(name, src, mode, inventory)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(unified(name, src, out), "\n") {
				if strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "---") {
					t.Errorf("removed line %q", line)
				}
			}
		})
	}
}

func TestInsertConflicts(t *testing.T) {
	src := []byte("application_databases = {\n  keycloak = { database_name = \"keycloak\", username = \"keycloak_user\" }\n}\n")
	tests := []struct {
		name    string
		entry   NewEntry
		changed bool
		err     error
	}{
		{"same entry", NewEntry{Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user"}, false, nil},
		{"same database under another key", NewEntry{Key: "kc", DatabaseName: "keycloak", Username: "keycloak_user"}, false, nil},
		{"same key, other user", NewEntry{Key: "keycloak", DatabaseName: "keycloak", Username: "other_user"}, false, ErrConflict},
		{"same database, other user", NewEntry{Key: "kc", DatabaseName: "keycloak", Username: "other_user"}, false, ErrConflict},
		{"same user, other database", NewEntry{Key: "other", DatabaseName: "other", Username: "keycloak_user"}, false, ErrConflict},
		{"new", NewEntry{Key: "other", DatabaseName: "other", Username: "other_user"}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := Insert("t.tfvars", src, ModeStandalone, tc.entry)
			if !errors.Is(err, tc.err) || changed != tc.changed {
				t.Errorf("Insert = changed %v, err %v; want %v, %v", changed, err, tc.changed, tc.err)
			}
			// A no-op returns the file as it was; a refusal returns nothing.
			switch {
			case err == nil && !changed && string(out) != string(src):
				t.Errorf("unchanged Insert returned other bytes:\n%s", out)
			case err != nil && out != nil:
				t.Errorf("failed Insert returned bytes:\n%s", out)
			}
		})
	}
}

// TestInsertRefusesWhatItCannotEdit: files whose map is not a literal, or
// whose layout does not match the mode, are refused with an error naming
// the file, never edited.
func TestInsertRefusesWhatItCannotEdit(t *testing.T) {
	tests := []struct {
		name string
		src  string
		mode Mode
	}{
		{"non-literal map", "application_databases = merge({}, {})\n", ModeStandalone},
		{"coupled without rds_config", "aws_region = \"x\"\n", ModeCoupled},
		{"unknown mode", "application_databases = {}\n", Mode("auto")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := Insert("t.tfvars", []byte(tc.src), tc.mode, inventory)
			if err == nil || changed || out != nil {
				t.Fatalf("Insert = %q, changed %v, err %v; want a refusal", out, changed, err)
			}
			if !strings.Contains(err.Error(), "t.tfvars") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// FuzzInsert feeds arbitrary files and entries to Insert: it must never
// panic, and whatever it returns must parse with exactly one more entry
// whose values are the ones given (nothing escapes its string).
func FuzzInsert(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/edit/*.tfvars")
	for i, p := range seeds {
		if i%3 != 0 { // keep the seed corpus small
			continue
		}
		src, _ := os.ReadFile(p)
		f.Add(src, strings.HasPrefix(filepath.Base(p), "coupled"), "inventory", "inventory_user")
	}
	f.Add([]byte("application_databases = {}\n"), false, "a\"b", "${x}\n#")
	f.Fuzz(func(t *testing.T, src []byte, coupled bool, db, user string) {
		mode := ModeStandalone
		if coupled {
			mode = ModeCoupled
		}
		e := NewEntry{Key: db, DatabaseName: db, Username: user}
		before, err := Parse("f.tfvars", src, mode)
		out, changed, ierr := Insert("f.tfvars", src, mode, e)
		if err != nil || ierr != nil || !changed {
			return
		}
		after, err := Parse("f.tfvars", out, mode)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%s", err, out)
		}
		if len(after.Entries) != len(before.Entries)+1 {
			t.Fatalf("entries %d -> %d", len(before.Entries), len(after.Entries))
		}
		last := after.Entries[len(after.Entries)-1]
		if last.Key != db || last.DatabaseName != db || last.Username != user {
			t.Fatalf("inserted %+v, want %q/%q", last, db, user)
		}
		if err := onlyInserted(src, out); err != nil {
			t.Fatal(err)
		}
	})
}
