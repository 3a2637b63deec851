package changes

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const prodTfvars = "envs/prod-rds/terraform.tfvars"

// prod declares two instances; dev and test (testdata/infra) none.
const prodInstances = `rds_instances = {
  shared-small-1 = { tier = "small", max_databases = 80 }
  shared-large-1 = { tier = "large", max_databases = 10 }
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
}
`

const prodCatalog = "docs/20-contracts/resource-catalogs/rds-catalog-prod.yaml"

const prodCatalogSrc = `version: "1.0"
rds_instance: goldenpath-platform-db-prod
databases:
  keycloak:
    metadata:
      environment: prod
      status: active
    configuration:
      username: keycloak_user
`

func (r *repo) instances(before, after string) ([]EnvInstance, error) {
	return Instances(context.Background(), Options{RepoRoot: r.dir, Before: before, After: after})
}

// TestInstances: which instances of an environment changed, by content;
// the environments list stays as it was, and dir mode agrees.
func TestInstances(t *testing.T) {
	r := newRepo(t)
	r.edit(prodTfvars, "", prodInstances)
	base := r.edit(prodCatalog, "", prodCatalogSrc)
	devEntry := r.edit(devTfvars, "  backstage = {\n    database_name = \"backstage\"\n    username      = \"backstage_user\"\n  }\n", newStandaloneEntry)
	largeEntry := r.edit(prodTfvars, "application_databases = {\n", "application_databases = {\n  orders = {\n    database_name = \"orders\"\n    username      = \"orders_user\"\n    instance      = \"shared-large-1\"\n  }\n")
	limits := r.edit(prodTfvars, `shared-large-1 = { tier = "large", max_databases = 10 }`, `shared-large-1 = { tier = "xlarge", max_databases = 12 }`)
	secret := r.edit(prodTfvars, `shared-small-1 = { tier = "small", max_databases = 80 }`, `shared-small-1 = { tier = "small", max_databases = 80, master_secret = "goldenpath/prod/rds/small/master" }`)
	catalogOfEntry := r.edit(prodCatalog, "      username: keycloak_user\n", "      username: keycloak_user\n      size_tier: small\n")
	moved := r.edit(prodTfvars, "    username      = \"ledger_user\"\n    instance      = \"shared-large-1\"", "    username      = \"ledger_user\"\n    instance      = \"shared-small-1\"")
	broken := r.edit(prodTfvars, `    instance      = "shared-small-1"`, `    instance      = shared-small-1`)
	fixed := r.edit(prodTfvars, `    instance      = shared-small-1`, `    instance      = "shared-small-1"`)
	third := r.edit(prodTfvars, `  shared-large-1 = {`, `  shared-large-2 = { tier = "large", max_databases = 10 }
  shared-large-1 = {`)
	orders := "  orders = {\n    database_name = \"orders\"\n    username      = \"orders_user\"\n    instance      = \"shared-large-1\"\n  }\n"
	r.edit(prodTfvars, orders, "")
	reordered := r.edit(prodTfvars, "  }\n}\n", "  }\n"+orders+"}\n") // orders, first, moves to the end
	orphan := r.edit(prodCatalog, "", "  wiki:\n    metadata:\n      environment: prod\n    configuration:\n      username: wiki_user\n")

	for _, tt := range []struct {
		name          string
		before, after string
		want          []EnvInstance
		envs          []string
	}{
		{"an environment without rds_instances is one pair, instance empty", base, devEntry,
			[]EnvInstance{{"dev", ""}}, []string{"dev"}},
		{"a new entry on an instance names that instance", devEntry, largeEntry,
			[]EnvInstance{{"prod", "shared-large-1"}}, []string{"prod"}},
		{"tier and max_databases are placement's: nothing", largeEntry, limits, nil, nil},
		{"a master secret names its instance", limits, secret,
			[]EnvInstance{{"prod", "shared-small-1"}}, []string{"prod"}},
		{"a catalog entry names the instance of its database", secret, catalogOfEntry,
			[]EnvInstance{{"prod", "shared-small-1"}}, []string{"prod"}},
		{"a database moved names both instances", catalogOfEntry, moved,
			[]EnvInstance{{"prod", "shared-large-1"}, {"prod", "shared-small-1"}}, []string{"prod"}},
		{"a file that stops parsing names every instance", moved, broken,
			[]EnvInstance{{"prod", "shared-large-1"}, {"prod", "shared-small-1"}}, []string{"prod"}},
		{"broken and fixed again: nothing", moved, fixed, nil, nil},
		{"a new instance without entries names nothing for provision but itself", fixed, third,
			[]EnvInstance{{"prod", "shared-large-2"}}, []string{"prod"}},
		{"entries reordered across instances: every instance", third, reordered,
			[]EnvInstance{{"prod", "shared-large-1"}, {"prod", "shared-large-2"}, {"prod", "shared-small-1"}}, []string{"prod"}},
		{"a catalog entry of no instance: every instance", reordered, orphan,
			[]EnvInstance{{"prod", "shared-large-1"}, {"prod", "shared-large-2"}, {"prod", "shared-small-1"}}, []string{"prod"}},
		{"a range over both environments", base, largeEntry,
			[]EnvInstance{{"dev", ""}, {"prod", "shared-large-1"}}, []string{"dev", "prod"}},
		{"nothing before: every instance", ZeroRev, base,
			[]EnvInstance{{"dev", ""}, {"prod", "shared-large-1"}, {"prod", "shared-small-1"}, {"test", ""}}, []string{"dev", "prod", "test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.instances(tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
			envs, err := r.changed(tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.envs, envs); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
			dirs, err := Instances(context.Background(), Options{BeforeDir: r.tree(tt.before), AfterDir: r.tree(tt.after)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, dirs); diff != "" {
				t.Errorf("dir mode disagrees with git mode (-git +dirs):\n%s", diff)
			}
		})
	}
}

// Declaring instances in an environment that had one implicit instance
// names every declared instance: the entries moved off the implicit one.
func TestInstancesDeclared(t *testing.T) {
	r := newRepo(t)
	base := r.git("rev-parse", "HEAD")
	declared := r.edit(devTfvars, "application_databases = {", `rds_instances = {
  dev-1 = { tier = "small", max_databases = 80, master_secret = "goldenpath/dev/rds/master" }
  dev-2 = { tier = "small", max_databases = 80 }
}

application_databases = {`)
	got, err := r.instances(base, declared)
	if err != nil {
		t.Fatal(err)
	}
	// With two instances the entries without instance are refused: the
	// file does not parse, no side has instances to name, and the pair is
	// the environment as a whole (instance empty).
	if diff := cmp.Diff([]EnvInstance{{"dev", ""}}, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	one := r.edit(devTfvars, "  dev-2 = { tier = \"small\", max_databases = 80 }\n", "")
	got, err = r.instances(base, one)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]EnvInstance{{"dev", "dev-1"}}, got); diff != "" {
		t.Errorf("one instance declared (-want +got):\n%s", diff)
	}
}
