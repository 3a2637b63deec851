package tfvars

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tests of rds_instances and an entry's instance: read, validated,
// grouped for provision, written by Insert and kept by Update.

const twoInstances = `aws_region      = "eu-west-2"
master_username = "platform_admin"

rds_instances = {
  shared-small-1 = { tier = "small", max_databases = 80 }
  # the large tenants
  "shared-large-1" = {
    tier          = "large"
    max_databases = 10
    master_secret = "goldenpath/prod/rds/large-one/master"
    rds_endpoint  = "large-1.example.internal"
    rds_port      = 5433
    identifier    = "goldenpath-prod-large-1"
  }
}

application_databases = {
  keycloak = {
    database_name = "keycloak"
    username      = "keycloak_user"
    instance      = "shared-small-1"
  }
  ledger = {
    database_name = "ledger"
    username      = "ledger_user"
    instance      = "shared-large-1"
  }
  ledger_bi = {
    database_name = "ledger"
    username      = "ledger_bi"
    access_level  = "reader"
    instance      = "shared-large-1"
  }
  old_ledger = {
    database_name = "old_ledger"
    username      = "old_ledger_user"
    instance      = "shared-large-1"
    retired       = true
  }
}
`

func TestParseInstances(t *testing.T) {
	f, err := Parse("prod.tfvars", []byte(twoInstances), ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	small := Instance{Name: "shared-small-1", Tier: "small", MaxDatabases: 80, Line: 5}
	large := Instance{Name: "shared-large-1", Tier: "large", MaxDatabases: 10, MasterSecret: "goldenpath/prod/rds/large-one/master",
		Endpoint: "large-1.example.internal", Port: 5433, Identifier: "goldenpath-prod-large-1", Line: 7}
	if diff := cmp.Diff([]Instance{small, large}, f.Instances()); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"shared-large-1", "shared-small-1"}, f.InstanceNames()); diff != "" {
		t.Errorf("InstanceNames (-want +got):\n%s", diff)
	}
	keys := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Key+"@"+e.Instance)
		}
		return out
	}
	if diff := cmp.Diff([]string{"ledger@shared-large-1", "ledger_bi@shared-large-1", "old_ledger@shared-large-1"}, keys(f.EntriesOn("shared-large-1"))); diff != "" {
		t.Errorf("EntriesOn(shared-large-1) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"keycloak@shared-small-1"}, keys(f.EntriesOn("shared-small-1"))); diff != "" {
		t.Errorf("EntriesOn(shared-small-1) (-want +got):\n%s", diff)
	}
	// Owner entries count, a retired database too; a reader entry does not.
	if got := [2]int{f.Databases("shared-small-1"), f.Databases("shared-large-1")}; got != [2]int{1, 2} {
		t.Errorf("Databases = %v, want [1 2]", got)
	}
	for _, tc := range []struct {
		inst Instance
		want string
	}{
		{small, "goldenpath/prod/rds/shared-small-1/master"},
		{large, "goldenpath/prod/rds/large-one/master"},
		{Instance{}, "goldenpath/prod/rds/master"},
	} {
		if got := tc.inst.MasterSecretPath("goldenpath", "prod"); got != tc.want {
			t.Errorf("%q.MasterSecretPath = %s, want %s", tc.inst.Name, got, tc.want)
		}
	}
	if _, ok := f.Instance(""); ok {
		t.Error(`Instance("") found in a file that declares instances`)
	}
	if got, ok := f.Instance("shared-large-1"); !ok || got != large {
		t.Errorf("Instance(shared-large-1) = %+v, %v", got, ok)
	}
}

