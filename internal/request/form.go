// Package request turns a database request form into one reviewed change:
// it validates the form against SPEC's rules and the infra repo, plans the
// tfvars and catalog edits as pure values, and applies them as a diff
// (dry run), to the working tree (local) or as one pull request.
package request

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Form is the request form of SPEC's "The form" table, one field per
// input, with the day-2 request types.
type Form struct {
	RequestType   string // request_type: create (default), grant, change-access, retire
	DatabaseName  string // database_name
	Username      string // username
	AccessLevel   string // access_level: owner for create (default); editor or reader for grant and change-access
	Owner         string // owner: the owning team (create), the team the access is for (grant)
	User          string // user: the requesting GitHub login
	Domain        string // domain
	Environment   string // environment
	Risk          string // risk
	Size          string // size
	InitialSchema string // initial_schema; empty means "none"
	BaseBranch    string // base_branch; empty means "development"
}

// Defaults of the optional fields.
const (
	DefaultInitialSchema = "none"
	DefaultBaseBranch    = "development"
	DefaultSecretPrefix  = naming.DefaultSecretPrefix
)

// WithDefaults returns f with the optional fields filled in: request_type
// create, and for create access_level owner.
func (f Form) WithDefaults() Form {
	if f.RequestType == "" {
		f.RequestType = TypeCreate
	}
	if f.AccessLevel == "" && f.RequestType == TypeCreate {
		f.AccessLevel = tfvars.AccessOwner
	}
	if f.InitialSchema == "" {
		f.InitialSchema = DefaultInitialSchema
	}
	if f.BaseBranch == "" {
		f.BaseBranch = DefaultBaseBranch
	}
	return f
}

// Field names, as in the form, the action inputs and error messages.
const (
	FieldRequestType   = "request_type"
	FieldDatabaseName  = "database_name"
	FieldUsername      = "username"
	FieldAccessLevel   = "access_level"
	FieldOwner         = "owner"
	FieldUser          = "user"
	FieldDomain        = "domain"
	FieldEnvironment   = "environment"
	FieldRisk          = "risk"
	FieldSize          = "size"
	FieldInitialSchema = "initial_schema"
	FieldBaseBranch    = "base_branch"
	FieldSecretPrefix  = "secret_prefix"
)

// Fields lists the form's fields in SPEC order (the request type first,
// the access level after the username), with their values.
func (f Form) Fields() [][2]string {
	return [][2]string{
		{FieldRequestType, f.RequestType},
		{FieldDatabaseName, f.DatabaseName},
		{FieldUsername, f.Username},
		{FieldAccessLevel, f.AccessLevel},
		{FieldOwner, f.Owner},
		{FieldUser, f.User},
		{FieldDomain, f.Domain},
		{FieldEnvironment, f.Environment},
		{FieldRisk, f.Risk},
		{FieldSize, f.Size},
		{FieldInitialSchema, f.InitialSchema},
		{FieldBaseBranch, f.BaseBranch},
	}
}

// FieldError is one problem with one field. Value is the offending value,
// already quoted as a Go string literal with non-ASCII and control characters
// escaped and long values truncated, so it is safe to print in logs,
// annotations and Markdown code spans.
type FieldError struct {
	Field string
	Value string
	Rule  string
}

func (e FieldError) String() string {
	return fmt.Sprintf("%s: %s %s", e.Field, e.Value, e.Rule)
}

// ValidationError carries every problem found with a form; nothing is
// written when Run returns it.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid request: " + e.Problems[0].String()
	}
	return fmt.Sprintf("invalid request: %d problems (first: %s)", len(e.Problems), e.Problems[0].String())
}

// maxShownValue bounds how much of a value an error message repeats.
const maxShownValue = 64

// QuoteValue renders v for an error message: truncated to 64 runes and
// quoted with every non-printable or non-ASCII rune escaped, so a hostile
// value can neither forge log lines nor hide a look-alike character.
func QuoteValue(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	suffix := ""
	if utf8.RuneCountInString(v) > maxShownValue {
		r := []rune(v)
		v = string(r[:maxShownValue])
		suffix = fmt.Sprintf("... (%d characters)", len(r))
	}
	q := strconv.QuoteToASCII(v)
	// Backticks would end a Markdown code span; they are escaped above only
	// when non-ASCII, so escape them here too.
	q = strings.ReplaceAll(q, "`", `\x60`)
	return q + suffix
}

var prefixPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_+=.@-]{1,64}(/[A-Za-z0-9_+=.@-]{1,64}){0,3}$`)
})

// CheckSecretPrefix returns why prefix cannot start a secret path, or nil.
func CheckSecretPrefix(prefix string) error {
	if !prefixPattern().MatchString(prefix) {
		return fmt.Errorf("must be 1-4 segments of A-Z a-z 0-9 _ + = . @ - separated by /")
	}
	return nil
}

// checkBranch keeps a branch name to what git and the API path accept
// (naming.CheckBranch).
func checkBranch(b string) string {
	if err := naming.CheckBranch(b); err != nil {
		return err.Error()
	}
	return ""
}

// Facts is what validation needs to know about the infra repo: the enum
// lists in force and what the environment's tfvars and catalog already hold.
type Facts struct {
	Enums Enums
	// Instances are the instance's own database_name and master_username
	// from each tfvars file that will be edited.
	Instances []Instance
	// Databases are the entries already present for the environment, from
	// the tfvars files and the catalog (its entries and access records).
	Databases []ExistingDatabase
	// Catalog is the environment's catalog file and its entries for the
	// environment; CatalogRead is false when there is no such file.
	CatalogPath string
	CatalogRead bool
	Catalog     []catalog.Entry
	// Dispatch is who started the run, when known.
	Dispatch Dispatch
	// RDSInstances are the instances the environment's tfvars declares
	// (rds_instances); none for one implicit instance. A create request
	// is placed on one of them (see place).
	RDSInstances InstanceFacts
}

// Instance names the RDS instance's own database and master user.
type Instance struct {
	Source         string // file the values come from
	DatabaseName   string
	MasterUsername string
}

// ExistingDatabase is a database already present in the environment.
type ExistingDatabase struct {
	Source       string // file, and the entry key when it differs from the name
	Key          string // application_databases key, catalog key, or an access record's username
	DatabaseName string
	Username     string
	AccessLevel  string // owner (also when empty), editor or reader
	Retired      bool   // retired = true, or a catalog status decommissioning or retired
	InTfvars     bool   // from a tfvars file (else the catalog)
	// Instance is the tfvars entry's instance (the catalog's
	// configuration.instance); empty on the one implicit instance.
	Instance string
}

func (d ExistingDatabase) level() string {
	if d.AccessLevel == "" {
		return tfvars.AccessOwner
	}
	return d.AccessLevel
}

// namingRule is a naming error as a FieldError rule: naming's reasons may
// start with the quoted name, which the FieldError already shows.
func namingRule(err error, value string) string {
	return strings.TrimPrefix(err.Error(), strconv.Quote(value)+" ")
}

// Validate checks every field of f (with defaults applied by the caller)
// against SPEC's rules, the enum lists in facts, the request type's needs
// and what the environment already holds, and returns every problem found,
// in field order. A field the request type does not use is still checked
// when given (see Unused), so no hostile value passes unseen.
func Validate(f Form, facts Facts) []FieldError {
	var out []FieldError
	add := func(field, value, rule string, args ...any) {
		out = append(out, FieldError{Field: field, Value: QuoteValue(value), Rule: fmt.Sprintf(rule, args...)})
	}
	enums := facts.Enums
	if enums.Owners == nil {
		enums = DefaultEnums()
	}
	typ := requestTypeOf(f.WithDefaults().RequestType)
	typeOK := typ != nil
	if !typeOK {
		add(FieldRequestType, f.RequestType, "must be one of %s", strings.Join(RequestTypes(), ", "))
		typ = requestTypeOf(TypeCreate) // check the fields as create would
	}
	required := func(field string) bool { return contains(typ.required, field) }

	dbOK := false
	switch {
	case f.DatabaseName == "":
		add(FieldDatabaseName, f.DatabaseName, "is required")
	default:
		if err := naming.CheckDatabase(f.DatabaseName); err != nil {
			add(FieldDatabaseName, f.DatabaseName, "%s", namingRule(err, f.DatabaseName))
		} else {
			dbOK = true
		}
	}
	userOK := false
	switch {
	case f.Username == "":
		add(FieldUsername, f.Username, "is required")
	default:
		if err := naming.CheckUsername(f.Username); err != nil {
			add(FieldUsername, f.Username, "%s", namingRule(err, f.Username))
		} else {
			userOK = true
		}
	}
	levelOK := checkAccessLevel(f, typ, add)
	// A problem found in several files (in coupled mode both tfvars files
	// and the catalog hold the entry) is reported once, naming them all.
	var found findings
	for _, inst := range facts.Instances {
		if dbOK && inst.DatabaseName != "" && f.DatabaseName == inst.DatabaseName {
			found.add(FieldDatabaseName, "is the RDS instance's own database (database_name in ", ")", inst.Source)
		}
		if userOK && inst.MasterUsername != "" && f.Username == inst.MasterUsername {
			found.add(FieldUsername, "is the RDS instance's master user (master_username in ", ")", inst.Source)
		}
	}
	if typeOK && dbOK && userOK && levelOK {
		typ.check(f, facts, &found)
	}
	for _, p := range found {
		out = append(out, FieldError{Field: p.field, Value: QuoteValue(valueOf(f, p.field)), Rule: p.before + joinSources(p.sources) + p.after})
	}

	checkEnum := func(field, value string, allowed []string) bool {
		if value == "" {
			if required(field) {
				add(field, value, "is required%s (one of %s)", forType(typ), strings.Join(allowed, ", "))
			}
			return false
		}
		for _, a := range allowed {
			if value == a {
				return true
			}
		}
		add(field, value, "must be one of %s", strings.Join(allowed, ", "))
		return false
	}
	checkEnum(FieldOwner, f.Owner, enums.Owners)
	checkUser(f, facts.Dispatch, add)
	checkEnum(FieldDomain, f.Domain, enums.Domains)
	envOK := checkEnum(FieldEnvironment, f.Environment, enums.Environments)
	checkEnum(FieldRisk, f.Risk, enums.Risks)
	if checkEnum(FieldSize, f.Size, enums.Sizes) && envOK && typ.name == TypeCreate {
		if allowed, limited := enums.SizesByEnvironment[f.Environment]; limited && !contains(allowed, f.Size) {
			add(FieldSize, f.Size, "is not allowed in %s: %s allows only %s", f.Environment, f.Environment, strings.Join(allowed, ", "))
		} else if dbOK && facts.RDSInstances.declared() {
			// Placement is part of validation: a full tier is refused
			// with every other problem, before anything is written.
			if _, rule := place(f.DatabaseName, f.Size, facts); rule != "" {
				add(FieldSize, f.Size, "%s", rule)
			}
		}
	}
	if checkEnum(FieldInitialSchema, f.InitialSchema, enums.InitialSchemas) && f.InitialSchema != schema.None && typ.name == TypeCreate {
		// An enum override may list a name this binary has no SQL for.
		if schema.Check(f.InitialSchema) != nil {
			add(FieldInitialSchema, f.InitialSchema, "has no schema template in this rds-provision (templates: %s)", strings.Join(schema.Names(), ", "))
		}
	}
	if f.BaseBranch != "" {
		if rule := checkBranch(f.BaseBranch); rule != "" {
			add(FieldBaseBranch, f.BaseBranch, "%s", rule)
		}
	}
	order := map[string]int{}
	for i, kv := range f.Fields() {
		order[kv[0]] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].Field] < order[out[j].Field] })
	return out
}

// forType names the request type in a "required" rule.
func forType(t *requestType) string {
	if t == nil || t.name == TypeCreate {
		return ""
	}
	return " for request_type " + t.name
}

// findings gathers cross-check problems so that each is reported once with
// every file it was found in: a problem is its field and its rule around
// the list of files (before, after).
type findings []*finding

type finding struct {
	field, before, after string
	sources              []string
}

func (fs *findings) add(field, before, after, source string) {
	for _, p := range *fs {
		if p.field == field && p.before == before && p.after == after {
			if !contains(p.sources, source) {
				p.sources = append(p.sources, source)
			}
			return
		}
	}
	*fs = append(*fs, &finding{field: field, before: before, after: after, sources: []string{source}})
}

// joinSources lists files as "a", "a and b", "a, b and c".
func joinSources(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func valueOf(f Form, field string) string {
	for _, kv := range f.Fields() {
		if kv[0] == field {
			return kv[1]
		}
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
