// Package repofile reads and writes the files of an infra repo working
// tree for request mode's --local: every path must resolve inside the
// repo root, several files are written all or nothing, and a lock on the
// repo serialises concurrent runs.
//
// Symlinks: a path whose symlinks resolve inside the root is read and
// written through them (the new content replaces the target; the symlink
// stays a symlink). A path that resolves outside the root, or through a
// symlink to a missing file, is refused with ErrOutside.
package repofile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside: a path resolves outside the repo root (through a symlink)
// or through a symlink whose target is missing.
var ErrOutside = errors.New("path resolves outside --repo-root")

// Root is an infra repo working tree.
type Root struct {
	real string // the root's absolute path, symlinks resolved
}

// Open resolves dir, which must be an existing directory.
func Open(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("repo root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repo root %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("repo root %s is not a directory", dir)
	}
	return &Root{real: real}, nil
}

// Dir is the root's real path.
func (r *Root) Dir() string { return r.real }

// Resolve returns where the slash-separated path rel really is: its
// symlinks followed as far as the file system has them, the missing rest
// appended. It refuses a path that lands outside the root.
func (r *Root) Resolve(rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", ErrOutside
	}
	real, err := resolve(filepath.Join(r.real, clean))
	if err != nil {
		return "", err
	}
	if !within(r.real, real) {
		return "", fmt.Errorf("%w (it leads to %s); replace the symlink by the file, or point it inside the repo", ErrOutside, real)
	}
	return real, nil
}

func resolve(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(p)
		return "", fmt.Errorf("%w: %s is a symlink to %s, which does not exist; fix or remove the symlink", ErrOutside, p, target)
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p, nil
	}
	rp, err := resolve(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Read returns the content of rel; found is false when it does not exist.
// Errors do not repeat rel: callers wrap them with it.
func (r *Root) Read(rel string) (data []byte, found bool, err error) {
	real, err := r.Resolve(rel)
	if err != nil {
		return nil, false, err
	}
	data, err = os.ReadFile(real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
