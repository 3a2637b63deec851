package provision

import (
	"slices"
	"strings"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// kind is a class of object whose ACL an access level governs.
type kind string

const (
	kindDatabase        kind = "database"
	kindSchema          kind = "schema"
	kindTable           kind = "table"
	kindSequence        kind = "sequence"
	kindDefaultTable    kind = "default_table"    // default privileges of the owner for its future tables
	kindDefaultSequence kind = "default_sequence" // and for its future sequences
)

// kinds lists the governed kinds in the order plans and messages use.
var kinds = []kind{kindDatabase, kindSchema, kindTable, kindSequence, kindDefaultTable, kindDefaultSequence}

// privs is a set of privilege keywords as aclexplode names them (SELECT,
// CONNECT, ...), kept sorted in the server's canonical order by render.
type privs map[string]bool

func privsOf(names ...string) privs {
	p := privs{}
	for _, n := range names {
		if n != "" {
			p[n] = true
		}
	}
	return p
}

// minus is what p holds that q does not.
func (p privs) minus(q privs) privs {
	out := privs{}
	for n := range p {
		if !q[n] {
			out[n] = true
		}
	}
	return out
}

func (p privs) clone() privs { return p.minus(nil) }

// union is what p or q holds.
func (p privs) union(q privs) privs {
	out := p.clone()
	for n := range q {
		out[n] = true
	}
	return out
}

// render lists p in the order of order (the privileges of that kind), then
// any others alphabetically, joined as GRANT lists them.
func (p privs) render(order []string) string {
	var out []string
	for _, n := range order {
		if p[n] {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range p {
		if !slices.Contains(order, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return strings.Join(append(out, rest...), ", ")
}

// allPrivileges is every privilege the server knows per kind; PostgreSQL 17
// adds MAINTAIN on tables, so the state reader asks the server. These are
// the PostgreSQL 15 lists, used when planning without a server.
func defaultAllPrivileges() map[kind][]string {
	table := []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
	seq := []string{"USAGE", "SELECT", "UPDATE"}
	return map[kind][]string{
		kindDatabase:        {"CONNECT", "CREATE", "TEMPORARY"},
		kindSchema:          {"USAGE", "CREATE"},
		kindTable:           table,
		kindSequence:        seq,
		kindDefaultTable:    table,
		kindDefaultSequence: seq,
	}
}

// levelPrivileges is SPEC's grants table: what an access level holds on
// each kind. all is the server's list of every privilege per kind.
func levelPrivileges(level string, all map[kind][]string) map[kind]privs {
	switch level {
	case tfvars.AccessEditor:
		return map[kind]privs{
			kindDatabase:        privsOf("CONNECT"),
			kindSchema:          privsOf("USAGE"),
			kindTable:           privsOf("SELECT", "INSERT", "UPDATE", "DELETE"),
			kindSequence:        privsOf("USAGE", "SELECT"),
			kindDefaultTable:    privsOf("SELECT", "INSERT", "UPDATE", "DELETE"),
			kindDefaultSequence: privsOf("USAGE", "SELECT"),
		}
	case tfvars.AccessReader:
		return map[kind]privs{
			kindDatabase:        privsOf("CONNECT"),
			kindSchema:          privsOf("USAGE"),
			kindTable:           privsOf("SELECT"),
			kindSequence:        privsOf("SELECT"),
			kindDefaultTable:    privsOf("SELECT"),
			kindDefaultSequence: privsOf("SELECT"),
		}
	}
	out := map[kind]privs{}
	for _, k := range kinds {
		out[k] = privsOf(all[k]...)
	}
	return out
}

// grantLabel is what dry run and messages say a level grants.
func grantLabel(level string) string {
	switch level {
	case tfvars.AccessEditor:
		return "SELECT, INSERT, UPDATE, DELETE"
	case tfvars.AccessReader:
		return "SELECT"
	}
	return "ALL"
}

// privOrder is the order statements and messages list a kind's privileges
// in: the grants table's, then the rest as GRANT's documentation lists them.
func privOrder(k kind) []string {
	switch k {
	case kindDatabase:
		return []string{"CONNECT", "CREATE", "TEMPORARY"}
	case kindSchema:
		return []string{"USAGE", "CREATE"}
	case kindSequence, kindDefaultSequence:
		return []string{"USAGE", "SELECT", "UPDATE"}
	}
	return []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
}