// A file without rds_instances is one implicit instance: every entry on
// it, the file's endpoint, the environment's master secret.
func TestParseImplicitInstance(t *testing.T) {
	src := `rds_endpoint = "db.example.internal"
rds_port = 5432
identifier = "goldenpath-platform-db-dev"
application_databases = {
  a = { database_name = "a_db", username = "a_user" }
  b = { database_name = "b_db", username = "b_user" }
}
`
	f, err := Parse("dev.tfvars", []byte(src), ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	want := []Instance{{Endpoint: "db.example.internal", Port: 5432, Identifier: "goldenpath-platform-db-dev"}}
	if diff := cmp.Diff(want, f.Instances()); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	if f.RDSInstances != nil || f.InstanceNames() != nil {
		t.Errorf("RDSInstances = %v, want none declared", f.RDSInstances)
	}
	if !f.Instances()[0].Implicit() || f.Instances()[0].MasterSecretPath("goldenpath", "dev") != "goldenpath/dev/rds/master" {
		t.Errorf("implicit instance: %+v", f.Instances()[0])
	}
	if got := len(f.EntriesOn("")); got != 2 || f.Databases("") != 2 {
		t.Errorf("EntriesOn(\"\") = %d entries, Databases = %d; want 2, 2", got, f.Databases(""))
	}
}

func TestParseInstancesLayouts(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // key@instance
	}{
		{"coupled, inside rds_config", `rds_config = {
  enabled = true
  rds_instances = {
    a-1 = { tier = "small", max_databases = 2 }
    b-1 = { tier = "large", max_databases = 1 }
  }
  application_databases = {
    app = { database_name = "app_db", username = "app_user", instance = "b-1" }
  }
}
`, []string{"app@b-1"}},
		{"the only instance takes entries without one", `rds_instances = { only-1 = { tier = "small", max_databases = 5 } }
application_databases = {
  app = { database_name = "app_db", username = "app_user" }
  two = { database_name = "two_db", username = "two_user", instance = "only-1" }
}
`, []string{"app@only-1", "two@only-1"}},
		{"null rds_instances is absent", `rds_instances = null
application_databases = {
  app = { database_name = "app_db", username = "app_user" }
}
`, []string{"app@"}},
		{"an RDS-managed master secret", `rds_instances = { a-1 = { tier = "small", max_databases = 1, master_secret = "rds!db-3f2a9c1e-1111", identifier = "goldenpath-prod-a-1" } }
application_databases = {}
`, nil},
		{"optional attributes null", `rds_instances = { a-1 = { tier = "small", max_databases = 1, master_secret = null, rds_port = null } }
application_databases = {}
`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.tfvars", []byte(tc.src), ModeAuto)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range f.Entries {
				got = append(got, e.Key+"@"+e.Instance)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseInstancesRefusals: every invalid map and entry is a file:line
// error naming the attribute and the fix.
func TestParseInstancesRefusals(t *testing.T) {
	entries := func(lines ...string) string {
		return "application_databases = {\n" + strings.Join(lines, "\n") + "\n}\n"
	}
	two := "rds_instances = {\n  a-1 = { tier = \"small\", max_databases = 2 }\n  b-1 = { tier = \"large\", max_databases = 1 }\n}\n"
	one := func(attrs string) string { return "rds_instances = {\n  a-1 = { " + attrs + " }\n}\n" }
	for _, tc := range []struct {
		name, src string
		mode      Mode
		line      int
		want      string
	}{
		{"not a map", "rds_instances = [\"a\"]\n", ModeStandalone, 1, `f.tfvars:1,17: rds_instances must be a map`},
		{"empty", "rds_instances = {}\n", ModeStandalone, 1, `rds_instances declares no instance: declare at least one`},
		{"upper-case name", "rds_instances = {\n  \"Big\" = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "Big": must be an RDS instance name`},
		{"underscore in name", "rds_instances = {\n  big_one = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "big_one"`},
		{"trailing hyphen", "rds_instances = {\n  big- = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "big-"`},
		{"double hyphen", "rds_instances = {\n  \"a--b\" = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "a--b"`},
		{"quote in name", "rds_instances = {\n  \"a\\\"b\" = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "a\"b"`},
		{"path in name", "rds_instances = {\n  \"../x\" = { tier = \"small\", max_databases = 1 }\n}\n", ModeStandalone, 2, `rds_instances key "../x"`},
		{"duplicate name", "rds_instances = {\n  a-1 = { tier = \"small\", max_databases = 1 }\n  \"a-1\" = { tier = \"large\", max_databases = 1 }\n}\n", ModeStandalone, 3, `duplicate rds_instances key "a-1" (first at line 2)`},
		{"not an object", "rds_instances = {\n  a-1 = \"small\"\n}\n", ModeStandalone, 2, `rds_instances.a-1 must be an object`},
		{"unknown attribute", one(`tier = "small", max_databases = 1, class = "db.t3.micro"`), ModeStandalone, 2, `rds_instances.a-1: unknown attribute "class" (want tier, max_databases, master_secret, rds_endpoint, rds_port, identifier)`},
		{"duplicate attribute", one(`tier = "small", tier = "large", max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1: duplicate attribute "tier"`},
		{"missing tier", one(`max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1: missing required attribute "tier" (e.g. tier = "small")`},
		{"null tier", one(`tier = null, max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1.tier must be a quoted string`},
		{"missing max_databases", one(`tier = "small"`), ModeStandalone, 2, `rds_instances.a-1: missing required attribute "max_databases" (e.g. max_databases = 80)`},
		{"tier not a string", one(`tier = 3, max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1.tier must be a quoted string`},
		{"tier with a space", one(`tier = "x large", max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1.tier is "x large": must be a size tier`},
		{"tier interpolated", one(`tier = "${var.t}", max_databases = 1`), ModeStandalone, 2, `rds_instances.a-1.tier must be a quoted string`},
		{"max_databases zero", one(`tier = "small", max_databases = 0`), ModeStandalone, 2, `rds_instances.a-1.max_databases must be a whole number from 1 to 100000, unquoted`},
		{"max_databases negative", one(`tier = "small", max_databases = -3`), ModeStandalone, 2, `rds_instances.a-1.max_databases must be a whole number`},
		{"max_databases fraction", one(`tier = "small", max_databases = 1.5`), ModeStandalone, 2, `rds_instances.a-1.max_databases must be a whole number`},
		{"max_databases quoted", one(`tier = "small", max_databases = "80"`), ModeStandalone, 2, `rds_instances.a-1.max_databases must be a whole number`},
		{"max_databases huge", one(`tier = "small", max_databases = 100001`), ModeStandalone, 2, `rds_instances.a-1.max_databases must be a whole number`},
		{"master_secret with a space", one(`tier = "small", max_databases = 1, master_secret = "a b"`), ModeStandalone, 2, `rds_instances.a-1.master_secret is "a b": must be a Secrets Manager name (1-512 characters of A-Z a-z 0-9 / _ + = . @ -), an RDS-managed secret's name (rds!db-...) or a secret ARN`},
		{"master_secret not a string", one(`tier = "small", max_databases = 1, master_secret = true`), ModeStandalone, 2, `rds_instances.a-1.master_secret must be a quoted string`},
		{"two instances, one master secret", "rds_instances = {\n  a-1 = { tier = \"small\", max_databases = 1, master_secret = \"m/s\" }\n  b-1 = { tier = \"large\", max_databases = 1, master_secret = \"m/s\" }\n}\n", ModeStandalone, 3,
			`rds_instances.b-1.master_secret is "m/s", as rds_instances.a-1's (line 2): each instance has its own master secret`},
		{"bad port", one(`tier = "small", max_databases = 1, rds_port = 70000`), ModeStandalone, 2, `rds_instances.a-1.rds_port must be a port number from 1 to 65535`},
		{"coupled file with top-level rds_instances", "rds_config = {\n  enabled = true\n}\n" + two, ModeCoupled, 4,
			`rds_instances is a top-level attribute, but in the coupled layout the instances belong inside rds_config`},
		{"entry names an undeclared instance", two + entries(`  app = { database_name = "app_db", username = "app_user", instance = "c-1" }`), ModeStandalone, 6,
			`application_databases.app.instance is "c-1", which rds_instances does not declare (it declares a-1, b-1)`},
		{"entry names an instance in a file without rds_instances", entries(`  app = { database_name = "app_db", username = "app_user", instance = "a-1" }`), ModeStandalone, 2,
			`application_databases.app.instance is "a-1", but the file declares no rds_instances`},
		{"entry without instance among two", two + entries(
			`  app = { database_name = "app_db", username = "app_user", instance = "a-1" }`,
			`  bare = { database_name = "bare_db", username = "bare_user" }`,
			`  bare2 = { database_name = "bare2_db", username = "bare2_user" }`), ModeStandalone, 7,
			`application_databases.bare names no instance, and rds_instances declares 2 (a-1, b-1): add instance = "..." to each of the 2 entries without one (bare, bare2)`},
		{"entry instance not a name", two + entries(`  app = { database_name = "app_db", username = "app_user", instance = "A 1" }`), ModeStandalone, 6,
			`application_databases.app.instance is "A 1": must be an RDS instance name`},
		{"entry instance not a string", two + entries(`  app = { database_name = "app_db", username = "app_user", instance = 1 }`), ModeStandalone, 6,
			`application_databases.app.instance must be a quoted string`},
		{"one database on two instances", two + entries(
			`  app = { database_name = "app_db", username = "app_user", instance = "a-1" }`,
			`  app2 = { database_name = "app_db", username = "app2_user", instance = "b-1" }`), ModeStandalone, 7,
			`application_databases.app2 puts database app_db on instance b-1, and application_databases.app (line 6) puts it on instance a-1: a database name is unique in an environment`},
		{"two owners on one instance", two + entries(
			`  app = { database_name = "app_db", username = "app_user", instance = "a-1" }`,
			`  app2 = { database_name = "app_db", username = "app2_user", instance = "a-1" }`), ModeStandalone, 7,
			`are both owner entries of database app_db`},
		{"reader on another instance than its database", two + entries(
			`  app = { database_name = "app_db", username = "app_user", instance = "a-1" }`,
			`  app_ro = { database_name = "app_db", username = "app_ro", access_level = "reader", instance = "b-1" }`), ModeStandalone, 7,
			`application_databases.app_ro: access_level reader on database app_db puts the role on instance b-1, but the database is on instance a-1 (application_databases.app, line 6): a role is given access on its database's instance; set instance = "a-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.tfvars", []byte(tc.src), tc.mode)
			var pos *Error
			if !errors.As(err, &pos) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %+v, %v\nwant a *Error containing %q", f, err, tc.want)
			}
			if pos.Line != tc.line || pos.File != "f.tfvars" || !strings.HasPrefix(err.Error(), "f.tfvars:") {
				t.Errorf("error at %s:%d, want f.tfvars:%d: %v", pos.File, pos.Line, tc.line, err)
			}
		})
	}
}

func TestCheckTiers(t *testing.T) {
	f, err := Parse("prod.tfvars", []byte(twoInstances), ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckTiers([]string{"small", "medium", "large", "xlarge"}); err != nil {
		t.Errorf("CheckTiers with every tier: %v", err)
	}
	err = f.CheckTiers([]string{"small", "medium"})
	var pos *Error
	if !errors.As(err, &pos) || pos.Line != 7 ||
		err.Error() != `prod.tfvars:7: rds_instances.shared-large-1.tier is "large": want one of the form's size tiers, small, medium (the enum override schemas/metadata/enums.yaml may list others)` {
		t.Errorf("CheckTiers without large = %v", err)
	}
	plain, err := Parse("dev.tfvars", []byte("application_databases = {}\n"), ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.CheckTiers(nil); err != nil {
		t.Errorf("the implicit instance has no tier to check: %v", err)
	}
}

// TestInsertInstance: a new entry names its instance, in the file's
// style; Terraform's module types accept the result in both layouts.
func TestInsertInstance(t *testing.T) {
	e := NewEntry{Key: "orders", DatabaseName: "orders", Username: "orders_user", Instance: "shared-large-1"}
	out, changed, err := Insert("t.tfvars", []byte(twoInstances), ModeStandalone, e)
	if err != nil || !changed {
		t.Fatalf("Insert = changed %v, %v", changed, err)
	}
	want := strings.TrimSuffix(twoInstances, "}\n") + `  orders = {
    database_name = "orders"
    username      = "orders_user"
    instance      = "shared-large-1"
  }
}
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("edited file (-want +got):\n%s", diff)
	}
	if err := VerifyWithTerraform(context.Background(), "", out, ModeStandalone, 5); err != nil {
		t.Errorf("terraform rejects the edited file: %v", err)
	}
	again, changed, err := Insert("t.tfvars", out, ModeStandalone, e)
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("re-insert: changed %v, %v", changed, err)
	}

	// A grant follows its database's instance.
	grant := NewEntry{Key: "orders_bi", DatabaseName: "orders", Username: "orders_bi", AccessLevel: AccessReader, Instance: "shared-large-1"}
	out2, _, err := Insert("t.tfvars", out, ModeStandalone, grant)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("t.tfvars", out2, ModeStandalone)
	if err != nil || f.Entries[5].Instance != "shared-large-1" || f.Entries[5].AccessLevel != AccessReader {
		t.Fatalf("read back: %v %+v", err, f)
	}

	coupled := "rds_config = {\n  enabled = true\n  rds_instances = {\n    a-1 = { tier = \"small\", max_databases = 2 }\n  }\n  application_databases = {\n    app = { database_name = \"app_db\", username = \"app_user\" }\n  }\n}\n"
	out3, _, err := Insert("t.tfvars", []byte(coupled), ModeCoupled, NewEntry{Key: "ledger", DatabaseName: "ledger", Username: "ledger_user", Instance: "a-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out3), `instance      = "a-1"`) {
		t.Errorf("coupled insert lacks the instance:\n%s", out3)
	}
	if err := VerifyWithTerraform(context.Background(), "", out3, ModeCoupled, 2); err != nil {
		t.Errorf("terraform rejects the edited coupled file: %v", err)
	}
}

// The module's types are real checks: a wrong type in rds_instances or
// an entry's instance fails terraform, not only the reader.
func TestVerifyWithTerraformChecksInstances(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"max_databases a list", "rds_instances = { a-1 = { tier = \"small\", max_databases = [1] } }\napplication_databases = {}\n"},
		{"no tier", "rds_instances = { a-1 = { max_databases = 1 } }\napplication_databases = {}\n"},
		{"instance an object", "application_databases = { a = { database_name = \"a_db\", username = \"a_user\", instance = { x = 1 } } }\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyWithTerraform(context.Background(), "", []byte(tc.src), ModeStandalone, 0); err == nil || !strings.Contains(err.Error(), "terraform plan") {
				t.Errorf("terraform accepted it: %v", err)
			}
		})
	}
}

func TestInsertInstanceRefusals(t *testing.T) {
	plain := []byte("application_databases = {\n  app = { database_name = \"app_db\", username = \"app_user\" }\n}\n")
	for _, tc := range []struct {
		name string
		src  []byte
		e    NewEntry
		want string
	}{
		{"no instance in a file that declares them", []byte(twoInstances), NewEntry{Key: "x_db", DatabaseName: "x_db", Username: "x_user"},
			"the file declares rds_instances (shared-large-1, shared-small-1): a new entry names its instance"},
		{"an instance in a file without rds_instances", plain, NewEntry{Key: "x_db", DatabaseName: "x_db", Username: "x_user", Instance: "a-1"},
			`instance "a-1": the file declares no rds_instances`},
		{"an undeclared instance", []byte(twoInstances), NewEntry{Key: "x_db", DatabaseName: "x_db", Username: "x_user", Instance: "c-1"},
			`instance "c-1" is not in rds_instances (shared-large-1, shared-small-1)`},
		{"the same entry on another instance", []byte(twoInstances), NewEntry{Key: "ledger", DatabaseName: "ledger", Username: "ledger_user", Instance: "shared-small-1"},
			"ledger is on instance shared-large-1, the new entry on shared-small-1; a database stays on its instance"},
		{"a grant on another instance than its database", []byte(twoInstances), NewEntry{Key: "ledger_ro", DatabaseName: "ledger", Username: "ledger_ro", AccessLevel: AccessReader, Instance: "shared-small-1"},
			`database "ledger" is on instance shared-large-1 (ledger, line 23), so its reader entry is too, not on shared-small-1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := Insert("t.tfvars", tc.src, ModeStandalone, tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) || out != nil || changed {
				t.Errorf("Insert = %q, %v, %v; want an error containing %q", out, changed, err, tc.want)
			}
		})
	}
}

// Update edits an entry in place and keeps every instance and entry's
// instance as it was.
func TestUpdateKeepsInstances(t *testing.T) {
	out, changed, err := Update("t.tfvars", []byte(twoInstances), ModeStandalone, []Change{{Key: "ledger_bi", Retire: true}})
	if err != nil || !changed {
		t.Fatalf("Update = %v, %v", changed, err)
	}
	before, _ := Parse("t.tfvars", []byte(twoInstances), ModeStandalone)
	after, err := Parse("t.tfvars", out, ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before.Instances(), after.Instances()); diff != "" {
		t.Errorf("instances changed (-before +after):\n%s", diff)
	}
	if e := after.Entries[2]; !e.Retired || e.Instance != "shared-large-1" {
		t.Errorf("retired entry: %+v", e)
	}
	if err := VerifyWithTerraform(context.Background(), "", out, ModeStandalone, 4); err != nil {
		t.Errorf("terraform rejects the updated file: %v", err)
	}
}

// Load's callers run one instance per environment: a file that declares
// instances is refused, naming them, so no entry runs on another
// instance's server; LoadInstances reads it for callers that run each.
func TestLoadRefusesSeveralInstances(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/terraform.tfvars"
	if err := os.WriteFile(path, []byte(twoInstances), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, ModeStandalone)
	if !errors.Is(err, ErrSeveralInstances) || f != nil || !strings.Contains(err.Error(), path+" declares shared-large-1, shared-small-1, and this command runs one instance per environment") {
		t.Errorf("Load = %v, %v; want ErrSeveralInstances", f, err)
	}
	if f, err := LoadInstances(path, ModeStandalone); err != nil || len(f.Instances()) != 2 {
		t.Errorf("LoadInstances = %v, %v", f, err)
	}
	plain := dir + "/plain.tfvars"
	if err := os.WriteFile(plain, []byte("application_databases = {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(plain, ModeStandalone); err != nil || len(f.Instances()) != 1 {
		t.Errorf("Load of a file without rds_instances = %v, %v", f, err)
	}
}
