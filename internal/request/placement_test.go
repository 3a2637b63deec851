package request

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The instances of prod: one small instance, two large ones of which
// shared-large-1 already holds the ledger (and its reader) and the
// retired archive, and the full xlarge one.
const instancesTfvars = `# prod RDS
aws_region      = "eu-west-2"
master_username = "platform_admin"

rds_instances = {
  shared-small-1 = { tier = "small", max_databases = 80 }
  shared-large-1 = { tier = "large", max_databases = 3 }
  shared-large-2 = { tier = "large", max_databases = 3, master_secret = "goldenpath/prod/rds/large-two/master" }
  dedicated-1    = { tier = "xlarge", max_databases = 1 }
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
  archive = {
    database_name = "archive"
    username      = "archive_user"
    instance      = "shared-large-1"
    retired       = true
  }
  search = {
    database_name = "search"
    username      = "search_user"
    instance      = "dedicated-1"
  }
}
`

const instancesCatalog = `version: "1.0"
last_updated: "2026-01-16"
rds_instance: goldenpath-platform-db-prod
databases:
  ledger:
    metadata:
      id: DATABASE_LEDGER
      owner: app-team
      requested_by: jane-doe
      domain: catalog
      risk: high
      environment: prod
      status: active
      created_date: "2026-01-10"
    configuration:
      username: ledger_user
      size_tier: large
      instance_class: db.t3.medium
      instance: shared-large-1
      secret_path: goldenpath/prod/ledger/postgres
`

const instancesPath = "envs/prod-rds/terraform.tfvars"

func instancesSnapshot(tfvarsSrc string) Snapshot {
	return Snapshot{instancesPath: []byte(tfvarsSrc), catalog.Path("prod"): []byte(instancesCatalog)}
}

func largeForm(name string) Form {
	f := validForm()
	f.DatabaseName, f.Username, f.Environment, f.Size, f.Risk = name, name+"_user", "prod", "large", "high"
	return f
}

