package schema

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// Applied is one row of the marker table: a template file that ran.
type Applied struct {
	Template  string
	Version   int
	AppliedAt time.Time
}

// State is what Inspect finds in a database.
type State struct {
	// Marker is true when public.rds_provision_schema exists.
	Marker bool
	// Applied are its rows, in template and version order.
	Applied []Applied
	// Existing are the names in schema public (relations and functions)
	// that some template would create, sorted; the marker excluded.
	Existing []string
}

// Action is what Decide chose.
type Action string

// The three outcomes; they map to the audit statuses success (or dry_run),
// no_change and warning.
const (
	ActionApply    Action = "apply"
	ActionNoChange Action = "no_change"
	ActionWarning  Action = "warning"
)

// Decision is what to do with one template on one database.
type Decision struct {
	Action   Action
	Template string
	From     int    // the template's version in the database before; 0 when absent
	To       int    // the version after
	Files    []File // the files to run, in order; only for ActionApply
	// Message explains a NoChange or Warning, for the audit row.
	Message string
}

// Decide compares the template with what the database holds. It applies
// nothing when the database has another template, a newer version of this
// one, or, without a marker row for this template, any object the
// template would create: such a database was set up by someone else and
// its data is left alone.
func Decide(t Template, s State) Decision {
	d := Decision{Template: t.Name, To: t.Version()}
	versions := map[string]int{}
	var others []string
	for _, a := range s.Applied {
		if a.Version > versions[a.Template] {
			versions[a.Template] = a.Version
		}
	}
	for name := range versions {
		if name != t.Name {
			others = append(others, fmt.Sprintf("%s (v%d)", name, versions[name]))
		}
	}
	sort.Strings(others)
	d.From = versions[t.Name]
	switch {
	case len(others) > 0:
		d.Action, d.To = ActionWarning, d.From
		d.Message = fmt.Sprintf("Database already has schema template %s (see public.%s); %s not applied", strings.Join(others, ", "), MarkerTable, t.Label())
	case d.From > t.Version():
		d.Action, d.To = ActionWarning, d.From
		d.Message = fmt.Sprintf("Database has schema template %s v%d, newer than this rds-provision's v%d; nothing applied (upgrade rds-provision)", t.Name, d.From, t.Version())
	case d.From == t.Version():
		d.Action = ActionNoChange
		d.Message = fmt.Sprintf("Schema template %s already applied", t.Label())
	case d.From == 0 && len(conflicts(t, s)) > 0:
		d.Action, d.To = ActionWarning, 0
		d.Message = fmt.Sprintf("Database already has %s, which schema template %s would create, and no %s marker: template not applied, data untouched",
			strings.Join(conflicts(t, s), ", "), t.Name, MarkerTable)
	default:
		d.Action = ActionApply
		d.Files = t.Files[d.From:]
	}
	return d
}

// conflicts are the template's objects already present in the database.
func conflicts(t Template, s State) []string {
	have := map[string]bool{}
	for _, e := range s.Existing {
		have[e] = true
	}
	var out []string
	for _, o := range t.Objects {
		if have[o] {
			out = append(out, o)
		}
	}
	return out
}

// Plan is the dry-run line of an ActionApply decision (provision prefixes
// [DRY-RUN]), e.g. "Would apply schema template event-sourcing (v1) to orders".
func (d Decision) Plan(db string) string {
	if d.From > 0 {
		return fmt.Sprintf("Would upgrade schema template %s from v%d to v%d in %s", d.Template, d.From, d.To, db)
	}
	return fmt.Sprintf("Would apply schema template %s (v%d) to %s", d.Template, d.To, db)
}

// Done is the audit message once an ActionApply decision has run.
func (d Decision) Done(db string) string {
	if d.From > 0 {
		return fmt.Sprintf("Upgraded schema template %s from v%d to v%d in %s", d.Template, d.From, d.To, db)
	}
	return fmt.Sprintf("Applied schema template %s (v%d) to %s", d.Template, d.To, db)
}

// Row is the audit status and message of an apply_schema step for db:
// in a dry run (dryRun true) an ActionApply decision is audit.DryRun with
// Plan's line; after Apply it is audit.Success with Done's; NoChange and
// Warning keep their Message.
func (d Decision) Row(db string, dryRun bool) (audit.Status, string) {
	switch d.Action {
	case ActionApply:
		if dryRun {
			return audit.DryRun, d.Plan(db)
		}
		return audit.Success, d.Done(db)
	case ActionNoChange:
		return audit.NoChange, d.Message
	}
	return audit.Warning, d.Message
}
