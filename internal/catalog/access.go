package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/yamledit"
)

// The access records: who, besides its owner, may use a database. Each
// editor or reader entry of the tfvars has one under its database's entry,
// keyed by its username, from the grant through its retirement:
//
//	databases:
//	  orders:
//	    metadata: ...
//	    configuration: ...
//	    access:
//	      orders_bi:
//	        level: reader
//	        team: app-team
//	        requested_by: jane-doe
//	        granted_date: "2026-01-20"
//	        status: pending
//
// A change of level adds changed_by and changed_date (and the record goes
// back to pending until provision converges it); a retirement request adds
// retire_requested_by and retire_requested_date and moves the status to
// decommissioning, until provision retires the role.

// Access is one access record.
type Access struct {
	Username    string // the key
	Level       string // editor or reader
	Team        string // the team the access is for
	RequestedBy string // GitHub login of who asked for the grant
	GrantedDate string // YYYY-MM-DD
	Status      string // one of Statuses
	ChangedBy   string // who asked for the last change of level
	ChangedDate string
	// RetireRequestedBy and RetireRequestedDate: who asked to retire it.
	RetireRequestedBy   string
	RetireRequestedDate string
}

// StatusRetiring is what a retirement request writes: the role is on its
// way out (decommissioning) until provision retires it (retired).
const StatusRetiring = "decommissioning"

// ErrNoEntry: the catalog has no entry for the database in the environment.
var ErrNoEntry = errors.New("catalog has no entry for the database")

func readAccess(n *yaml.Node) []Access {
	m := yamledit.Lookup(n, "access")
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []Access
	for i := 0; i+1 < len(m.Content); i += 2 {
		r := m.Content[i+1]
		out = append(out, Access{
			Username: m.Content[i].Value, Level: yamledit.Scalar(r, "level"), Team: yamledit.Scalar(r, "team"),
			RequestedBy: yamledit.Scalar(r, "requested_by"), GrantedDate: yamledit.Scalar(r, "granted_date"),
			Status: yamledit.Scalar(r, "status"), ChangedBy: yamledit.Scalar(r, "changed_by"), ChangedDate: yamledit.Scalar(r, "changed_date"),
			RetireRequestedBy: yamledit.Scalar(r, "retire_requested_by"), RetireRequestedDate: yamledit.Scalar(r, "retire_requested_date"),
		})
	}
	return out
}

// AccessOf returns the record of username in e, and whether there is one.
func (e Entry) AccessOf(username string) (Access, bool) {
	for _, a := range e.Access {
		if a.Username == username {
			return a, true
		}
	}
	return Access{}, false
}

// Grant records a new access grant under the entry of database in the
// catalog src of env: level, team, requester, today's date and status
// pending. A record that already says the same level and team is kept as
// it is (changed false: a rerun writes nothing); one that says otherwise
// is replaced by the new grant.
func Grant(src []byte, env, database string, a Access, now time.Time) ([]byte, bool, error) {
	if err := checkLevel(a.Level); err != nil {
		return nil, false, err
	}
	return editEntry(src, env, database, now, func(ed *yamledit.Editor, entry *yaml.Node) bool {
		if old, ok := (readEntry(database, entry)).AccessOf(a.Username); ok && old.Level == a.Level && old.Team == a.Team && !IsRetiring(old.Status) {
			return false
		}
		rec := yamledit.Mapping(
			"level", yamledit.Str(a.Level), "team", yamledit.Str(a.Team), "requested_by", yamledit.Str(a.RequestedBy),
			"granted_date", yamledit.Quoted(day(now)), "status", yamledit.Str("pending"))
		return setRecord(ed, entry, a.Username, rec)
	})
}

// ChangeAccess sets the level of username's record under database to
// level, records who asked and when, and puts it back to pending (provision
// converges the role's privileges to the new level). A missing record is
// added with what is known. changed is false when the record already says
// level.
func ChangeAccess(src []byte, env, database, username, level, by string, now time.Time) ([]byte, bool, error) {
	if err := checkLevel(level); err != nil {
		return nil, false, err
	}
	return editEntry(src, env, database, now, func(ed *yamledit.Editor, entry *yaml.Node) bool {
		if old, ok := (readEntry(database, entry)).AccessOf(username); ok && old.Level == level {
			return false
		}
		rec := yamledit.Mapping("level", yamledit.Str(level), "status", yamledit.Str("pending"),
			"changed_by", yamledit.Str(by), "changed_date", yamledit.Quoted(day(now)))
		return setRecord(ed, entry, username, rec)
	})
}

// Retirement is a request to retire roles of one database.
type Retirement struct {
	// Grants are the editor and reader roles retired, with their levels
	// (a missing record is added with its level).
	Grants []Access
	// Database is true when the owner is retired: the database's own
	// metadata.status moves too.
	Database bool
	By       string // GitHub login of who asked
}