// newInstancesFake seeds prod's tfvars src and catalog on development.
func newInstancesFake(t *testing.T, src string) (*ghtest.Server, *gh.Client) {
	t.Helper()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", map[string]string{instancesPath: src, catalog.Path("prod"): instancesCatalog})
	c, err := gh.New(gh.Options{BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository(), Sleep: func(time.Duration) {}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func instancesGolden(t *testing.T, name, got string) {
	t.Helper()
	goldenIn(t, "instances", name, got)
}

// TestPlacementLargeRequest: a large request lands on a large instance,
// the one with room and the fewest databases (shared-large-2, empty,
// before shared-large-1 with two), in the tfvars entry and the catalog
// entry; the pull request body says where and why; terraform accepts the
// file; and the choice is the same on a second run, and once merged, the
// database stays there.
func TestPlacementLargeRequest(t *testing.T) {
	srv, c := newInstancesFake(t, instancesTfvars)
	form := largeForm("orders")
	res := run(t, c, form)
	pl := res.Plan.Placement
	if pl == nil || pl.Instance != "shared-large-2" || pl.Existing || res.Plan.Instance != "shared-large-2" {
		t.Fatalf("placement %+v, plan instance %q", pl, res.Plan.Instance)
	}
	want := []Candidate{{Name: "shared-large-2", Tier: "large", Databases: 0, MaxDatabases: 3}, {Name: "shared-large-1", Tier: "large", Databases: 2, MaxDatabases: 3}}
	if diff := cmp.Diff(want, pl.Candidates); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	if got, want := pl.Summary(), "placed by size large: shared-large-2 holds 0 of 3 databases, the fewest with room; shared-large-1 2 of 3"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if res.Plan.MasterSecret != "goldenpath/prod/rds/large-two/master" || !res.Plan.HasInstances() {
		t.Errorf("master secret %q", res.Plan.MasterSecret)
	}
	instancesGolden(t, "create_large.diff", res.Diff)
	instancesGolden(t, "create_large.md", res.Body)

	files := srv.Files(res.Branch)
	tfSrc := []byte(files[instancesPath])
	tf, err := tfvars.Parse(instancesPath, tfSrc, tfvars.ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	if e := tf.Entries[len(tf.Entries)-1]; e.Key != "orders" || e.Instance != "shared-large-2" {
		t.Errorf("new entry %+v", e)
	}
	cat, err := catalog.Entries([]byte(files[catalog.Path("prod")]))
	if err != nil || len(cat) != 2 || cat[1].Instance != "shared-large-2" || cat[1].InstanceClass != "db.t3.medium" || cat[1].SizeTier != "large" {
		t.Fatalf("catalog: %v %+v", err, cat)
	}
	if err := tfvars.VerifyWithTerraform(context.Background(), "", tfSrc, tfvars.ModeStandalone, 6); err != nil {
		t.Errorf("terraform rejects the edited tfvars: %v", err)
	}

	// A second run on the same base: the same choice, the same pull
	// request, no new commit.
	head := srv.Branches()[res.Branch]
	again := run(t, c, form)
	if again.Plan.Placement.Instance != "shared-large-2" || again.PRNumber != res.PRNumber || srv.Branches()[res.Branch] != head || again.Body != res.Body {
		t.Errorf("second run placed on %s, PR %d, branch %s -> %s", again.Plan.Placement.Instance, again.PRNumber, head, srv.Branches()[res.Branch])
	}

	// Merged: the same request finds its entry on shared-large-2 and
	// keeps it there, with nothing to change.
	srv.MergePR(res.PRNumber)
	merged := run(t, c, form)
	if merged.Changed || merged.Plan.Placement.Instance != "shared-large-2" || !merged.Plan.Placement.Existing ||
		merged.Plan.Placement.Summary() != "already there: a database stays on its instance (size large)" {
		t.Errorf("after merge: changed %v, placement %+v", merged.Changed, merged.Plan.Placement)
	}
}

// TestPlacementRule: fewest databases first, ties by name, full ones
// skipped, a tier's instances only, the same result every time.
func TestPlacementRule(t *testing.T) {
	tied := strings.Replace(instancesTfvars, `    instance      = "shared-large-1"
    retired       = true`, `    instance      = "shared-large-2"
    retired       = true`, 1)
	for _, tc := range []struct {
		name, src, tier string
		want            string
	}{
		{"fewest databases", instancesTfvars, "large", "shared-large-2"},
		{"a tie goes to the first name", tied, "large", "shared-large-1"},
		{"small", instancesTfvars, "small", "shared-small-1"},
		{"a full instance is skipped", strings.Replace(instancesTfvars, `shared-large-2 = { tier = "large", max_databases = 3`, `shared-large-2 = { tier = "large", max_databases = 1`, 1) + "", "large", "shared-large-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := largeForm("orders")
			form.Size = tc.tier
			for range 3 {
				p, err := MakePlan(form, instancesSnapshot(tc.src), PlanSettings{Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				if p.Placement.Instance != tc.want {
					t.Fatalf("placed on %s, want %s (candidates %+v)", p.Placement.Instance, tc.want, p.Placement.Candidates)
				}
			}
		})
	}
	// shared-large-1 full (2 of 2) and shared-large-2 empty: large-2,
	// with shared-large-1 listed last as full.
	full := strings.Replace(instancesTfvars, `shared-large-1 = { tier = "large", max_databases = 3 }`, `shared-large-1 = { tier = "large", max_databases = 2 }`, 1)
	full = strings.Replace(full, `master_secret = "goldenpath/prod/rds/large-two/master" }`, `master_secret = "goldenpath/prod/rds/large-two/master" }
  aaa-large-0    = { tier = "large", max_databases = 1 }`, 1)
	full = strings.Replace(full, "  search = {", "  old = {\n    database_name = \"old\"\n    username      = \"old_user\"\n    instance      = \"aaa-large-0\"\n  }\n  search = {", 1)
	p, err := MakePlan(largeForm("orders"), instancesSnapshot(full), PlanSettings{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range p.Placement.Candidates {
		order = append(order, c.Name)
	}
	if diff := cmp.Diff([]string{"shared-large-2", "aaa-large-0", "shared-large-1"}, order); diff != "" || p.Placement.Instance != "shared-large-2" {
		t.Errorf("placed on %s; candidates (-want +got):\n%s", p.Placement.Instance, diff)
	}
}

// TestPlacementRefusals: no instance with room, or none of the tier, is a
// problem of the size field naming the tier and the remedy, reported with
// every other problem; nothing is written and no GitHub call but reads
// is made.
func TestPlacementRefusals(t *testing.T) {
	bothFull := strings.NewReplacer(`shared-large-1 = { tier = "large", max_databases = 3 }`, `shared-large-1 = { tier = "large", max_databases = 2 }`,
		`shared-large-2 = { tier = "large", max_databases = 3,`, `shared-large-2 = { tier = "large", max_databases = 1,`).Replace(instancesTfvars)
	bothFull = strings.Replace(bothFull, "  search = {", "  wiki = {\n    database_name = \"wiki\"\n    username      = \"wiki_user\"\n    instance      = \"shared-large-2\"\n  }\n  search = {", 1)
	for _, tc := range []struct {
		name string
		src  string
		form Form
		want []FieldError
	}{
		{"a full tier", instancesTfvars, func() Form { f := largeForm("orders"); f.Size = "xlarge"; return f }(), []FieldError{
			{Field: "size", Value: `"xlarge"`, Rule: "has no instance with room in envs/prod-rds/terraform.tfvars: every instance of tier xlarge is full (dedicated-1 holds 1 of 1); add an instance of tier xlarge to rds_instances, or raise max_databases of one"},
		}},
		{"every instance of the tier full", bothFull, largeForm("orders"), []FieldError{
			{Field: "size", Value: `"large"`, Rule: "has no instance with room in envs/prod-rds/terraform.tfvars: every instance of tier large is full (shared-large-2 holds 1 of 1, shared-large-1 holds 2 of 2); add an instance of tier large to rds_instances, or raise max_databases of one"},
		}},
		{"no instance of the tier", instancesTfvars, func() Form { f := largeForm("orders"); f.Size = "medium"; return f }(), []FieldError{
			{Field: "size", Value: `"medium"`, Rule: `has no instance in envs/prod-rds/terraform.tfvars: rds_instances declares none of tier medium (dedicated-1 is xlarge, shared-large-1 is large, shared-large-2 is large, shared-small-1 is small); add one (rds_instances = { NAME = { tier = "medium", max_databases = N } }), or request a size that has one`},
		}},
		{"an existing database of another tier", instancesTfvars, func() Form {
			f := largeForm("keycloak")
			f.Username = "keycloak_user"
			return f
		}(), []FieldError{
			{Field: "size", Value: `"large"`, Rule: `does not fit database "keycloak": it is on instance shared-small-1 (tier small) in envs/prod-rds/terraform.tfvars, and a database stays on its instance; request size small for it (moving it to another tier is a migration, not a request)`},
		}},
		{"with the other problems", instancesTfvars, func() Form { f := largeForm("orders"); f.Size = "xlarge"; f.Risk = "severe"; return f }(), []FieldError{
			{Field: "risk", Value: `"severe"`, Rule: "must be one of none, low, medium, high, access"},
			{Field: "size", Value: `"xlarge"`, Rule: "has no instance with room in envs/prod-rds/terraform.tfvars: every instance of tier xlarge is full (dedicated-1 holds 1 of 1); add an instance of tier xlarge to rds_instances, or raise max_databases of one"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newInstancesFake(t, tc.src)
			_, err := Run(context.Background(), Options{Form: tc.form, GitHub: c, Now: func() time.Time { return testNow }})
			refusedReadingOnly(t, srv, err, tc.want)
		})
	}
}

// A full tier refused with --local leaves the working tree as it was.
func TestPlacementRefusedLocally(t *testing.T) {
	dir := t.TempDir()
	for p, src := range map[string]string{instancesPath: instancesTfvars, catalog.Path("prod"): instancesCatalog} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	form := largeForm("orders")
	form.Size = "xlarge"
	_, err := Run(context.Background(), Options{Form: form, Local: true, RepoRoot: dir, Now: func() time.Time { return testNow }})
	if _, ok := IsValidation(err); !ok {
		t.Fatalf("err = %v, want problems", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(instancesPath)))
	cat, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(catalog.Path("prod"))))
	if string(got) != instancesTfvars || string(cat) != instancesCatalog {
		t.Errorf("files changed by a refused request")
	}
}

// TestPlacementDay2: a grant's entry follows its database's instance; a
// change of access and a retirement edit in place and keep it; each body
// names the instance and its master secret.
func TestPlacementDay2(t *testing.T) {
	grant := day2Form(TypeGrant, "ledger", "ledger_etl", "editor")
	grant.Owner, grant.Environment = "sre-team", "prod"
	change := day2Form(TypeChangeAccess, "ledger", "ledger_bi", "editor")
	change.Environment = "prod"
	retire := day2Form(TypeRetire, "ledger", "ledger_user", "")
	retire.Environment = "prod"
	for _, tc := range []struct {
		name    string
		form    Form
		entries int
	}{
		{"grant", grant, 6},
		{"change_access", change, 5},
		{"retire_database", retire, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := MakePlan(tc.form, instancesSnapshot(instancesTfvars), PlanSettings{Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if p.Instance != "shared-large-1" || p.MasterSecret != "goldenpath/prod/rds/shared-large-1/master" || p.Placement != nil {
				t.Errorf("instance %q, master secret %q, placement %+v", p.Instance, p.MasterSecret, p.Placement)
			}
			instancesGolden(t, tc.name+".diff", p.Diff())
			instancesGolden(t, tc.name+".md", p.Body)
			var tfSrc []byte
			for _, fc := range p.Files {
				if fc.Path == instancesPath {
					tfSrc = fc.New
				}
			}
			tf, err := tfvars.Parse(instancesPath, tfSrc, tfvars.ModeStandalone)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tf.Entries {
				if e.DatabaseName == "ledger" && e.Instance != "shared-large-1" {
					t.Errorf("entry %s on %s", e.Key, e.Instance)
				}
			}
			if err := tfvars.VerifyWithTerraform(context.Background(), "", tfSrc, tfvars.ModeStandalone, tc.entries); err != nil {
				t.Errorf("terraform rejects the edited tfvars: %v", err)
			}
		})
	}
}

// TestPlacementFiles: a tier outside the form's sizes stops the request
// (an enum override may add it); in coupled mode the standalone file,
// edited too, must declare the same instances, and both get the entry on
// the same instance.
func TestPlacementFiles(t *testing.T) {
	huge := strings.Replace(instancesTfvars, `dedicated-1    = { tier = "xlarge", max_databases = 1 }`, `dedicated-1    = { tier = "huge", max_databases = 1 }`, 1)
	_, err := MakePlan(largeForm("orders"), instancesSnapshot(huge), PlanSettings{Now: testNow})
	var pos *tfvars.Error
	if !errors.As(err, &pos) || pos.Line != 9 || !strings.Contains(err.Error(), `rds_instances.dedicated-1.tier is "huge": want one of the form's size tiers, small, medium, large, xlarge`) {
		t.Errorf("unknown tier: %v", err)
	}
	snap := instancesSnapshot(huge)
	snap[EnumsPath] = []byte("rds_size_tiers:\n  small: db.t3.micro\n  large: db.t3.medium\n  huge: db.r6g.4xlarge\n")
	if p, err := MakePlan(largeForm("orders"), snap, PlanSettings{Now: testNow}); err != nil || p.Placement.Instance != "shared-large-2" {
		t.Errorf("with the override's tier: %v", err)
	}

	coupled := "rds_config = {\n  enabled = true\n  rds_instances = {\n    a-1 = { tier = \"large\", max_databases = 5 }\n  }\n  application_databases = {}\n}\n"
	standalone := "rds_instances = {\n  a-1 = { tier = \"large\", max_databases = 5 }\n}\napplication_databases = {}\n"
	two := Snapshot{"envs/prod/terraform.tfvars": []byte(coupled), instancesPath: []byte(standalone)}
	p, err := MakePlan(largeForm("orders"), two, PlanSettings{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range p.Files[:2] {
		if !strings.Contains(string(fc.New), `instance      = "a-1"`) {
			t.Errorf("%s lacks the instance:\n%s", fc.Path, fc.New)
		}
	}
	two[instancesPath] = []byte("rds_instances = {\n  a-1 = { tier = \"large\", max_databases = 6 }\n}\napplication_databases = {}\n")
	_, err = MakePlan(largeForm("orders"), two, PlanSettings{Now: testNow})
	if err == nil || !strings.Contains(err.Error(), "envs/prod/terraform.tfvars and envs/prod-rds/terraform.tfvars declare different rds_instances (a-1 large max 5; a-1 large max 6)") {
		t.Errorf("different instances: %v", err)
	}
	two[instancesPath] = []byte("application_databases = {}\n")
	if _, err = MakePlan(largeForm("orders"), two, PlanSettings{Now: testNow}); err == nil || !strings.Contains(err.Error(), "(a-1 large max 5; none)") {
		t.Errorf("instances in one file only: %v", err)
	}
}

// Files without rds_instances behave as before: no placement, the
// environment's instance name, no instance written anywhere (the golden
// files of the other tests hold the rest byte for byte).
func TestNoInstancesAsBefore(t *testing.T) {
	snap := Snapshot{}
	for p, src := range infraFiles() {
		snap[p] = []byte(src)
	}
	for _, form := range []Form{validForm(), prodForm("ledger", "ledger_user")} {
		p, err := MakePlan(form, snap, PlanSettings{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if p.Placement != nil || p.HasInstances() || p.Instance != catalog.Instance(form.Environment) {
			t.Errorf("%s: placement %+v, instance %q", form.Environment, p.Placement, p.Instance)
		}
		for _, fc := range p.Files {
			if strings.Contains(string(fc.New), "instance      =") || strings.Contains(string(fc.New), "      instance:") {
				t.Errorf("%s names an instance:\n%s", fc.Path, fc.New)
			}
		}
		if strings.Contains(p.Body, "Placement") || strings.Contains(p.Body, "master secret") {
			t.Errorf("body speaks of instances:\n%s", p.Body)
		}
	}
}

// benchTfvars is a prod file of 1,000 owner entries, spread over 20
// instances (10 small, 10 large, of 100 databases each) when instances is
// true, else on the one implicit instance.
func benchTfvars(instances bool) string {
	var b strings.Builder
	if instances {
		b.WriteString("rds_instances = {\n")
		for i := range 20 {
			tier := "small"
			if i%2 == 1 {
				tier = "large"
			}
			fmt.Fprintf(&b, "  shared-%02d = { tier = %q, max_databases = 100 }\n", i, tier)
		}
		b.WriteString("}\n\n")
	}
	b.WriteString("application_databases = {\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  app_%04d = {\n    database_name = \"app_%04d\"\n    username      = \"app_%04d_user\"\n", i, i, i)
		if instances {
			fmt.Fprintf(&b, "    instance      = \"shared-%02d\"\n", i%20)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// BenchmarkMakePlanPlacement: a large create request on a file of 1,000
// entries over 20 instances (validate, place, insert, catalog), against
// the same file on one implicit instance: what placement costs.
func BenchmarkMakePlanPlacement(b *testing.B) {
	for _, tc := range []struct {
		name      string
		instances bool
	}{{"instances=20", true}, {"implicit", false}} {
		b.Run(tc.name, func(b *testing.B) {
			snap := instancesSnapshot(benchTfvars(tc.instances))
			for b.Loop() {
				p, err := MakePlan(largeForm("orders"), snap, PlanSettings{Now: testNow})
				if err != nil || len(p.Files) != 2 || tc.instances && p.Placement.Instance != "shared-01" {
					b.Fatal(err)
				}
			}
		})
	}
}
