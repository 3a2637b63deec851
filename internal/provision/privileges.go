package provision

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The access levels: what each holds on each kind of object (SPEC's
// grants table), what "ALL" means on this server, and the sets of
// privilege keywords the plan compares.

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

// sqlAllPrivileges asks the server what ALL means per object type (an
// owner's default ACL holds every privilege), so PostgreSQL 17's MAINTAIN
// is covered where it exists.
const sqlAllPrivileges = `
SELECT t.k::pg_catalog.text,
       ARRAY(SELECT a.privilege_type FROM pg_catalog.aclexplode(pg_catalog.acldefault(t.k, 10::pg_catalog.oid)) a
              WHERE a.grantee OPERATOR(pg_catalog.=) 10::pg_catalog.oid)
FROM pg_catalog.unnest('{d,n,r,s}'::pg_catalog."char"[]) AS t(k)`

// readAllPrivileges scans sqlAllPrivileges' rows of the catalog batch
// (state.go).
func readAllPrivileges(br pgx.BatchResults, st *instance) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read privilege names: %w", err)
	}
	defer rows.Close()
	byCode := map[string][]kind{"d": {kindDatabase}, "n": {kindSchema}, "r": {kindTable, kindDefaultTable}, "s": {kindSequence, kindDefaultSequence}}
	for rows.Next() {
		var code string
		var names []string
		if err := rows.Scan(&code, &names); err != nil {
			return fmt.Errorf("read privilege names: %w", err)
		}
		for _, k := range byCode[code] {
			st.all[k] = names
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read privilege names: %w", err)
	}
	return nil
}
