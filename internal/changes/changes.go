// Package changes finds the environments whose RDS databases changed between
// two revisions of an infra repository, by content rather than by file name:
// it parses application_databases (standalone or coupled layout, as provision
// would pick it) and the catalog entries of every environment at each
// revision, and names the environments where they differ. A node count edited
// in a coupled tfvars, or a comment, names nothing.
//
// It reads the revisions with the git command line (git ls-tree, git
// cat-file), so it works on any clone that has both commits, without a
// working tree checkout of either.
package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// ZeroRev is what GitHub sends as the "before" of a push that creates a
// branch: there is nothing before, so every environment with databases
// counts as changed.
const ZeroRev = "0000000000000000000000000000000000000000"

// envRE bounds the environment names it reports: they become matrix values,
// file names and secret paths downstream.
var envRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// Options says which repository and revisions to compare.
type Options struct {
	// RepoRoot is a directory inside the git repository; default ".".
	RepoRoot string
	// Before and After are revisions git understands (SHA, branch, tag,
	// HEAD~2). Before may be ZeroRev or empty: an empty repository.
	Before, After string
	// Git is the git binary; default "git" on PATH.
	Git string
}

// Environments returns, sorted, the environments whose application_databases
// entries or catalog entries differ between opts.Before and opts.After.
// Catalog status changes are ignored: provisioning writes them itself, and a
// status commit must not start another provisioning run.
func Environments(ctx context.Context, opts Options) ([]string, error) {
	if opts.RepoRoot == "" {
		opts.RepoRoot = "."
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.After == "" {
		return nil, errors.New("changes: the after revision is required")
	}
	g := gitRepo{bin: opts.Git, dir: opts.RepoRoot}
	before, err := g.snapshot(ctx, opts.Before)
	if err != nil {
		return nil, err
	}
	after, err := g.snapshot(ctx, opts.After)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for env := range before {
		names[env] = true
	}
	for env := range after {
		names[env] = true
	}
	var out []string
	for env := range names {
		if !envRE.MatchString(env) {
			continue
		}
		if !reflect.DeepEqual(before[env], after[env]) {
			out = append(out, env)
		}
	}
	sort.Strings(out)
	return out, nil
}

// state is what provisioning would see of one environment at one revision.
type state struct {
	Mode    tfvars.Mode
	Entries []tfvars.Entry
	// Problem is a tfvars that does not parse, kept with its content so
	// that any edit of a broken file names the environment (the run then
	// reports the error) while an untouched broken file names nothing.
	Problem string
	Catalog []catalog.Entry
}

// snapshot reads every environment's state at rev.
func (g gitRepo) snapshot(ctx context.Context, rev string) (map[string]*state, error) {
	out := map[string]*state{}
	if rev == "" || rev == ZeroRev {
		return out, nil
	}
	if err := g.verify(ctx, rev); err != nil {
		return nil, err
	}
	files, err := g.lsTree(ctx, rev, "envs", catalog.Dir)
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
		st, err := g.tfvarsState(ctx, rev, env, have)
		if err != nil {
			return nil, err
		}
		if st.Mode != "" || st.Problem != "" {
			s := get(env)
			s.Mode, s.Entries, s.Problem = st.Mode, st.Entries, st.Problem
		}
	}

	// Catalog entries: each file's entries belong to the environment their
	// metadata.environment names, else to the file's own environment.
	for _, f := range files {
		fileEnv, ok := catalogEnv(f)
		if !ok {
			continue
		}
		src, err := g.show(ctx, rev, f)
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

// tfvarsState applies provision's auto rule to env at rev and reads its
// entries, without their line numbers (moving an entry is no change).
func (g gitRepo) tfvarsState(ctx context.Context, rev, env string, have map[string]bool) (state, error) {
	coupledFile, standaloneFile := tfvars.CoupledFile(env), tfvars.StandaloneFile(env)
	var coupledSrc []byte
	if have[coupledFile] {
		src, err := g.show(ctx, rev, coupledFile)
		if err != nil {
			return state{}, err
		}
		coupledSrc = src
	}
	mode, err := tfvars.Detect(coupledFile, coupledSrc, have[standaloneFile])
	switch {
	case errors.Is(err, tfvars.ErrModeUndetected):
		return state{}, nil // no RDS in this environment
	case err != nil:
		return state{Problem: fmt.Sprintf("%s: %v\n%s", coupledFile, err, coupledSrc)}, nil
	}
	file, src := coupledFile, coupledSrc
	if mode == tfvars.ModeStandalone {
		file = standaloneFile
		if src, err = g.show(ctx, rev, file); err != nil {
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

// lsTree lists the files under dirs at rev, paths relative to the
// repository directory (which may be a subdirectory of the git work tree).
func (g gitRepo) lsTree(ctx context.Context, rev string, dirs ...string) ([]string, error) {
	args := append([]string{"ls-tree", "-r", "-z", "--name-only", rev, "--"}, dirs...)
	out, err := g.run(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("list files at %s: %w", rev, err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// show returns the content of file at rev.
func (g gitRepo) show(ctx context.Context, rev, file string) ([]byte, error) {
	out, err := g.run(ctx, "cat-file", "blob", rev+":./"+file)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", file, rev, err)
	}
	return out, nil
}
