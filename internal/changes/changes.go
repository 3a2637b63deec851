// Package changes finds the environments whose RDS databases changed between
// two revisions of an infra repository, by content rather than by file name:
// it parses application_databases (standalone or coupled layout, as provision
// would pick it) and the catalog entries of every environment at each
// revision, and names the environments where they differ. A node count edited
// in a coupled tfvars, or a comment, names nothing.
//
// It reads two revisions with the git command line (git ls-tree, git
// cat-file), so it works on any clone that has both commits, without a
// working tree checkout of either; or two directory trees (a checkout of
// each side) without git, as the action's image must, since it has no git.
// Both ways go through tree, so they parse and compare the same way.
//
// An environment whose tfvars declares several instances (rds_instances)
// changes instance by instance: Instances names each instance whose
// entries, catalog entries or connection (master_secret, endpoint) differ.
// A tier or max_databases edit names nothing: placement reads them,
// provisioning does not.
package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// ZeroRev is what GitHub sends as the "before" of a push that creates a
// branch: there is nothing before, so every environment with databases
// counts as changed.
const ZeroRev = "0000000000000000000000000000000000000000"

// Options says which repository and revisions, or which two directory
// trees, to compare.
type Options struct {
	// RepoRoot is a directory inside the git repository; default ".".
	RepoRoot string
	// Before and After are revisions git understands (SHA, branch, tag,
	// HEAD~2). Before may be ZeroRev or empty: an empty repository.
	Before, After string
	// Git is the git binary; default "git" on PATH.
	Git string

	// BeforeDir and AfterDir, instead of RepoRoot, Before and After, are
	// the roots of two directory trees of the infra repository (a checkout
	// of each side, e.g. a git worktree), read without git. Both must
	// exist; an empty BeforeDir means nothing before. Files are read only
	// inside them: a symlink that resolves outside is refused.
	BeforeDir, AfterDir string
}

// dirMode reports whether opts compares directory trees.
func (opts Options) dirMode() bool { return opts.BeforeDir != "" || opts.AfterDir != "" }

// Environments returns, sorted, the environments whose application_databases
// entries or catalog entries differ between opts.Before and opts.After.
// Catalog status changes are ignored: provisioning writes them itself, and a
// status commit must not start another provisioning run.
func Environments(ctx context.Context, opts Options) ([]string, error) {
	before, after, err := snapshots(ctx, opts)
	if err != nil {
		return nil, err
	}
	return differ(before, after), nil
}

// EnvInstance is one instance of an environment. Instance is the
// rds_instances key, or empty for the environment as a whole (see
// Instances).
type EnvInstance struct {
	Environment string `json:"environment"`
	Instance    string `json:"instance"`
}

// Instances returns, sorted by environment then instance, the instances
// that changed between opts.Before and opts.After in the environments
// Environments names: those whose application_databases entries, catalog
// entries (by configuration.instance, else by the instance their
// database's owner entry is on) or master_secret and endpoint differ.
// When an environment changed but no instance's part did (the layout,
// entries reordered across instances, a catalog entry of no instance), or
// one side does not parse, every instance of the environment at either
// side is named. An empty instance is the environment as a whole: its one
// implicit instance when neither side declares rds_instances, or all of
// it when no side's instances can be read.
func Instances(ctx context.Context, opts Options) ([]EnvInstance, error) {
	before, after, err := snapshots(ctx, opts)
	if err != nil {
		return nil, err
	}
	var out []EnvInstance
	for _, env := range differ(before, after) {
		for _, name := range changedInstances(before[env], after[env]) {
			out = append(out, EnvInstance{Environment: env, Instance: name})
		}
	}
	return out, nil
}

// snapshots reads both sides of opts.
func snapshots(ctx context.Context, opts Options) (before, after map[string]*state, err error) {
	if opts.dirMode() {
		return dirSnapshots(ctx, opts)
	}
	return gitSnapshots(ctx, opts)
}

// changedInstances names, sorted, the instances whose part of the two
// states differs; every instance of either side when the difference
// belongs to none.
func changedInstances(before, after *state) []string {
	all := map[string]bool{}
	for _, s := range []*state{before, after} {
		if s == nil {
			continue
		}
		for _, i := range s.Instances {
			all[i.Name] = true
		}
	}
	if len(all) == 0 {
		all[""] = true // the implicit instance
	}
	everything := func() []string {
		var out []string
		for n := range all {
			out = append(out, n)
		}
		sort.Strings(out)
		return out
	}
	if before == nil {
		before = &state{}
	}
	if after == nil {
		after = &state{}
	}
	// A side that does not parse has no instance part: each instance of
	// the other side differs from it.
	b, a := before.byInstance(), after.byInstance()
	var out []string
	for n := range all {
		if !reflect.DeepEqual(b[n], a[n]) {
			out = append(out, n)
		}
	}
	// A change that no instance holds alone (the layout, entries
	// reordered across instances, a catalog entry of none): every
	// instance.
	if len(out) == 0 {
		return everything()
	}
	sort.Strings(out)
	return out
}

