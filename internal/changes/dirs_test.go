package changes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// infraDir copies testdata/infra into a new directory, applying edits
// (file, old, new; old "" appends).
func infraDir(t *testing.T, edits ...[3]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "infra")
	if err := os.CopyFS(dir, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		p := filepath.Join(dir, e[0])
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := string(raw)
		if e[1] == "" {
			s += e[2]
		} else if !strings.Contains(s, e[1]) {
			t.Fatalf("%s lacks %q", e[0], e[1])
		} else {
			s = strings.Replace(s, e[1], e[2], 1)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Directory trees without git: the acceptance cases of the git mode.
func TestEnvironmentsDirs(t *testing.T) {
	base := infraDir(t)
	tests := []struct {
		name   string
		before string
		after  string
		want   []string
	}{
		{"non-RDS edit of a coupled tfvars", base, infraDir(t, [3]string{testTfvars, `cluster_name = "goldenpath-test"`, "cluster_name = \"goldenpath-test\"\nnode_count   = 5"}), nil},
		{"new standalone entry", base, infraDir(t, [3]string{devTfvars, "  backstage = {\n    database_name = \"backstage\"\n    username      = \"backstage_user\"\n  }\n", newStandaloneEntry}), []string{"dev"}},
		{"new coupled entry", base, infraDir(t, [3]string{testTfvars, "    backstage = {", "    orders = { database_name = \"orders\", username = \"orders_user\" }\n    backstage = {"}), []string{"test"}},
		{"shared catalog entry for test", base, infraDir(t, [3]string{devCatalog, "", testCatalogEntry}), []string{"test"}},
		{"same tree", base, base, nil},
		{"empty before directory: nothing before", t.TempDir(), base, []string{"dev", "test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Environments(context.Background(), Options{BeforeDir: tt.before, AfterDir: tt.after})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
		})
	}
}

// Files are read only inside the given directories: a symlink inside is
// followed, one that resolves outside is refused.
func TestEnvironmentsDirsSymlinks(t *testing.T) {
	empty := t.TempDir()
	outside := t.TempDir()
	if err := os.CopyFS(outside, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	replace := func(t *testing.T, dir, rel, target string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		link    func(t *testing.T, dir string)
		want    []string
		wantErr string
	}{
		{"symlinked tfvars inside", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, devTfvars), filepath.Join(dir, "dev.tfvars")); err != nil {
				t.Fatal(err)
			}
			replace(t, dir, devTfvars, "../../dev.tfvars")
		}, []string{"dev", "test"}, ""},
		{"tfvars resolving outside", func(t *testing.T, dir string) {
			replace(t, dir, devTfvars, filepath.Join(outside, devTfvars))
		}, nil, "it resolves to " + filepath.Join(outside, devTfvars) + ", outside"},
		{"relative symlink climbing out", func(t *testing.T, dir string) {
			rel, err := filepath.Rel(filepath.Join(dir, "envs/dev-rds"), filepath.Join(outside, devTfvars))
			if err != nil {
				t.Fatal(err)
			}
			replace(t, dir, devTfvars, rel)
		}, nil, "outside"},
		{"dangling symlink climbing out", func(t *testing.T, dir string) {
			replace(t, dir, devTfvars, "../../../no-such-file")
		}, nil, "must resolve inside"},
		{"catalog directory resolving outside", func(t *testing.T, dir string) {
			replace(t, dir, "docs/20-contracts/resource-catalogs", filepath.Join(outside, "docs/20-contracts/resource-catalogs"))
		}, nil, "outside"},
		{"envs resolving outside", func(t *testing.T, dir string) {
			replace(t, dir, "envs", filepath.Join(outside, "envs"))
		}, nil, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := infraDir(t)
			tt.link(t, dir)
			got, err := Environments(context.Background(), Options{BeforeDir: empty, AfterDir: dir})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v (environments %v), want it to say %q", err, got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvironmentsDirsErrors(t *testing.T) {
	dir := infraDir(t)
	file := filepath.Join(dir, devTfvars)
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"missing before directory", Options{BeforeDir: filepath.Join(dir, "no-such-dir"), AfterDir: dir}, "before directory: "},
		{"after is a file", Options{BeforeDir: dir, AfterDir: file}, "after directory: " + file + " is not a directory"},
		{"no before directory", Options{AfterDir: dir}, "the before directory is required"},
		{"no after directory", Options{BeforeDir: dir}, "the after directory is required"},
		{"directories and revisions", Options{BeforeDir: dir, AfterDir: dir, After: "HEAD"}, "not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Environments(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// An environment directory whose name the environment rule refuses
// (naming.CheckEnvironment) is never reported: the names become matrix
// values, file names and secret paths downstream.
func TestEnvironmentsDirsSkipUnsafeNames(t *testing.T) {
	base := infraDir(t)
	after := infraDir(t)
	for _, env := range []string{"QA", "qa_1", "-qa"} {
		p := filepath.Join(after, "envs", env+"-rds", "terraform.tfvars")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		src := "application_databases = {\n  shop = { database_name = \"shop\", username = \"shop_user\" }\n}\n"
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Environments(context.Background(), Options{BeforeDir: base, AfterDir: after})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("environments = %v, want none", got)
	}
}
