package request

import (
	"fmt"
	"strings"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Request types: the form's request_type. Each has its own file here with
// its cross-checks against the infra repo and its edits.
const (
	// TypeCreate adds a database and its owner role (the default).
	TypeCreate = "create"
	// TypeGrant gives a new role editor or reader access to an existing
	// database of the environment.
	TypeGrant = "grant"
	// TypeChangeAccess changes an editor's or reader's level in place.
	TypeChangeAccess = "change-access"
	// TypeRetire retires a role (retired = true), or every role of a
	// database when its owner is named.
	TypeRetire = "retire"
)

// RequestTypes lists the request types, the default first.
func RequestTypes() []string {
	return []string{TypeCreate, TypeGrant, TypeChangeAccess, TypeRetire}
}

// requestType is what a request type reads and checks.
type requestType struct {
	name string
	// uses are the fields the type reads; others given are ignored with a
	// notice (Unused). required are those it cannot do without.
	uses, required []string
	// check adds the type's cross-checks against the environment's files,
	// for a form whose names and level are valid.
	check func(f Form, facts Facts, found *findings)
}

func requestTypeOf(name string) *requestType {
	day2 := []string{FieldRequestType, FieldDatabaseName, FieldUsername, FieldAccessLevel, FieldUser, FieldEnvironment, FieldBaseBranch}
	switch name {
	case TypeCreate:
		all := []string{}
		for _, kv := range (Form{}).Fields() {
			all = append(all, kv[0])
		}
		return &requestType{name: name, uses: all, check: checkCreate,
			required: []string{FieldDatabaseName, FieldUsername, FieldOwner, FieldUser, FieldDomain, FieldEnvironment, FieldRisk, FieldSize}}
	case TypeGrant:
		return &requestType{name: name, uses: append(day2, FieldOwner), check: checkGrant,
			required: []string{FieldDatabaseName, FieldUsername, FieldAccessLevel, FieldOwner, FieldUser, FieldEnvironment}}
	case TypeChangeAccess:
		return &requestType{name: name, uses: day2, check: checkChangeAccess,
			required: []string{FieldDatabaseName, FieldUsername, FieldAccessLevel, FieldUser, FieldEnvironment}}
	case TypeRetire:
		return &requestType{name: name, uses: without(day2, FieldAccessLevel), check: checkRetire,
			required: []string{FieldDatabaseName, FieldUsername, FieldUser, FieldEnvironment}}
	}
	return nil
}

func without(list []string, v string) []string {
	var out []string
	for _, s := range list {
		if s != v {
			out = append(out, s)
		}
	}
	return out
}

// Uses reports whether the request type of f reads field.
func (f Form) Uses(field string) bool {
	t := requestTypeOf(f.WithDefaults().RequestType)
	return t == nil || contains(t.uses, field)
}

// Used lists the fields the request type of f reads, in form order, with
// their values (defaults applied): what the pull request and the summary
// show.
func (f Form) Used() [][2]string {
	f = f.WithDefaults()
	var out [][2]string
	for _, kv := range f.Fields() {
		if f.Uses(kv[0]) {
			out = append(out, kv)
		}
	}
	return out
}

// Notice is a field given that the request type does not use: it passed
// validation and is ignored. Value is quoted as in FieldError.
type Notice struct {
	Field string
	Value string
}

func (n Notice) String() string { return n.Field + " " + n.Value }

// Unused returns the fields of f that its request type does not use and
// that carry news: a value other than empty, the field's default, or the
// first of its enum list. A form always sends its choices (GitHub's
// workflow form preselects the first option of a choice without default,
// and the Backstage template sends those for the fields a type hides), so
// those values say nothing.
func Unused(f Form, e Enums) []Notice {
	f = f.WithDefaults()
	first := func(list []string) string {
		if len(list) == 0 {
			return ""
		}
		return list[0]
	}
	quiet := map[string]string{
		FieldAccessLevel: tfvars.AccessOwner, FieldInitialSchema: schema.None,
		FieldOwner: first(e.Owners), FieldDomain: first(e.Domains), FieldRisk: first(e.Risks), FieldSize: first(e.Sizes),
	}
	var out []Notice
	for _, kv := range f.Fields() {
		field, v := kv[0], kv[1]
		if f.Uses(field) || v == "" || v == quiet[field] {
			continue
		}
		out = append(out, Notice{Field: field, Value: QuoteValue(v)})
	}
	return out
}

// checkAccessLevel checks access_level against the request type: owner for
// create, editor or reader for grant and change-access, not read by
// retire. It returns whether the level allows the cross-checks.
func checkAccessLevel(f Form, t *requestType, add func(field, value, rule string, args ...any)) bool {
	v := f.AccessLevel
	levels := []string{tfvars.AccessOwner, tfvars.AccessEditor, tfvars.AccessReader}
	switch {
	case v == "" && contains(t.required, FieldAccessLevel):
		add(FieldAccessLevel, v, "is required for request_type %s (editor or reader)", t.name)
		return false
	case v == "":
		return true
	case !contains(levels, v):
		add(FieldAccessLevel, v, "must be one of %s", strings.Join(levels, ", "))
		return false
	case t.name == TypeCreate && v != tfvars.AccessOwner:
		add(FieldAccessLevel, v, "does not fit request_type create: a new database's entry is its owner (access_level owner); to give %s access to an existing database use request_type grant", v)
		return false
	case (t.name == TypeGrant || t.name == TypeChangeAccess) && v == tfvars.AccessOwner:
		add(FieldAccessLevel, v, "must be editor or reader for request_type %s: a database has one owner, the entry that created it", t.name)
		return false
	}
	return true
}

// The cross-checks share these reads of the environment's entries.

// tfvarsSources are the tfvars files the request edits.
func tfvarsSources(facts Facts) []string {
	var out []string
	for _, in := range facts.Instances {
		out = append(out, in.Source)
	}
	return out
}

// ownerRows are the owner entries of database in the tfvars files.
func ownerRows(facts Facts, database string) []ExistingDatabase {
	var out []ExistingDatabase
	for _, d := range facts.Databases {
		if d.InTfvars && d.DatabaseName == database && d.level() == tfvars.AccessOwner {
			out = append(out, d)
		}
	}
	return out
}

// entryRows are the tfvars entries of username on database.
func entryRows(facts Facts, database, username string) []ExistingDatabase {
	var out []ExistingDatabase
	for _, d := range facts.Databases {
		if d.InTfvars && d.DatabaseName == database && d.Username == username {
			out = append(out, d)
		}
	}
	return out
}

// catalogEntry is the catalog's entry of database for the environment.
func catalogEntry(facts Facts, database string) (catalog.Entry, bool) {
	for _, e := range facts.Catalog {
		if e.Name == database {
			return e, true
		}
	}
	return catalog.Entry{}, false
}

// checkDay2Database refuses a grant, change of level or retirement of a
// database that no owner entry lists, or that the catalog does not hold
// (it names the owning team who reviews, and keeps the access records).
// It returns false when the database is missing from the tfvars.
func checkDay2Database(f Form, facts Facts, found *findings) bool {
	if len(ownerRows(facts, f.DatabaseName)) == 0 {
		for _, src := range tfvarsSources(facts) {
			found.add(FieldDatabaseName, "does not exist in ", ": no owner entry of application_databases lists it; use request_type create to add it", src)
		}
		return false
	}
	if _, ok := catalogEntry(facts, f.DatabaseName); !ok {
		missing := ""
		if !facts.CatalogRead {
			missing = " (the file does not exist)"
		}
		owner := ownerRows(facts, f.DatabaseName)[0].Username
		found.add(FieldDatabaseName, "has no entry in ", fmt.Sprintf("%s: the catalog names the owning team, who reviews the request, and records who has access; add the entry by re-submitting the database's create request (request_type create, username %q)", missing, owner), facts.CatalogPath)
	}
	return true
}

// checkDay2Entry refuses a change of level or a retirement of a username
// that has no entry on the database; it returns the entries found.
func checkDay2Entry(f Form, facts Facts, found *findings) []ExistingDatabase {
	rows := entryRows(facts, f.DatabaseName, f.Username)
	if len(rows) > 0 {
		return rows
	}
	elsewhere := false
	for _, d := range facts.Databases {
		if d.InTfvars && d.Username == f.Username {
			elsewhere = true
			found.add(FieldUsername, fmt.Sprintf("belongs to database %q in ", d.DatabaseName), fmt.Sprintf(", not to %q", f.DatabaseName), d.Source)
		}
	}
	if !elsewhere {
		for _, src := range tfvarsSources(facts) {
			found.add(FieldUsername, fmt.Sprintf("has no access to database %q in ", f.DatabaseName), "; use request_type grant to give it access", src)
		}
	}
	return nil
}
