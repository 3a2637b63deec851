package repofile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is one file to write, by slash-separated path under the root.
type File struct {
	Path string
	Data []byte
}

// staged is a File ready to be renamed into place.
type staged struct {
	File
	real   string // the target, symlinks resolved
	tmp    string // the new content, synced, beside the target
	backup string // a copy of the old content beside it; "" for a new file
}

// WriteAll writes every file or none. Each new content and a copy of
// each old one are written to temporary files beside their targets and
// synced; the new ones are then renamed into place in order. When a
// rename fails, the files already renamed get their old content back (or
// are removed, when they were new), so a failed catalog write never leaves
// the tfvars edited. A file keeps its permissions.
func (r *Root) WriteAll(files []File) (err error) {
	var st []*staged
	defer func() {
		for _, s := range st {
			for _, p := range []string{s.tmp, s.backup} {
				if p != "" {
					os.Remove(p)
				}
			}
		}
	}()
	for _, f := range files {
		s, err := r.stage(f)
		if s != nil {
			st = append(st, s)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	for i, s := range st {
		if err := os.Rename(s.tmp, s.real); err != nil {
			err = fmt.Errorf("write %s: %w", s.Path, err)
			var undo []error
			for j := i - 1; j >= 0; j-- {
				if uerr := st[j].restore(); uerr != nil {
					undo = append(undo, uerr)
				}
			}
			if len(undo) > 0 {
				return fmt.Errorf("%w; restoring the files written before failed too: %w", err, errors.Join(undo...))
			}
			if i > 0 {
				return fmt.Errorf("%w (the files written before it were restored)", err)
			}
			return err
		}
		s.tmp = ""
	}
	dirs := map[string]bool{}
	for _, s := range st {
		dirs[filepath.Dir(s.real)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
	}
	return nil
}

func (r *Root) stage(f File) (*staged, error) {
	real, err := r.Resolve(f.Path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(real)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &staged{File: f, real: real}
	mode := fs.FileMode(0o644)
	old, err := os.ReadFile(real)
	switch {
	case err == nil:
		fi, err := os.Stat(real)
		if err != nil {
			return nil, err
		}
		mode = fi.Mode().Perm()
		if s.backup, err = writeTemp(dir, filepath.Base(real)+".orig", old, mode); err != nil {
			return s, err
		}
	case !errors.Is(err, fs.ErrNotExist) && !isDirErr(real):
		return nil, err
	}
	s.tmp, err = writeTemp(dir, filepath.Base(real), f.Data, mode)
	return s, err
}

// isDirErr: the target is a directory; the rename into place reports it.
func isDirErr(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// restore puts the old content back, or removes a file that was new.
func (s *staged) restore() error {
	if s.backup == "" {
		if err := os.Remove(s.real); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", s.Path, err)
		}
		return nil
	}
	if err := os.Rename(s.backup, s.real); err != nil {
		return fmt.Errorf("restore %s: %w", s.Path, err)
	}
	s.backup = ""
	return nil
}

func writeTemp(dir, base string, data []byte, mode fs.FileMode) (string, error) {
	t, err := os.CreateTemp(dir, "."+base+".rds-provision-*")
	if err != nil {
		return "", err
	}
	name := t.Name()
	_, err = t.Write(data)
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, mode)
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
