package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The write-back: after a provision run, each entry it worked on becomes
// active, or failed when one of its audit rows is an error, in one update
// of the catalog files (one commit through the GitHub API, or a working
// tree), and none when the catalog already says so.

// Outcome is the catalog status a provision run earned one entry: the
// database's own status for its owner entry, the access record's for an
// editor or reader entry.
type Outcome struct {
	Database    string
	Username    string
	AccessLevel string // owner, editor or reader
	Status      string // active or failed
	Error       string // the first error row's message, for failed
}

// Key is what the outcome sets: the database's status (owner entry) or
// its access record's.
func (o Outcome) Key() Key {
	if o.AccessLevel == "" || o.AccessLevel == tfvars.AccessOwner {
		return Key{Database: o.Database}
	}
	return Key{Database: o.Database, Username: o.Username}
}

// Outcomes maps each entry the run worked on to active (no error row) or
// failed (an error row, whose message it keeps), in tfvars order. Entries
// the run never reached (fail-fast stopped before them) have no row and
// keep their status.
func Outcomes(entries []tfvars.Entry, rows []audit.Row) []Outcome {
	var out []Outcome
	for _, e := range entries {
		o := Outcome{Database: e.DatabaseName, Username: e.Username, AccessLevel: e.AccessLevel}
		for _, r := range rows {
			if r.Database != e.DatabaseName || r.Username != e.Username {
				continue
			}
			if o.Status == "" {
				o.Status = "active"
			}
			if r.Status == audit.Error && o.Error == "" {
				o.Status, o.Error = "failed", r.Message
			}
		}
		if o.Status != "" {
			out = append(out, o)
		}
	}
	return out
}

// ErrOutsideRepository refuses a repository root that is not a path
// inside the repository.
var ErrOutsideRepository = errors.New("not a path inside the repository")

// StatusUpdate is the write-back of one provision run in one environment.
type StatusUpdate struct {
	Env string
	// RepoRoot is where the infra repository's root is inside the
	// repository the files are written to: slash-separated and relative,
	// "." (or "") for the repository's root.
	RepoRoot string
	Outcomes []Outcome
	// RunURL links the run in the commit message; "" for none.
	RunURL string
	Now    time.Time
}

// Files are the catalog files the update may edit: the environment's own
// catalog and, for an environment other than dev, the shared
// rds-catalog.yaml, whose entries may name it in metadata.environment.
func (u StatusUpdate) Files() ([]string, error) {
	root := filepath.ToSlash(filepath.Clean(u.RepoRoot))
	if path.IsAbs(root) || root == ".." || strings.HasPrefix(root, "../") {
		return nil, fmt.Errorf("repo root %q: %w", u.RepoRoot, ErrOutsideRepository)
	}
	files := []string{path.Join(root, Path(u.Env))}
	if u.Env != DefaultEnvironment {
		files = append(files, path.Join(root, Path(DefaultEnvironment)))
	}
	return files, nil
}

// Message is the commit message: the entries, each one's status, and the
// run.
func (u StatusUpdate) Message() string {
	names := make([]string, 0, len(u.Outcomes))
	seen := map[string]bool{}
	for _, o := range u.Outcomes {
		if !seen[o.Database] {
			seen[o.Database] = true
			names = append(names, o.Database)
		}
	}
	sort.Strings(names)
	message := fmt.Sprintf("catalog: %s in %s after provisioning\n\n", strings.Join(names, ", "), u.Env)
	for _, o := range u.Outcomes {
		message += fmt.Sprintf("%s: %s\n", o.Key(), o.Status)
	}
	if u.RunURL != "" {
		message += "\nRun: " + u.RunURL + "\n"
	}
	return message
}

// FileUpdater writes a set of files in one change. *gh.Client implements
// it with one verified commit on the branch through the Git Data API; the
// command line has a working tree (all files or none) and a dry run.
type FileUpdater interface {
	// UpdateFiles replaces each of files with what edit returns for its
	// current content (nil when missing) in one change; changed is false,
	// and nothing is written, when edit changes nothing.
	UpdateFiles(ctx context.Context, branch string, files []string, message string, edit func(file string, old []byte) ([]byte, error)) (sha string, changed bool, err error)
}

// StatusResult is what WriteStatus did.
type StatusResult struct {
	// Commit is the commit made, "" when none was (the catalog already
	// said so, or the updater makes no commits).
	Commit string
	// Written is true when the files were changed.
	Written bool
	// Changed are the entries whose status moved, file by file in file
	// order.
	Changed []string
	// Diff is the unified diff of each changed file.
	Diff string
}

// WriteStatus sets each outcome's entry to its status in the catalog files
// of u.Env, in one update of branch through fu: metadata.status (owner
// entries) or the status of the access record (editor and reader entries),
// and last_updated of each file that changes; no write when every status
// already holds. A missing file stays missing. The entries of other
// environments are never touched.
func WriteStatus(ctx context.Context, fu FileUpdater, branch string, u StatusUpdate) (StatusResult, error) {
	files, err := u.Files()
	if err != nil {
		return StatusResult{}, err
	}
	want := map[Key]string{}
	for _, o := range u.Outcomes {
		want[o.Key()] = o.Status
	}
	if len(want) == 0 {
		return StatusResult{}, nil
	}
	now := u.Now
	if now.IsZero() {
		now = time.Now()
	}
	// The updater may call edit again on a newer head: keep each file's
	// last edit only.
	type fileEdit struct {
		old, new []byte
		names    []string
	}
	edits := map[string]fileEdit{}
	sha, written, err := fu.UpdateFiles(ctx, branch, files, u.Message(), func(file string, old []byte) ([]byte, error) {
		if old == nil {
			delete(edits, file)
			return nil, nil
		}
		out, names, err := SetStatuses(old, u.Env, want, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		edits[file] = fileEdit{old: old, new: out, names: names}
		return out, nil
	})
	if err != nil {
		return StatusResult{}, err
	}
	res := StatusResult{Written: written}
	if written {
		res.Commit = sha
	}
	for _, f := range files {
		e, ok := edits[f]
		if !ok || bytes.Equal(e.old, e.new) {
			continue
		}
		res.Changed = append(res.Changed, e.names...)
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(e.old)), B: difflib.SplitLines(string(e.new)),
			FromFile: "a/" + f, ToFile: "b/" + f, Context: 2,
		})
		if err != nil {
			return res, fmt.Errorf("diff %s: %w", f, err)
		}
		res.Diff += d
	}
	return res, nil
}
