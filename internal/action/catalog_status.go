package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/report"
)

// updateCatalogStatus records the run's outcome in the catalog on the
// branch the run provisioned from (the base branch the request merged
// into): each entry's metadata.status becomes active or failed, in one
// verified commit through the Git Data API, and no commit when the catalog
// already says so (a rerun); see catalog.WriteStatus. It returns the
// commit's SHA, or "" when none was made. Failing to write is a warning:
// the databases exist either way.
func (rt *runtime) updateCatalogStatus(ctx context.Context, in provisionInputs, res provision.Result, rows []audit.Row) string {
	warn := func(format string, args ...any) string {
		rt.annotate("warning", annotation{Title: "rds-provision: catalog status", Message: fmt.Sprintf(format, args...)})
		return ""
	}
	outcomes := catalog.Outcomes(res.Entries, rows)
	if len(outcomes) == 0 {
		return ""
	}
	branch, ok := strings.CutPrefix(rt.opts.Getenv("GITHUB_REF"), "refs/heads/")
	if !ok || branch == "" {
		rt.gha.Infof("Not updating the catalog status: the run is not on a branch (GITHUB_REF %q).", rt.opts.Getenv("GITHUB_REF"))
		return ""
	}
	update := catalog.StatusUpdate{Env: in.env, RepoRoot: in.repoRoot, Outcomes: outcomes, RunURL: rt.runURL(), Now: rt.opts.Now()}
	if _, err := update.Files(); errors.Is(err, catalog.ErrOutsideRepository) {
		return warn("Not updating the catalog status: repo_root %q is not a path inside the repository.", in.repoRoot)
	}
	client, err := rt.github()
	if err != nil {
		return warn("Not updating the catalog status: %v", err)
	}
	result, err := catalog.WriteStatus(ctx, client, branch, update)
	if err != nil {
		return warn("Could not update the catalog status on %s: %v. A protected branch needs the token's GitHub App (or user) allowed to push to it.", branch, err)
	}
	for i := range outcomes {
		outcomes[i].Error = rt.scrub(outcomes[i].Error)
	}
	rt.addSummary(report.CatalogStatusSection(report.CatalogStatus{Outcomes: outcomes, Branch: branch, Result: result}))
	if result.Commit != "" {
		rt.gha.Infof("Catalog status committed to %s: %s", branch, result.Commit)
	}
	return result.Commit
}
