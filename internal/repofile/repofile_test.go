package repofile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// names lists every file under dir, to show that no temporary file is
// left behind.
func names(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestWriteAllRestoresOnFault: the second file cannot be renamed into
// place (its path is a directory), so the first gets its old content and
// permissions back, a new first file is removed, and no temporary file
// stays.
func TestWriteAllRestoresOnFault(t *testing.T) {
	for _, firstExists := range []bool{true, false} {
		t.Run("first exists "+strconv.FormatBool(firstExists), func(t *testing.T) {
			dir := t.TempDir()
			if firstExists {
				writeFile(t, filepath.Join(dir, "envs/dev-rds/terraform.tfvars"), "old tfvars\n", 0o600)
			}
			if err := os.MkdirAll(filepath.Join(dir, "docs/rds-catalog.yaml"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "envs/dev-rds"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := names(t, dir)
			err := open(t, dir).WriteAll([]File{
				{Path: "envs/dev-rds/terraform.tfvars", Data: []byte("new tfvars\n")},
				{Path: "docs/rds-catalog.yaml", Data: []byte("new catalog\n")},
			})
			if err == nil || !strings.Contains(err.Error(), "write docs/rds-catalog.yaml") {
				t.Fatalf("err = %v, want the catalog write to fail", err)
			}
			if diff := cmp.Diff(before, names(t, dir)); diff != "" {
				t.Errorf("files left behind (-before +after):\n%s", diff)
			}
			if !firstExists {
				return
			}
			got, _ := os.ReadFile(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
			fi, _ := os.Stat(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
			if string(got) != "old tfvars\n" || fi.Mode().Perm() != 0o600 {
				t.Errorf("tfvars after the failed write: %q mode %v", got, fi.Mode().Perm())
			}
		})
	}
}

func TestWriteAllKeepsMode(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), "old", 0o640)
	if err := open(t, dir).WriteAll([]File{{Path: "a", Data: []byte("new")}, {Path: "new/b", Data: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "a"))
	got, _ := os.ReadFile(filepath.Join(dir, "a"))
	if string(got) != "new" || fi.Mode().Perm() != 0o640 {
		t.Errorf("a: %q %v", got, fi.Mode().Perm())
	}
	if diff := cmp.Diff([]string{".", "a", "new", "new/b"}, names(t, dir)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSymlinks: paths that resolve outside the root are refused for
// reading and writing; a symlink inside the root is written through and
// stays a symlink.
func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.tfvars"), "outside\n", 0o644)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "shared/dev.tfvars"), "inside\n", 0o644)
	links := map[string]string{
		"envs/dev-rds/terraform.tfvars":  "../../shared/dev.tfvars",
		"envs/prod-rds/terraform.tfvars": filepath.Join(outside, "secret.tfvars"),
		"docs":                           outside,
		"schemas/metadata/enums.yaml":    "../../missing.yaml",
	}
	for p, target := range links {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	r := open(t, dir)
	for _, p := range []string{"envs/prod-rds/terraform.tfvars", "docs/rds-catalog.yaml", "schemas/metadata/enums.yaml", "../x", "/etc/passwd"} {
		t.Run(p, func(t *testing.T) {
			if _, _, err := r.Read(p); !errors.Is(err, ErrOutside) {
				t.Errorf("Read: %v, want ErrOutside", err)
			}
			if err := r.WriteAll([]File{{Path: p, Data: []byte("x")}}); !errors.Is(err, ErrOutside) {
				t.Errorf("WriteAll: %v, want ErrOutside", err)
			}
		})
	}
	if diff := cmp.Diff([]string{".", "secret.tfvars"}, names(t, outside)); diff != "" {
		t.Errorf("outside dir changed:\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.tfvars")); string(b) != "outside\n" {
		t.Errorf("outside file written: %q", b)
	}

	got, found, err := r.Read("envs/dev-rds/terraform.tfvars")
	if err != nil || !found || string(got) != "inside\n" {
		t.Fatalf("read through symlink: %q %v %v", got, found, err)
	}
	if err := r.WriteAll([]File{{Path: "envs/dev-rds/terraform.tfvars", Data: []byte("edited\n")}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "envs/dev-rds/terraform.tfvars"))
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "shared/dev.tfvars")); string(b) != "edited\n" {
		t.Errorf("target not written: %q", b)
	}
}

func TestLockPath(t *testing.T) {
	plain := t.TempDir()
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	worktree := t.TempDir()
	writeFile(t, filepath.Join(worktree, ".git"), "gitdir: "+filepath.Join(repo, ".git")+"\n", 0o644)
	for dir, want := range map[string]string{
		plain:    filepath.Join(open(t, plain).Dir(), ".rds-provision.lock"),
		repo:     filepath.Join(open(t, repo).Dir(), ".git", "rds-provision.lock"),
		worktree: filepath.Join(open(t, repo).Dir(), ".git", "rds-provision.lock"),
	} {
		if got := open(t, dir).LockPath(); got != want {
			t.Errorf("LockPath(%s) = %s, want %s", dir, got, want)
		}
	}
}

// TestLockSerialises: read-modify-write cycles under the lock from many
// goroutines, each with its own Root and file descriptor as separate
// processes would have, lose no update.
func TestLockSerialises(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	writeFile(t, counter, "0", 0o644)
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < rounds; i++ {
				unlock, err := r.Lock(context.Background(), nil)
				if err != nil {
					errs <- err
					return
				}
				b, _, err := r.Read("counter")
				n, _ := strconv.Atoi(string(b))
				if err == nil {
					err = r.WriteAll([]File{{Path: "counter", Data: []byte(strconv.Itoa(n + 1))}})
				}
				unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(counter); string(b) != strconv.Itoa(workers*rounds) {
		t.Errorf("counter = %s, want %d: updates were lost", b, workers*rounds)
	}
}

// TestLockHeld: while another holder has the lock, a run whose context
// ends gets an error naming the lock file, after saying it waits.
func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	unlock, err := open(t, dir).Lock(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	var waited string
	_, err = open(t, dir).Lock(ctx, func(p string) { waited = p; cancel() })
	if err == nil || !strings.Contains(err.Error(), ".rds-provision.lock") || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if !strings.HasSuffix(waited, ".rds-provision.lock") {
		t.Errorf("waiting not reported: %q", waited)
	}
}