// Retire moves the records of r's grants, and the database's own status
// when r.Database, to decommissioning with who asked and when. An entry
// or record already decommissioning or retired is left as it is; changed
// is false when all are.
func Retire(src []byte, env, database string, r Retirement, now time.Time) ([]byte, bool, error) {
	return editEntry(src, env, database, now, func(ed *yamledit.Editor, entry *yaml.Node) bool {
		changed := false
		stamp := yamledit.Mapping("status", yamledit.Str(StatusRetiring),
			"retire_requested_by", yamledit.Str(r.By), "retire_requested_date", yamledit.Quoted(day(now)))
		if meta := yamledit.Lookup(entry, "metadata"); r.Database && !IsRetiring(yamledit.Scalar(meta, "status")) {
			if meta == nil || meta.Kind != yaml.MappingNode || len(meta.Content) == 0 {
				ed.SetKey(entry, "metadata", stamp)
				changed = true
			} else {
				changed = setFields(ed, meta, stamp) || changed
			}
		}
		current := readEntry(database, entry)
		for _, g := range r.Grants {
			if old, ok := current.AccessOf(g.Username); ok && IsRetiring(old.Status) {
				continue
			}
			rec := yamledit.Mapping("level", yamledit.Str(g.Level))
			if accessNode(entry, g.Username) != nil {
				rec = yamledit.Mapping()
			}
			rec.Content = append(rec.Content, stamp.Content...)
			changed = setRecord(ed, entry, g.Username, rec) || changed
		}
		return changed
	})
}

func checkLevel(level string) error {
	if level != "editor" && level != "reader" {
		return fmt.Errorf("catalog: access level %q: want editor or reader (the owner is the entry's configuration.username)", level)
	}
	return nil
}

func day(now time.Time) string { return now.UTC().Format("2006-01-02") }

// accessNode is the record of username under entry, nil when none.
func accessNode(entry *yaml.Node, username string) *yaml.Node {
	return yamledit.Lookup(yamledit.Lookup(entry, "access"), username)
}

// setRecord writes the fields of rec into username's record under entry:
// a new record is added under access (created when missing); an existing
// one gets each field in place or as a new line, and one that is not a
// mapping is replaced whole.
func setRecord(ed *yamledit.Editor, entry *yaml.Node, username string, rec *yaml.Node) bool {
	switch old := accessNode(entry, username); {
	case old == nil:
		ed.AddUnder(entry, "access", username, rec)
		return true
	case old.Kind != yaml.MappingNode || len(old.Content) == 0:
		ed.SetKey(yamledit.Lookup(entry, "access"), username, rec)
		return true
	default:
		return setFields(ed, old, rec)
	}
}

// setFields writes each key of want into the mapping n: a scalar in
// place, a missing key as a new line.
func setFields(ed *yamledit.Editor, n, want *yaml.Node) bool {
	changed := false
	for i := 0; i+1 < len(want.Content); i += 2 {
		k, v := want.Content[i].Value, want.Content[i+1]
		switch old := yamledit.Lookup(n, k); {
		case old != nil && old.Kind == yaml.ScalarNode && old.Value == v.Value:
		case old != nil && old.Kind == yaml.ScalarNode:
			ed.SetScalar(old, v.Value)
			changed = true
		default:
			ed.SetKey(n, k, v)
			changed = true
		}
	}
	return changed
}

// editEntry runs edit on the entry of database in the catalog src of env
// and moves last_updated when it changed anything. The file must be env's
// (its rds_instance) and hold the entry, for env.
func editEntry(src []byte, env, database string, now time.Time, edit func(*yamledit.Editor, *yaml.Node) bool) ([]byte, bool, error) {
	f, err := load(src)
	if err != nil {
		return nil, false, err
	}
	root := f.Root()
	if root == nil {
		return nil, false, fmt.Errorf("%w: %s (the catalog is empty)", ErrNoEntry, database)
	}
	if inst := yamledit.Scalar(root, "rds_instance"); inst != "" && inst != Instance(env) {
		return nil, false, fmt.Errorf("%w: the catalog is for rds_instance %q, not %q", ErrOtherEnvironment, inst, Instance(env))
	}
	entry := yamledit.Lookup(yamledit.Lookup(root, "databases"), database)
	if entry == nil || entry.Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("%w: %s", ErrNoEntry, database)
	}
	if e := readEntry(database, entry); e.Environment != "" && e.Environment != env {
		return nil, false, fmt.Errorf("%w: entry %s is for environment %q, not %q", ErrOtherEnvironment, database, e.Environment, env)
	}
	if a := yamledit.Lookup(entry, "access"); a != nil && a.Kind != yaml.MappingNode && a.Tag != "!!null" {
		return nil, false, fmt.Errorf("%w: %s: access at line %d must be a mapping of usernames (%s)", ErrLayout, database, a.Line, strings.Join(accessKeys, ", "))
	}
	ed := yamledit.NewEditor(f)
	if !edit(ed, entry) {
		return src, false, nil
	}
	touchLastUpdated(ed, root, now)
	out, err := written(ed)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// accessKeys are a record's fields, in the order they are written.
var accessKeys = []string{"level", "team", "requested_by", "granted_date", "status", "changed_by", "changed_date", "retire_requested_by", "retire_requested_date"}

// StatusRetired is the status provision gives a retired role (SPEC's
// lifecycle).
const StatusRetired = "retired"

// IsRetiring reports whether status is decommissioning or retired: the
// role is retired, or on its way.
func IsRetiring(status string) bool {
	return slices.Contains([]string{StatusRetiring, StatusRetired}, status)
}
