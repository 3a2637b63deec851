package changes

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repo is a real git repository made from testdata/infra, one commit per
// step.
type repo struct {
	t     *testing.T
	dir   string
	trees map[string]string // revision -> its git worktree, for dir mode
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required for these tests: install git")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "development")
	if err := os.CopyFS(r.dir, os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	r.commit("infra as in testdata")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// edit replaces old with new in a file (old "" appends) and commits.
func (r *repo) edit(file, old, new string) string {
	r.t.Helper()
	p := filepath.Join(r.dir, file)
	raw, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	s := string(raw)
	if old == "" {
		s += new
	} else {
		if !strings.Contains(s, old) {
			r.t.Fatalf("%s lacks %q", file, old)
		}
		s = strings.Replace(s, old, new, 1)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return r.commit("edit " + file)
}

func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *repo) changed(before, after string) ([]string, error) {
	return Environments(context.Background(), Options{RepoRoot: r.dir, Before: before, After: after})
}

// changedDirs compares the two revisions in dir mode: each checked out in
// a git worktree, as the apply workflow does, ZeroRev as an empty
// directory.
func (r *repo) changedDirs(before, after string) ([]string, error) {
	return Environments(context.Background(), Options{BeforeDir: r.tree(before), AfterDir: r.tree(after)})
}

func (r *repo) tree(rev string) string {
	r.t.Helper()
	if d, ok := r.trees[rev]; ok {
		return d
	}
	d := r.t.TempDir()
	if rev != ZeroRev {
		d = filepath.Join(d, "tree")
		r.git("worktree", "add", "-q", "--detach", d, rev)
	}
	if r.trees == nil {
		r.trees = map[string]string{}
	}
	r.trees[rev] = d
	return d
}

// agree checks that dir mode names what git mode named.
func (r *repo) agree(t *testing.T, before, after string, git []string) {
	t.Helper()
	dirs, err := r.changedDirs(before, after)
	if err != nil {
		t.Fatalf("dir mode: %v", err)
	}
	if diff := cmp.Diff(git, dirs); diff != "" {
		t.Errorf("dir mode disagrees with git mode (-git +dirs):\n%s", diff)
	}
}

const (
	devTfvars  = "envs/dev-rds/terraform.tfvars"
	testTfvars = "envs/test/terraform.tfvars"
	devCatalog = "docs/20-contracts/resource-catalogs/rds-catalog.yaml"
)

const newStandaloneEntry = `  backstage = {
    database_name = "backstage"
    username      = "backstage_user"
  },
  inventory = {
    database_name = "inventory"
    username      = "inventory_user"
  }
`

const testCatalogEntry = `  orders:
    metadata:
      id: DATABASE_ORDERS
      owner: app-team
      requested_by: jane-doe
      domain: catalog
      risk: low
      environment: test
      status: pending
      created_date: "2026-01-20"
    configuration:
      username: orders_user
      size_tier: small
      instance_class: db.t3.micro
      secret_path: goldenpath/test/orders/postgres
`

func TestEnvironments(t *testing.T) {
	r := newRepo(t)
	base := r.git("rev-parse", "HEAD")
	nonRDS := r.edit(testTfvars, `cluster_name = "goldenpath-test"`, `cluster_name = "goldenpath-test"
node_count   = 5`)
	comment := r.edit(devTfvars, "# Application databases are added", "# Application databases (see RB-0032) are added")
	// Reordering and reformatting entries changes no entry.
	reformat := r.edit(testTfvars, `"keycloak" = { database_name = "keycloak", username = "keycloak_user" }`, `keycloak = {
      username      = "keycloak_user"
      database_name = "keycloak"
    }`)
	standalone := r.edit(devTfvars, "  backstage = {\n    database_name = \"backstage\"\n    username      = \"backstage_user\"\n  }\n", newStandaloneEntry)
	coupled := r.edit(testTfvars, "    backstage = {", "    orders = { database_name = \"orders\", username = \"orders_user\" }\n    backstage = {")
	sharedCatalog := r.edit(devCatalog, "", testCatalogEntry)
	status := r.edit(devCatalog, "      environment: test\n      status: pending", "      environment: test\n      status: active")
	access := r.edit(devTfvars, "    username      = \"inventory_user\"\n", "    username      = \"inventory_user\"\n    access_level  = \"reader\"\n")
	enableDevCoupled := r.edit("envs/dev/terraform.tfvars", "enabled         = false", "enabled         = true")

	tests := []struct {
		name          string
		before, after string
		want          []string
	}{
		{"non-RDS edit of a coupled tfvars", base, nonRDS, nil},
		{"comment in a standalone tfvars", nonRDS, comment, nil},
		{"entry reformatted", comment, reformat, nil},
		{"new standalone entry", reformat, standalone, []string{"dev"}},
		{"new coupled entry", standalone, coupled, []string{"test"}},
		{"range of several commits", base, coupled, []string{"dev", "test"}},
		{"shared catalog entry for test names test, not dev", coupled, sharedCatalog, []string{"test"}},
		{"catalog status written by provisioning", sharedCatalog, status, nil},
		{"access level", status, access, []string{"dev"}},
		{"mode switch to coupled", access, enableDevCoupled, []string{"dev"}},
		{"same revision", coupled, coupled, nil},
		{"new branch: nothing before", ZeroRev, base, []string{"dev", "test"}},
		{"branch name and relative revision", "HEAD~4", "development", []string{"dev", "test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.changed(tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
			r.agree(t, tt.before, tt.after, got)
		})
	}
}

// A tfvars that stops parsing names its environment (the run reports the
// error); one that stays broken and untouched names nothing.
func TestEnvironmentsBrokenTfvars(t *testing.T) {
	r := newRepo(t)
	base := r.git("rev-parse", "HEAD")
	broken := r.edit(devTfvars, `    username      = "keycloak_user"`, `    username      = keycloak_user`)
	other := r.edit(testTfvars, `cluster_name = "goldenpath-test"`, `cluster_name = "goldenpath-test2"`)
	for _, tt := range []struct {
		name          string
		before, after string
		want          []string
	}{
		{"tfvars broken", base, broken, []string{"dev"}},
		{"still broken, untouched", broken, other, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.changed(tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
			r.agree(t, tt.before, tt.after, got)
		})
	}
}

// The infra repository may live in a subdirectory of the git work tree.
func TestEnvironmentsRepoRootInSubdirectory(t *testing.T) {
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	if err := os.CopyFS(filepath.Join(r.dir, "infra"), os.DirFS("../../testdata/infra")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "envs"), []byte("not the infra root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := r.commit("infra in a subdirectory")
	after := r.edit("infra/"+testTfvars, "    backstage = {", "    orders = { database_name = \"orders\", username = \"orders_user\" }\n    backstage = {")
	got, err := Environments(context.Background(), Options{RepoRoot: filepath.Join(r.dir, "infra"), Before: base, After: after})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"test"}, got); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
}

func TestEnvironmentsErrors(t *testing.T) {
	r := newRepo(t)
	head := r.git("rev-parse", "HEAD")
	for _, tt := range []struct {
		name          string
		before, after string
		want          string
	}{
		{"unknown before (force push)", "1111111111111111111111111111111111111111", head, `revision "1111111111111111111111111111111111111111" is not in the repository`},
		{"option injection", "--output=/tmp/x", head, "must not start with '-'"},
		{"no after", head, "", "the after revision is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.changed(tt.before, tt.after)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
