package action

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// entryStatus is the catalog status one provisioned entry earned.
type entryStatus struct {
	Database string
	Status   string // active or failed
	Error    string // the first error row's message, for failed
}

// catalogStatuses maps each entry the run worked on to active (no error
// row) or failed (an error row, whose message it keeps). Entries the run
// never reached (fail-fast stopped before them) keep their status.
func catalogStatuses(entries []tfvars.Entry, rows []audit.Row) []entryStatus {
	var out []entryStatus
	for _, e := range entries {
		st := entryStatus{Database: e.DatabaseName}
		for _, r := range rows {
			if r.Database != e.DatabaseName || r.Username != e.Username {
				continue
			}
			if st.Status == "" {
				st.Status = "active"
			}
			if r.Status == audit.Error && st.Error == "" {
				st.Status, st.Error = "failed", r.Message
			}
		}
		if st.Status != "" {
			out = append(out, st)
		}
	}
	return out
}

// updateCatalogStatus records the run's outcome in the catalog on the
// branch the run provisioned from (the base branch the request merged
// into): each entry's metadata.status becomes active or failed, in one
// verified commit through the Git Data API, and no commit when the catalog
// already says so (a rerun). It returns the commit's SHA, or "" when none
// was made. Failing to write is a warning: the databases exist either way.
func (rt *runtime) updateCatalogStatus(ctx context.Context, in provisionInputs, res provision.Result, rows []audit.Row) string {
	warn := func(format string, args ...any) string {
		rt.annotate("warning", annotation{Title: "rds-provision: catalog status", Message: fmt.Sprintf(format, args...)})
		return ""
	}
	statuses := catalogStatuses(res.Entries, rows)
	if len(statuses) == 0 {
		return ""
	}
	want := map[string]string{}
	for _, s := range statuses {
		want[s.Database] = s.Status
	}
	branch, ok := strings.CutPrefix(rt.opts.Getenv("GITHUB_REF"), "refs/heads/")
	if !ok || branch == "" {
		rt.gha.Infof("Not updating the catalog status: the run is not on a branch (GITHUB_REF %q).", rt.opts.Getenv("GITHUB_REF"))
		return ""
	}
	root := filepath.ToSlash(filepath.Clean(in.repoRoot))
	if path.IsAbs(root) || root == ".." || strings.HasPrefix(root, "../") {
		return warn("Not updating the catalog status: repo_root %q is not a path inside the repository.", in.repoRoot)
	}
	// The environment's own catalog, and the shared rds-catalog.yaml whose
	// entries may name this environment in metadata.environment.
	files := []string{path.Join(root, catalog.Path(in.env))}
	if in.env != catalog.DefaultEnvironment {
		files = append(files, path.Join(root, catalog.Path(catalog.DefaultEnvironment)))
	}
	client, err := rt.github()
	if err != nil {
		return warn("Not updating the catalog status: %v", err)
	}

	var changed []string
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	message := fmt.Sprintf("catalog: %s in %s after provisioning\n\n", strings.Join(names, ", "), in.env)
	for _, s := range statuses {
		message += fmt.Sprintf("%s: %s\n", s.Database, s.Status)
	}
	if u := rt.runURL(); u != "" {
		message += "\nRun: " + u + "\n"
	}
	sha, moved, err := client.UpdateFiles(ctx, branch, files, message, func(file string, old []byte) ([]byte, error) {
		if old == nil {
			return nil, nil
		}
		out, names, err := catalog.SetStatus(old, in.env, want, rt.opts.Now())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		changed = append(changed, names...)
		return out, nil
	})
	if err != nil {
		return warn("Could not update the catalog status on %s: %v. A protected branch needs the token's GitHub App (or user) allowed to push to it.", branch, err)
	}

	var b strings.Builder
	b.WriteString("### Catalog status\n\n| Database | Status | Error |\n|---|---|---|\n")
	for _, s := range statuses {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", mdText(s.Database), mdText(s.Status), mdText(mdCut(rt.scrub(s.Error), maxErrorChars)))
	}
	b.WriteString("\n")
	if moved {
		fmt.Fprintf(&b, "Committed to %s as %s (%s).\n", mdText(branch), mdText(sha), mdText(strings.Join(changed, ", ")))
		rt.gha.Infof("Catalog status committed to %s: %s", branch, sha)
	} else {
		fmt.Fprintf(&b, "The catalog on %s already says so: no commit.\n", mdText(branch))
		sha = ""
	}
	rt.addSummary(b.String())
	return sha
}
