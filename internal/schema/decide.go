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
	// Message explains a NoChange or Warning without naming the database;
	// Row's message names it, because the apply_schema rows of a run come
	// after every entry's grants and would be ambiguous in the log.
	Message string
	// why, names and version (the template's) let Row say Message again
	// with the database in it.
	why     reason
	names   string
	version int
}

// reason is which NoChange or Warning case Decide found.
type reason int

const (
	reasonNone reason = iota
	reasonOtherTemplate
	reasonNewer
	reasonApplied
	reasonConflict
)

// Decide compares the template with what the database holds. It applies
// nothing when the database has another template, a newer version of this
// one, or, without a marker row for this template, any object the
// template would create: such a database was set up by someone else and
// its data is left alone.
func Decide(t Template, s State) Decision {
	d := Decision{Template: t.Name, To: t.Version(), version: t.Version()}
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
		d.why, d.names = reasonOtherTemplate, strings.Join(others, ", ")
	case d.From > t.Version():
		d.Action, d.To = ActionWarning, d.From
		d.why = reasonNewer
	case d.From == t.Version():
		d.Action = ActionNoChange
		d.why = reasonApplied
	case d.From == 0 && len(conflicts(t, s)) > 0:
		d.Action, d.To = ActionWarning, 0
		d.why, d.names = reasonConflict, strings.Join(conflicts(t, s), ", ")
	default:
		d.Action = ActionApply
		d.Files = t.Files[d.From:]
		return d
	}
	d.Message = d.explain("")
	return d
}

// explain words a NoChange or Warning decision, naming db when given
// ("Database legacy already has users, …", as the runbook's "Database
// keycloak exists but owner is postgres").
func (d Decision) explain(db string) string {
	label := fmt.Sprintf("%s (v%d)", d.Template, d.version)
	subject, in := "Database", ""
	if db != "" {
		subject, in = "Database "+db, " to "+db
	}
	switch d.why {
	case reasonOtherTemplate:
		return fmt.Sprintf("%s already has schema template %s (see public.%s); %s not applied", subject, d.names, MarkerTable, label)
	case reasonNewer:
		return fmt.Sprintf("%s has schema template %s v%d, newer than this rds-provision's v%d; nothing applied (upgrade rds-provision)", subject, d.Template, d.From, d.version)
	case reasonApplied:
		return fmt.Sprintf("Schema template %s already applied%s", label, in)
	case reasonConflict:
		return fmt.Sprintf("%s already has %s, which schema template %s would create, and no %s marker: template not applied, data untouched", subject, d.names, d.Template, MarkerTable)
	}
	return d.Message
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
// Warning say their Message with db named.
func (d Decision) Row(db string, dryRun bool) (audit.Status, string) {
	switch d.Action {
	case ActionApply:
		if dryRun {
			return audit.DryRun, d.Plan(db)
		}
		return audit.Success, d.Done(db)
	case ActionNoChange:
		return audit.NoChange, d.explain(db)
	}
	return audit.Warning, d.explain(db)
}
