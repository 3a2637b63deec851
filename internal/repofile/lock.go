package repofile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockWait bounds how long Lock waits for another run.
const LockWait = 2 * time.Minute

// LockPath is the lock file of the repo: rds-provision.lock in its git
// directory (.git, or the directory a worktree's .git file names), so it
// never shows as an untracked file; .rds-provision.lock in the root when
// the tree is not a git checkout.
func (r *Root) LockPath() string {
	git := filepath.Join(r.real, ".git")
	fi, err := os.Stat(git)
	switch {
	case err == nil && fi.IsDir():
		return filepath.Join(git, "rds-provision.lock")
	case err == nil && fi.Mode().IsRegular():
		b, err := os.ReadFile(git)
		if d, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: "); err == nil && ok {
			if !filepath.IsAbs(d) {
				d = filepath.Join(r.real, d)
			}
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				return filepath.Join(d, "rds-provision.lock")
			}
		}
	}
	return filepath.Join(r.real, ".rds-provision.lock")
}

// Lock takes the repo's exclusive lock (flock on LockPath), so that
// concurrent --local runs read and write one after the other instead of
// each writing over the other's entry. It waits while another run holds
// it, until ctx ends or LockWait passes; waiting is reported once through
// waiting. The lock is released by unlock, or by the OS when the process
// ends, so a crashed run never leaves the repo locked.
func (r *Root) Lock(ctx context.Context, waiting func(path string)) (unlock func(), err error) {
	path := r.LockPath()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, LockWait)
	defer cancel()
	told := false
	for {
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if locked {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if !told && waiting != nil {
			waiting(path)
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: another rds-provision request still holds it after %s (%w); let it finish and run again", path, LockWait, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