// gitSnapshots reads opts.Before and opts.After with git.
func gitSnapshots(ctx context.Context, opts Options) (before, after map[string]*state, err error) {
	if opts.RepoRoot == "" {
		opts.RepoRoot = "."
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.After == "" {
		return nil, nil, errors.New("changes: the after revision is required")
	}
	g := gitRepo{bin: opts.Git, dir: opts.RepoRoot}
	var trees [2]tree
	for i, rev := range []string{opts.Before, opts.After} {
		if rev == "" || rev == ZeroRev {
			continue // nothing: a nil tree
		}
		if err := g.verify(ctx, rev); err != nil {
			return nil, nil, err
		}
		trees[i] = gitTree{repo: g, rev: rev}
	}
	if before, err = snapshot(ctx, trees[0]); err != nil {
		return nil, nil, err
	}
	if after, err = snapshot(ctx, trees[1]); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// dirSnapshots reads opts.BeforeDir and opts.AfterDir.
func dirSnapshots(ctx context.Context, opts Options) (before, after map[string]*state, err error) {
	if opts.Before != "" || opts.After != "" || opts.RepoRoot != "" {
		return nil, nil, errors.New("changes: compare either two revisions (Before, After, RepoRoot) or two directories (BeforeDir, AfterDir), not both")
	}
	var snaps [2]map[string]*state
	for i, side := range []struct{ name, dir string }{{"before", opts.BeforeDir}, {"after", opts.AfterDir}} {
		if side.dir == "" {
			return nil, nil, fmt.Errorf("changes: the %s directory is required (an empty directory means nothing before)", side.name)
		}
		t, err := openDir(side.dir)
		if err != nil {
			return nil, nil, fmt.Errorf("changes: %s directory: %w", side.name, err)
		}
		snaps[i], err = snapshot(ctx, t)
		t.close()
		if err != nil {
			return nil, nil, err
		}
	}
	return snaps[0], snaps[1], nil
}

// differ returns, sorted, the environments whose state differs.
func differ(before, after map[string]*state) []string {
	names := map[string]bool{}
	for env := range before {
		names[env] = true
	}
	for env := range after {
		names[env] = true
	}
	var out []string
	for env := range names {
		// The names it reports become matrix values, file names and secret
		// paths downstream: the environment rule bounds them.
		if naming.CheckEnvironment(env) != nil {
			continue
		}
		if !reflect.DeepEqual(before[env], after[env]) {
			out = append(out, env)
		}
	}
	sort.Strings(out)
	return out
}

// tree is one side of the comparison as snapshot reads it: a git revision
// (gitTree) or a directory (dirTree).
type tree interface {
	// files lists the files under dirs, slash-separated paths relative to
	// the infra repository root; a dir that does not exist lists nothing.
	files(ctx context.Context, dirs ...string) ([]string, error)
	// read returns the content of file, a path files listed.
	read(ctx context.Context, file string) ([]byte, error)
}

// state is what provisioning would see of one environment at one revision.
type state struct {
	Mode    tfvars.Mode
	Entries []tfvars.Entry
	// Instances are the declared instances, as provisioning sees them:
	// name, master secret and endpoint (tier, max_databases and line are
	// zero: placement's, not provisioning's). Nil without rds_instances.
	Instances []tfvars.Instance
	// Problem is a tfvars that does not parse, kept with its content so
	// that any edit of a broken file names the environment (the run then
	// reports the error) while an untouched broken file names nothing.
	Problem string
	Catalog []catalog.Entry
}

// instanceState is one instance's part of a state.
type instanceState struct {
	Instance tfvars.Instance
	Entries  []tfvars.Entry
	Catalog  []catalog.Entry
}

// byInstance splits the state by instance: its declaration, its entries
// in tfvars order, and the catalog entries on it (configuration.instance,
// else the instance of the database's owner entry, else none: "").
func (s *state) byInstance() map[string]*instanceState {
	out := map[string]*instanceState{}
	get := func(name string) *instanceState {
		if out[name] == nil {
			out[name] = &instanceState{}
		}
		return out[name]
	}
	for _, i := range s.Instances {
		get(i.Name).Instance = i
	}
	on := map[string]string{} // database -> instance of its owner entry
	for _, e := range s.Entries {
		get(e.Instance).Entries = append(get(e.Instance).Entries, e)
		if e.AccessLevel == tfvars.AccessOwner {
			on[e.DatabaseName] = e.Instance
		}
	}
	for _, c := range s.Catalog {
		name := c.Instance
		if name == "" {
			name = on[c.Name]
		}
		get(name).Catalog = append(get(name).Catalog, c)
	}
	return out
}

// snapshot reads every environment's state in t; a nil t is nothing.
func snapshot(ctx context.Context, t tree) (map[string]*state, error) {
	out := map[string]*state{}
	if t == nil {
		return out, nil
	}
	files, err := t.files(ctx, "envs", catalog.Dir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	get := func(env string) *state {
		if out[env] == nil {
			out[env] = &state{}
		}
		return out[env]
	}

	// Environments with a tfvars in either layout.
	envs := map[string]bool{}
	for _, f := range files {
		dir, name := path.Split(f)
		if name != "terraform.tfvars" || strings.Count(f, "/") != 2 {
			continue
		}
		env := strings.TrimPrefix(strings.TrimSuffix(dir, "/"), "envs/")
		if e, ok := strings.CutSuffix(env, "-rds"); ok && tfvars.StandaloneFile(e) == f {
			env = e
		}
		envs[env] = true
	}
	for env := range envs {
		st, err := tfvarsState(ctx, t, env, have)
		if err != nil {
			return nil, err
		}
		if st.Mode != "" || st.Problem != "" {
			s := get(env)
			s.Mode, s.Entries, s.Instances, s.Problem = st.Mode, st.Entries, st.Instances, st.Problem
		}
	}

	// Catalog entries: each file's entries belong to the environment their
	// metadata.environment names, else to the file's own environment.
	for _, f := range files {
		fileEnv, ok := catalogEnv(f)
		if !ok {
			continue
		}
		src, err := t.read(ctx, f)
		if err != nil {
			return nil, err
		}
		entries, err := catalog.Entries(src)
		if err != nil {
			// A broken catalog counts like a broken tfvars: by content.
			s := get(fileEnv)
			s.Problem += fmt.Sprintf("%s: %v\n%s", f, err, src)
			continue
		}
		for _, e := range entries {
			env := e.Environment
			if env == "" {
				env = fileEnv
			}
			e.Status = "" // written by provisioning, see Environments
			s := get(env)
			s.Catalog = append(s.Catalog, e)
		}
	}
	for _, s := range out {
		sort.SliceStable(s.Catalog, func(i, j int) bool { return s.Catalog[i].Name < s.Catalog[j].Name })
	}
	return out, nil
}

// catalogEnv names the environment of a catalog file: rds-catalog.yaml is
// dev's (the runbook's name), rds-catalog-<env>.yaml is <env>'s.
func catalogEnv(f string) (string, bool) {
	dir, name := path.Split(f)
	if strings.TrimSuffix(dir, "/") != catalog.Dir {
		return "", false
	}
	if name == "rds-catalog.yaml" {
		return catalog.DefaultEnvironment, true
	}
	env, ok := strings.CutPrefix(name, "rds-catalog-")
	if !ok {
		return "", false
	}
	env, ok = strings.CutSuffix(env, ".yaml")
	return env, ok && env != ""
}

// tfvarsState applies provision's auto rule to env in t and reads its
// entries, without their line numbers (moving an entry is no change).
func tfvarsState(ctx context.Context, t tree, env string, have map[string]bool) (state, error) {
	coupledFile, standaloneFile := tfvars.CoupledFile(env), tfvars.StandaloneFile(env)
	var coupledSrc []byte
	if have[coupledFile] {
		src, err := t.read(ctx, coupledFile)
		if err != nil {
			return state{}, err
		}
		coupledSrc = src
	}
	mode, err := tfvars.Detect(coupledFile, coupledSrc, have[standaloneFile])
	switch {
	case errors.Is(err, tfvars.ErrModeUndetected), errors.Is(err, tfvars.ErrNoTfvars):
		return state{}, nil // no RDS in this environment
	case err != nil:
		return state{Problem: fmt.Sprintf("%s: %v\n%s", coupledFile, err, coupledSrc)}, nil
	}
	file, src := coupledFile, coupledSrc
	if mode == tfvars.ModeStandalone {
		file = standaloneFile
		if src, err = t.read(ctx, file); err != nil {
			return state{}, err
		}
	}
	parsed, err := tfvars.Parse(file, src, mode)
	if err != nil {
		return state{Mode: mode, Problem: fmt.Sprintf("%s: %v\n%s", file, err, src)}, nil
	}
	st := state{Mode: mode}
	for _, e := range parsed.Entries {
		e.Line = 0
		st.Entries = append(st.Entries, e)
	}
	for _, i := range parsed.RDSInstances {
		i.Tier, i.MaxDatabases, i.Line = "", 0, 0
		st.Instances = append(st.Instances, i)
	}
	return st, nil
}

// gitRepo runs git in one repository.
type gitRepo struct{ bin, dir string }

func (g gitRepo) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"-C", g.dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var execErr *exec.Error
		if errors.As(err, &execErr) {
			return nil, fmt.Errorf("run git: %w (install git, or put it on PATH)", err)
		}
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// verify checks that rev names a commit or tree here, so a revision that a
// shallow clone or a force push lost is an error that says so.
func (g gitRepo) verify(ctx context.Context, rev string) error {
	if strings.HasPrefix(rev, "-") {
		return fmt.Errorf("changes: revision %q must not start with '-'", rev)
	}
	if _, err := g.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{tree}"); err != nil {
		return fmt.Errorf("changes: revision %q is not in the repository at %s (a shallow clone needs fetch-depth: 0; after a force push the old revision is gone): %w", rev, g.dir, err)
	}
	return nil
}

// gitTree is one revision of a git repository, verified to exist.
type gitTree struct {
	repo gitRepo
	rev  string
}

// files lists the files under dirs at the revision, paths relative to the
// repository directory (which may be a subdirectory of the git work tree).
func (t gitTree) files(ctx context.Context, dirs ...string) ([]string, error) {
	args := append([]string{"ls-tree", "-r", "-z", "--name-only", t.rev, "--"}, dirs...)
	out, err := t.repo.run(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("list files at %s: %w", t.rev, err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// read returns the content of file at the revision.
func (t gitTree) read(ctx context.Context, file string) ([]byte, error) {
	out, err := t.repo.run(ctx, "cat-file", "blob", t.rev+":./"+file)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", file, t.rev, err)
	}
	return out, nil
}

// dirTree is a directory tree read through an os.Root, so no path and no
// symlink leads outside it.
type dirTree struct {
	dir  string
	root *os.Root
}

// openDir opens dir, which must be an existing directory.
func openDir(dir string) (dirTree, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return dirTree{}, fmt.Errorf("%w (create it empty for nothing before)", err)
	}
	if !fi.IsDir() {
		return dirTree{}, fmt.Errorf("%s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return dirTree{}, err
	}
	return dirTree{dir: dir, root: root}, nil
}

func (t dirTree) close() { t.root.Close() }

// files walks dirs without following symlinked directories (git lists a
// symlink as one file too); a symlink is listed as a file and refused when
// read if it leads outside.
func (t dirTree) files(ctx context.Context, dirs ...string) ([]string, error) {
	var out []string
	fsys := t.root.FS()
	for _, d := range dirs {
		err := fs.WalkDir(fsys, d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p == d && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir // the dir is not there: nothing
				}
				return t.pathError("list", p, err)
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if !e.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// read returns the content of file, following symlinks only inside the
// directory.
func (t dirTree) read(_ context.Context, file string) ([]byte, error) {
	data, err := t.root.ReadFile(file)
	if err != nil {
		return nil, t.pathError("read", file, err)
	}
	return data, nil
}

// pathError says what failed on p, and names a symlink that leads
// outside the directory (os.Root refuses it) with the remedy.
func (t dirTree) pathError(op, p string, err error) error {
	if target, outside := t.outside(p); outside {
		return fmt.Errorf("%s %s in %s: it resolves to %s, outside %s; replace the symlink by the file, or point it inside", op, p, t.dir, target, t.dir)
	}
	if !errors.Is(err, fs.ErrNotExist) && t.viaSymlink(p) {
		return fmt.Errorf("%s %s in %s: %w; a symlink on the way must resolve inside %s: replace it by the file, or point it inside", op, p, t.dir, err, t.dir)
	}
	return fmt.Errorf("%s %s in %s: %w", op, p, t.dir, err)
}

// outside reports whether p's symlinks lead outside the directory.
func (t dirTree) outside(p string) (string, bool) {
	root, err := filepath.EvalSymlinks(t.dir)
	if err != nil {
		return "", false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(t.dir, filepath.FromSlash(p)))
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(root, real)
	return real, err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// viaSymlink reports whether p or one of its parents is a symlink.
func (t dirTree) viaSymlink(p string) bool {
	for ; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if fi, err := t.root.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}
