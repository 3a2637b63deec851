package request

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/repofile"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func localRun(dir string, f Form) (Result, error) {
	return Run(context.Background(), Options{Form: f, RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }})
}

// TestRunLocalConcurrent: concurrent --local runs on one repo serialise on
// its lock, so every entry lands in the tfvars and the catalog.
func TestRunLocalConcurrent(t *testing.T) {
	dir := writeTree(t, infraFiles())
	names := []string{"conc_alpha", "conc_bravo", "conc_charlie", "conc_delta", "conc_echo", "conc_foxtrot"}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := validForm()
			f.DatabaseName, f.Username = n, n+"_user"
			_, errs[i] = localRun(dir, f)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
	src, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
	tf, err := tfvars.Parse("terraform.tfvars", src, tfvars.ModeStandalone)
	if err != nil {
		t.Fatal(err)
	}
	var inTfvars []string
	for _, e := range tf.Entries {
		inTfvars = append(inTfvars, e.Key)
	}
	cat, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(catalog.Path("dev"))))
	entries, err := catalog.Entries(cat)
	if err != nil {
		t.Fatal(err)
	}
	var inCatalog []string
	for _, e := range entries {
		inCatalog = append(inCatalog, e.Name)
	}
	want := append([]string{"backstage", "keycloak"}, names...)
	sort.Strings(want)
	sort.Strings(inTfvars)
	if diff := cmp.Diff(want, inTfvars); diff != "" {
		t.Errorf("tfvars entries (-want +got):\n%s", diff)
	}
	wantCat := append([]string{"keycloak"}, names...)
	sort.Strings(wantCat)
	sort.Strings(inCatalog)
	if diff := cmp.Diff(wantCat, inCatalog); diff != "" {
		t.Errorf("catalog entries (-want +got):\n%s", diff)
	}
}

// TestRunLocalRefusals: a path that resolves outside --repo-root, or a
// catalog that cannot be written, fails the run with nothing written.
func TestRunLocalRefusals(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, outside string)
		dryRun  bool
		outside bool // the error is ErrOutside
	}{
		{name: "catalog symlink outside", outside: true, prepare: func(t *testing.T, dir, outside string) {
			replaceBySymlink(t, filepath.Join(dir, catalog.Path("dev")), filepath.Join(outside, "catalog.yaml"))
		}},
		{name: "catalog directory symlink outside", outside: true, prepare: func(t *testing.T, dir, outside string) {
			replaceBySymlink(t, filepath.Join(dir, catalog.Dir), outside)
		}},
		{name: "tfvars symlink outside", outside: true, prepare: func(t *testing.T, dir, outside string) {
			replaceBySymlink(t, filepath.Join(dir, "envs/dev-rds/terraform.tfvars"), filepath.Join(outside, "catalog.yaml"))
		}},
		{name: "enums symlink outside, dry run", outside: true, dryRun: true, prepare: func(t *testing.T, dir, outside string) {
			if err := os.MkdirAll(filepath.Join(dir, "schemas/metadata"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(outside, "catalog.yaml"), filepath.Join(dir, EnumsPath)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "catalog path is a directory", prepare: func(t *testing.T, dir, outside string) {
			p := filepath.Join(dir, catalog.Path("dev"))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, infraFiles())
			outside := t.TempDir()
			if err := os.WriteFile(filepath.Join(outside, "catalog.yaml"), []byte(devCatalog), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.prepare(t, dir, outside)
			before := snapshot(t, dir, outside)
			_, err := Run(context.Background(), Options{Form: validForm(), RepoRoot: dir, Local: !tc.dryRun, DryRun: tc.dryRun, Now: func() time.Time { return testNow }})
			if err == nil || tc.outside != errors.Is(err, repofile.ErrOutside) {
				t.Fatalf("err = %v, want ErrOutside %v", err, tc.outside)
			}
			if diff := cmp.Diff(before, snapshot(t, dir, outside)); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestRunLocalWritesThroughSymlink: a tfvars symlinked inside the repo is
// edited in its target and stays a symlink.
func TestRunLocalWritesThroughSymlink(t *testing.T) {
	dir := writeTree(t, infraFiles())
	shared := filepath.Join(dir, "shared/dev.tfvars")
	if err := os.MkdirAll(filepath.Dir(shared), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"), shared); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../shared/dev.tfvars", filepath.Join(dir, "envs/dev-rds/terraform.tfvars")); err != nil {
		t.Fatal(err)
	}
	if _, err := localRun(dir, validForm()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "envs/dev-rds/terraform.tfvars")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v", err)
	}
	b, _ := os.ReadFile(shared)
	tf, err := tfvars.Parse("dev.tfvars", b, tfvars.ModeStandalone)
	if err != nil || len(tf.Entries) != 3 {
		t.Errorf("target not edited: %v\n%s", err, b)
	}
}

func replaceBySymlink(t *testing.T, path, target string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every file under the dirs to its content (symlinks to
// their target), lock files left out.
func snapshot(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case filepath.Base(p) == ".rds-provision.lock":
			case e.Type()&os.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				out[p] = "-> " + l
			case e.Type().IsRegular():
				b, _ := os.ReadFile(p)
				out[p] = string(b)
			default:
				out[p] = fmt.Sprint(e.Type())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
