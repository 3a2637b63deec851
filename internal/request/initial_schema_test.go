package request

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// TestRunInitialSchema: a request with a template carries it into the
// tfvars entry (where provision reads it) and the catalog entry, and the
// platform module's type still accepts the tfvars.
func TestRunInitialSchema(t *testing.T) {
	form := validForm()
	form.InitialSchema = "event-sourcing"

	check := func(t *testing.T, tf, cat string) {
		t.Helper()
		if !strings.Contains(tf, "  test_inventory = {\n    database_name  = \"test_inventory\"\n    username       = \"test_inventory_user\"\n    initial_schema = \"event-sourcing\"\n  }\n") {
			t.Errorf("tfvars entry lacks initial_schema:\n%s", tf)
		}
		f, err := tfvars.Parse("terraform.tfvars", []byte(tf), tfvars.ModeStandalone)
		if err != nil || f.Entries[2].InitialSchema != "event-sourcing" {
			t.Fatalf("provision would read: %v %+v", err, f)
		}
		if err := tfvars.VerifyWithTerraform(context.Background(), "", []byte(tf), tfvars.ModeStandalone, 3); err != nil {
			t.Errorf("terraform rejects the entry: %v", err)
		}
		entries, err := catalog.Entries([]byte(cat))
		if err != nil || len(entries) != 2 || entries[1].InitialSchema != "event-sourcing" {
			t.Errorf("catalog: %v %+v", err, entries)
		}
	}

	t.Run("local", func(t *testing.T) {
		dir := writeTree(t, infraFiles())
		res, err := Run(context.Background(), Options{Form: form, RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }})
		if err != nil || !res.Changed {
			t.Fatalf("Run: %+v %v", res, err)
		}
		tf, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
		cat, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(catalog.Path("dev"))))
		check(t, string(tf), string(cat))
	})
	t.Run("pull request", func(t *testing.T) {
		srv, c, _ := newFake(t)
		res := run(t, c, form)
		files := srv.Files(res.Branch)
		check(t, files["envs/dev-rds/terraform.tfvars"], files[catalog.Path("dev")])
		if pr := srv.PullRequests()[0]; !strings.Contains(pr.Body, "creates the role `test_inventory_user` and the database `test_inventory`, then applies the schema template `event-sourcing` once, as `test_inventory_user`.\n") {
			t.Errorf("PR body does not name the template:\n%s", pr.Body)
		}
	})
	t.Run("none writes nothing", func(t *testing.T) {
		dir := writeTree(t, infraFiles())
		if _, err := Run(context.Background(), Options{Form: validForm(), RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }}); err != nil {
			t.Fatal(err)
		}
		tf, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
		cat, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(catalog.Path("dev"))))
		if strings.Contains(string(tf)+string(cat), "initial_schema") {
			t.Errorf("initial_schema none was written:\n%s\n%s", tf, cat)
		}
	})
}

// TestValidateInitialSchemaHasTemplate: an enum override may offer a name
// this binary has no SQL for; the request is refused before any write.
func TestValidateInitialSchemaHasTemplate(t *testing.T) {
	files := infraFiles()
	files[EnumsPath] = "rds_initial_schemas: [none, basic-app, event-sourcing, analytics]\n"
	dir := writeTree(t, files)
	form := validForm()
	form.InitialSchema = "analytics"
	_, err := Run(context.Background(), Options{Form: form, RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }})
	v, ok := IsValidation(err)
	if !ok || len(v.Problems) != 1 || v.Problems[0].Field != FieldInitialSchema ||
		v.Problems[0].String() != `initial_schema: "analytics" has no schema template in this rds-provision (templates: basic-app, event-sourcing)` {
		t.Fatalf("err = %v", err)
	}
	if tf, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars")); string(tf) != devTfvars {
		t.Error("the tfvars changed")
	}
}
