package report

import (
	"fmt"
	"strings"

	"github.com/goldenpath/rds-provision/internal/catalog"
)

// CatalogStatus is what the catalog status section of a provision job
// summary shows: each entry's new status and what was written.
type CatalogStatus struct {
	// Outcomes, with error text already free of secret values.
	Outcomes []catalog.Outcome
	// Branch the catalog was updated on.
	Branch string
	Result catalog.StatusResult
}

// CatalogStatusSection renders the catalog status section: a table of the
// entries and their status (with the error of a failed one), then the
// commit, or that the catalog already said so.
func CatalogStatusSection(c CatalogStatus) string {
	var b strings.Builder
	b.WriteString("### Catalog status\n\n| Database | Status | Error |\n|---|---|---|\n")
	for _, o := range c.Outcomes {
		// An editor's or reader's outcome is its access record's.
		fmt.Fprintf(&b, "| %s | %s | %s |\n", text(o.Key().String()), text(o.Status), text(cut(o.Error, maxErrorChars)))
	}
	b.WriteString("\n")
	switch {
	case c.Result.Commit != "":
		fmt.Fprintf(&b, "Committed to %s as %s (%s).\n", text(c.Branch), text(c.Result.Commit), text(strings.Join(c.Result.Changed, ", ")))
	case c.Result.Written:
		fmt.Fprintf(&b, "Written on %s (%s).\n", text(c.Branch), text(strings.Join(c.Result.Changed, ", ")))
	default:
		fmt.Fprintf(&b, "The catalog on %s already says so: no commit.\n", text(c.Branch))
	}
	return b.String()
}

// UnprotectedBanner is the job summary's warning for a run that provisioned
// although its GitHub Environment holds nobody back
// (allow_unprotected_environment).
func UnprotectedBanner(message string) string {
	return "> [!CAUTION]\n> ⚠️ **Provisioned without approval:** " + text(message) + "\n\n"
}
