package catalog

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var now = time.Date(2026, 1, 20, 14, 30, 0, 0, time.UTC)

func inventory(env string) Entry {
	return Entry{
		Name: "inventory_service", Owner: "app-team", RequestedBy: "daniel-deans", Domain: "catalog",
		Risk: "medium", Username: "inventory_user", SizeTier: "small", InstanceClass: "db.t3.micro",
		SecretPath: "goldenpath/" + env + "/inventory_service/postgres",
	}
}

func unified(a, b []byte) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "a", ToFile: "b", Context: 2,
	})
	return d
}

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

func TestUpsertGolden(t *testing.T) {
	tests := []struct {
		name     string
		input    string // file under testdata; empty: no file yet
		env      string
		edit     func(*Entry)
		onlyAdds bool
	}{
		{"sample", "sample.yaml", "dev", nil, true},
		{"comments", "comments.yaml", "dev", nil, true},
		{"empty", "empty.yaml", "dev", nil, false},
		{"new_prod_file", "", "prod", nil, false},
		{"update_owner", "sample.yaml", "dev", func(e *Entry) {
			*e = Entry{Name: "keycloak", Owner: "security-team", RequestedBy: "platform-bot", Domain: "identity", Risk: "high",
				Username: "keycloak_user", SizeTier: "small", InstanceClass: "db.t3.micro", SecretPath: "goldenpath/dev/keycloak/postgres"}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var src []byte
			if tc.input != "" {
				var err error
				if src, err = os.ReadFile(filepath.Join("testdata", tc.input)); err != nil {
					t.Fatal(err)
				}
			}
			e := inventory(tc.env)
			if tc.edit != nil {
				tc.edit(&e)
			}
			out, changed, err := Upsert(src, tc.env, e, now)
			if err != nil || !changed {
				t.Fatalf("Upsert: changed %v, err %v", changed, err)
			}
			diff := unified(src, out)
			golden(t, tc.name+".diff", diff)
			if tc.onlyAdds {
				for _, l := range strings.Split(diff, "\n") {
					if strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "-last_updated:") {
						t.Errorf("changed line %q", l)
					}
				}
			}
			again, changed, err := Upsert(out, tc.env, e, now.Add(24*time.Hour))
			if err != nil || changed || string(again) != string(out) {
				t.Errorf("second Upsert changed the file (err %v)", err)
			}
			entries, err := Entries(out)
			if err != nil {
				t.Fatal(err)
			}
			got := entries[len(entries)-1]
			if tc.edit != nil {
				got = entries[0]
			}
			if got.Username != e.Username || got.Environment != tc.env || got.Owner != e.Owner || got.SecretPath != e.SecretPath {
				t.Errorf("entry read back: %+v", got)
			}
		})
	}
}

func TestUpsertNewEntryFields(t *testing.T) {
	out, _, err := Upsert(nil, "staging", inventory("staging"), now)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Entries(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{
		Name: "inventory_service", ID: "DATABASE_INVENTORY_SERVICE", Owner: "app-team", RequestedBy: "daniel-deans",
		Domain: "catalog", Risk: "medium", Environment: "staging", Status: "pending", CreatedDate: "2026-01-20",
		Username: "inventory_user", SizeTier: "small", InstanceClass: "db.t3.micro", SecretPath: "goldenpath/staging/inventory_service/postgres",
	}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), "rds_instance: goldenpath-platform-db-staging\n") || !strings.Contains(string(out), `created_date: "2026-01-20"`) {
		t.Errorf("header or date:\n%s", out)
	}
}

func TestUpsertRefusesOtherEnvironment(t *testing.T) {
	dev, err := os.ReadFile(filepath.Join("testdata", "sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The dev file is never prod's catalog.
	if _, _, err := Upsert(dev, "prod", inventory("prod"), now); !errors.Is(err, ErrOtherEnvironment) {
		t.Errorf("prod request on the dev file: %v", err)
	}
	// An entry that says it is for another environment is not overwritten,
	// even in a file without a header.
	noHeader := []byte("databases:\n  keycloak:\n    metadata:\n      environment: prod\n    configuration:\n      username: keycloak_user\n")
	e := inventory("dev")
	e.Name, e.Username = "keycloak", "keycloak_user"
	if _, _, err := Upsert(noHeader, "dev", e, now); !errors.Is(err, ErrOtherEnvironment) {
		t.Errorf("entry of prod: %v", err)
	}
	e.Username = "other_user"
	if _, _, err := Upsert(dev, "dev", e, now); !errors.Is(err, ErrConflict) {
		t.Errorf("other username: %v", err)
	}
	if Path("dev") == Path("prod") {
		t.Error("dev and prod share a catalog file")
	}
}

func TestPath(t *testing.T) {
	for env, want := range map[string]string{
		"dev":  "docs/20-contracts/resource-catalogs/rds-catalog.yaml",
		"prod": "docs/20-contracts/resource-catalogs/rds-catalog-prod.yaml",
	} {
		if got := Path(env); got != want {
			t.Errorf("Path(%q) = %q, want %q", env, got, want)
		}
	}
}

// FuzzUpsert: arbitrary values never break the file or leave their field.
func FuzzUpsert(f *testing.F) {
	f.Add("inventory", "app-team", "a: b\n#c")
	f.Add("x", "\"'{}[]", "${x}|>")
	src, _ := os.ReadFile(filepath.Join("testdata", "comments.yaml"))
	f.Fuzz(func(t *testing.T, name, owner, user string) {
		e := inventory("dev")
		e.Name, e.Owner, e.RequestedBy = name, owner, user
		out, _, err := Upsert(src, "dev", e, now)
		if err != nil {
			return
		}
		entries, err := Entries(out)
		if err != nil {
			t.Fatalf("edited catalog does not parse: %v\n%s", err, out)
		}
		for _, got := range entries {
			if got.Name == strings.TrimSpace(name) {
				if got.Owner != owner || got.RequestedBy != user {
					t.Fatalf("values changed: %q/%q -> %q/%q", owner, user, got.Owner, got.RequestedBy)
				}
				return
			}
		}
		t.Fatalf("entry %q not found", name)
	})
}
