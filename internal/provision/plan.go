package provision

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Step is one planned action: one audit row, and the statements that carry
// it out. A real run executes the steps in order; a dry run reports them.
//
// Steps with On == "" act on the instance (roles, CREATE DATABASE, grants
// that only change database ACLs, which live in the shared catalog) and
// need no particular database; steps with On set run inside that database.
// A step depends only on the earlier steps of its entry, on the role steps
// of the entries before, and on the steps of the entries before on the
// same database, so an engine may run different databases' steps
// concurrently once the roles exist, while the master's session holds the
// advisory lock (engine.go). apply_schema steps (initial_schema) are
// per-database steps placed after every entry's grants, so an engine must
// keep them after the grant steps of their database.
type Step struct {
	Entry    int    // index in application_databases order; -1 for the run itself
	Database string // audit database column
	Username string // audit username column
	Action   string // audit action: create_role, create_database, apply_grants, ...
	// Status is the row's status once the step has run: success (a change),
	// no_change, warning or error. A dry run reports success as dry_run.
	Status  audit.Status
	Message string // row message of a real run
	Line    string // log line when it says more than Message; empty = Message
	// Preview is the dry run's message, when it differs from Message
	// ("Would create database: ...").
	Preview string
	// Fail prefixes the error row when SQL fails ("Failed to create role x").
	Fail string
	On   string   // database to run SQL in; empty = the master's session
	SQL  []string `json:"-"` // sent as one implicit transaction; may hold a password verifier
	// Template is the initial_schema template an apply_schema step applies
	// with schema.Apply (its own transaction, in a session logged in as the
	// owner role) instead of SQL.
	Template string
	// Tenant marks a step whose failure is its entry's database's (the
	// tenant's settings, connection limit, template lock, a squatted
	// name): it fails that entry and the entries on that database, and
	// fail-fast does not stop the run for it. The plan sets it on the
	// error rows of a database it could not read; the engine on the steps
	// that fail inside or on a database.
	Tenant bool
}

// runs reports whether executing the step sends anything.
func (s Step) runs() bool { return len(s.SQL) > 0 || s.Template != "" }

// planInput is everything the plan depends on: no I/O happens in plan.
type planInput struct {
	entries []*entry
	// state is nil when the instance could not be read: the offline preview.
	state *instance
	// masterUser and masterDB come from the master secret; tfvarsDB is the
	// instance's own database_name in the tfvars; masterSecret names the
	// secret in messages.
	masterUser, masterDB, tfvarsDB, masterSecret string
	env                                          string
	dryRun                                       bool
}

// plan returns the ordered steps that bring the instance to what the
// entries say. It reads in.state and never changes it.
func plan(in planInput) []Step {
	p := &planner{in: in, claimedBy: map[string]string{}, ours: map[string]bool{}, named: map[string]bool{}, adopt: map[string]map[string]bool{}, namedFor: map[string]map[string]bool{}}
	if in.state != nil {
		p.st = in.state.clone()
	}
	p.index()
	var templated []int
	for i, e := range in.entries {
		if p.entry(i, e) && e.InitialSchema != "" {
			templated = append(templated, i)
		}
	}
	// Templates come last: by then every editor and reader entry has its
	// default privileges, so the template's tables grant their levels as
	// the owner creates them.
	for _, i := range templated {
		p.schema(i, in.entries[i])
	}
	return p.steps
}

type planner struct {
	in    planInput
	st    *instance
	steps []Step
	// claimedBy is the owner-level username of each database.
	claimedBy map[string]string
	// named holds every database an entry names.
	named map[string]bool
	// ours holds the roles already provisioned for one of their entries:
	// the master acts as the role, which owns its entry's database or holds
	// privileges in it.
	ours map[string]bool
	// adopt holds, per username, the databases its entries let it keep
	// owning (adopt_owned_databases).
	adopt map[string]map[string]bool
	// namedFor holds, per username, the databases its own entries name.
	namedFor map[string]map[string]bool
}

func (p *planner) index() {
	for _, e := range p.in.entries {
		if e.invalid != "" {
			continue
		}
		p.named[e.DatabaseName] = true
		if e.AccessLevel == tfvars.AccessOwner && p.claimedBy[e.DatabaseName] == "" {
			p.claimedBy[e.DatabaseName] = e.Username
		}
		if p.adopt[e.Username] == nil {
			p.adopt[e.Username], p.namedFor[e.Username] = map[string]bool{}, map[string]bool{}
		}
		p.namedFor[e.Username][e.DatabaseName] = true
		for _, db := range e.AdoptOwnedDatabases {
			p.adopt[e.Username][db] = true
		}
		if p.st == nil {
			continue
		}
		// Provisioned here means: the role carries a record (record.go),
		// or, for a role an rds-provision before records provisioned, the
		// master acts as the role (every run grants it that) and the role
		// owns or holds its entry's database.
		db := p.st.databases[e.DatabaseName]
		ro := p.st.roles[e.Username]
		if ro != nil && ro.record != nil {
			p.ours[e.Username] = true
		}
		if ro == nil || !ro.masterActs {
			continue
		}
		switch {
		case db == nil:
		case db.owner == e.Username:
			p.ours[e.Username] = true
		default:
			for _, o := range db.objects {
				if o.kind == kindDatabase && len(o.acl[e.Username]) > 0 {
					p.ours[e.Username] = true
				}
			}
		}
	}
}

func (p *planner) add(i int, e *entry, s Step) {
	s.Entry = i
	if e != nil {
		s.Database, s.Username = e.DatabaseName, e.Username
	}
	p.steps = append(p.steps, s)
}

// entry plans one entry's role, database and grants, and reports whether
// its database is ready for its initial_schema.
func (p *planner) entry(i int, e *entry) bool {
	if e.invalid != "" {
		p.add(i, e, Step{Action: "validate", Status: audit.Error, Message: e.invalid})
		return false
	}
	if why := p.masterDatabase(e.DatabaseName); why != "" {
		p.add(i, e, Step{Action: "validate", Status: audit.Error, Message: fmt.Sprintf(
			"Refusing database %s for application_databases.%s: it is the RDS instance's own database (%s); an app entry there would reach the master's tables and revoke other logins' CONNECT. Choose another database_name",
			e.DatabaseName, e.Key, why)})
		return false
	}
	if e.secretErr != nil {
		if !p.in.dryRun || !errors.Is(e.secretErr, secrets.ErrNotFound) {
			p.add(i, e, Step{Action: audit.ActionFetchSecret, Status: audit.Error, Message: e.secretErr.Error()})
			return false
		}
		// Before merge the app secret does not exist yet: Terraform makes
		// it. The preview goes on as if it did.
		p.add(i, e, Step{Action: audit.ActionFetchSecret, Status: audit.Warning, Message: fmt.Sprintf(
			"Secret %s does not exist yet: terraform apply creates it (make rds-apply ENV=%s); planning as if it did", e.SecretPath, p.in.env)})
	}
	if p.st == nil {
		p.offline(i, e)
		return false
	}
	if e.AccessLevel != tfvars.AccessOwner && p.st.databases[e.DatabaseName] == nil {
		// Refused before the role is made, so nothing changes.
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.Error, Message: fmt.Sprintf(
			"Database %s does not exist: %s entry needs it created first (list its owner entry before application_databases.%s)", e.DatabaseName, article(e.AccessLevel), e.Key)})
		return false
	}
	return p.role(i, e) && p.database(i, e) && p.grants(i, e)
}

// masterDatabase says why db is the instance's own database, or "".
func (p *planner) masterDatabase(db string) string {
	switch {
	case p.in.masterDB != "" && db == p.in.masterDB:
		return "dbname in " + p.in.masterSecret
	case p.in.tfvarsDB != "" && db == p.in.tfvarsDB:
		return "database_name in the tfvars"
	}
	return ""
}

// offline is the preview when the instance cannot be read: the runbook's
// three lines, assuming nothing exists.
func (p *planner) offline(i int, e *entry) {
	p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Success, Preview: "Would create/update role: " + e.Username})
	if e.AccessLevel == tfvars.AccessOwner {
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.Success, Preview: fmt.Sprintf("Would create database: %s with owner %s", e.DatabaseName, e.Username)})
	} else {
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.Success, Preview: fmt.Sprintf("Would use existing database: %s (access_level %s)", e.DatabaseName, e.AccessLevel)})
	}
	p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.Success, Preview: fmt.Sprintf("Would grant %s on %s to %s", grantLabel(e.AccessLevel), e.DatabaseName, e.Username)})
	if t, err := schema.Lookup(e.InitialSchema); e.InitialSchema != "" && err == nil {
		p.add(i, e, Step{Action: audit.ActionApplySchema, Status: audit.Success, Preview: schema.Decide(t, schema.State{}).Plan(e.DatabaseName)})
	}
}

// refusal says why an existing role must not be taken over, or "".
func (p *planner) refusal(e *entry, ro *role) string {
	switch {
	case e.Username == p.in.masterUser:
		return "it is the RDS master user"
	case ro == nil:
		return ""
	case ro.super:
		return "it is a superuser"
	case ro.createRole:
		return "it has CREATEROLE"
	case ro.replication:
		return "it has REPLICATION"
	case ro.bypassRLS:
		return "it has BYPASSRLS"
	case ro.privilegedMemberOf != "":
		return "it is a member of the privileged role " + ro.privilegedMemberOf
	case ro.memberOfLogin != "":
		return "it is a member of role " + ro.memberOfLogin + ", which can log in or owns a database: taking it over would hand that role's access to whoever reads this entry's secret"
	case !ro.canLogin:
		return "it exists as a NOLOGIN group role, not an application login"
	}
	// Apps may own databases of their own making (Backstage plugins), but a
	// role that owns a database listed for another username is another
	// tenant's.
	for _, db := range ro.owns {
		if other := p.claimedBy[db]; other != "" && other != e.Username {
			return fmt.Sprintf("it owns database %s, which application_databases gives to %s", db, other)
		}
	}
	return ""
}

// unadopted lists the databases an existing role owns that no entry names,
// those it owns objects or holds privileges in (present) that its own
// entries do not name, and the same through the roles it belongs to
// (groups), leaving out what adopt_owned_databases lets it keep, when the
// role is not yet provisioned here: taking it over would hand its
// password, and its access there, to this entry's secret.
func (p *planner) unadopted(e *entry, ro *role) (owned, present []string, groups []groupPresence) {
	if ro == nil || p.ours[e.Username] {
		return nil, nil, nil
	}
	foreign := func(db string) bool { return !p.namedFor[e.Username][db] && !p.adopt[e.Username][db] }
	for _, db := range ro.owns {
		if !p.named[db] && !p.adopt[e.Username][db] {
			owned = append(owned, db)
		}
	}
	for _, db := range ro.presentIn {
		if !slices.Contains(ro.owns, db) && foreign(db) {
			present = append(present, db)
		}
	}
	for _, g := range ro.groupPresence {
		if foreign(g.database) {
			groups = append(groups, g)
		}
	}
	return owned, present, groups
}

// describeGroups says which groups reach which databases, e.g. "group
// etl_readers (databases billing, payroll), group ops (database hr)", and
// lists the databases once each.
func describeGroups(gs []groupPresence) (text string, dbs []string) {
	var order []string
	byGroup := map[string][]string{}
	for _, g := range gs {
		if byGroup[g.group] == nil {
			order = append(order, g.group)
		}
		byGroup[g.group] = append(byGroup[g.group], g.database)
		if !slices.Contains(dbs, g.database) {
			dbs = append(dbs, g.database)
		}
	}
	parts := make([]string, len(order))
	for i, g := range order {
		parts[i] = fmt.Sprintf("group %s (%s)", g, plural(len(byGroup[g]), "database ", "databases ")+strings.Join(byGroup[g], ", "))
	}
	slices.Sort(dbs)
	return strings.Join(parts, ", "), dbs
}

func (p *planner) role(i int, e *entry) bool {
	ro := p.st.roles[e.Username]
	if why := p.refusal(e, ro); why != "" {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Error, Message: fmt.Sprintf(
			"Refusing to manage role %s: %s; the role was left unchanged. Choose another username for application_databases.%s", e.Username, why, e.Key)})
		return false
	}
	owned, present, groups := p.unadopted(e, ro)
	if len(owned) > 0 {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Error, Message: fmt.Sprintf(
			"Refusing to manage role %s: it already exists and owns %s, which no application_databases entry names, so it may be another team's login; the role was left unchanged. If it is meant to be managed here, add adopt_owned_databases = [%s] to application_databases.%s",
			e.Username, plural(len(owned), "database ", "databases ")+strings.Join(owned, ", "), quotedList(owned), e.Key)})
		return false
	}
	if len(present) > 0 {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Error, Message: fmt.Sprintf(
			"Refusing to manage role %s: it already exists and owns objects or holds privileges in %s, which no entry of this username names, so it may be another team's login; the role was left unchanged. If it is meant to be managed here, add adopt_owned_databases = [%s] to application_databases.%s",
			e.Username, plural(len(present), "database ", "databases ")+strings.Join(present, ", "), quotedList(present), e.Key)})
		return false
	}
	if len(groups) > 0 {
		via, dbs := describeGroups(groups)
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Error, Message: fmt.Sprintf(
			"Refusing to manage role %s: it already exists and belongs to %s, which %s objects or %s privileges there, and no entry of this username names %s, so the role may be another team's login and taking it over would hand that access to whoever reads %s; the role was left unchanged. If that access is meant for this app, add adopt_owned_databases = [%s] to application_databases.%s; otherwise take the role out of the group (%s) and re-run",
			e.Username, via, plural(len(groups), "owns", "own"), plural(len(groups), "holds", "hold"), plural(len(dbs), "that database", "those databases"),
			e.SecretPath, quotedList(dbs), e.Key, revokeGroups(groups, e.Username))})
		return false
	}
	rec := &roleRecord{Secret: e.SecretPath}
	if ro == nil {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Success,
			Message: "Role created", Line: "Role created: " + e.Username,
			Preview: "Would create/update role: " + e.Username,
			Fail:    "Failed to create role " + e.Username,
			SQL:     []string{createRoleSQL(e.Username, e.verifier), grantMembershipSQL(e.Username, p.in.masterUser), commentRoleSQL(e.Username, rec)}})
		p.st.roles[e.Username] = &role{canLogin: true, masterIsMember: true, masterActs: true, record: rec, connLimit: -1}
		p.ours[e.Username] = true
		return true
	}
	sql := []string{alterRoleSQL(e.Username, e.verifier)}
	if !ro.masterIsMember || !ro.masterActs {
		sql = append(sql, grantMembershipSQL(e.Username, p.in.masterUser))
	}
	s := Step{Action: audit.ActionCreateRole, Fail: "Failed to update role " + e.Username}
	switch {
	case ro.record != nil && ro.record.Secret == e.SecretPath:
		s.Status = audit.NoChange
		s.Message = "Password updated for existing role: " + e.Username
		s.Preview = fmt.Sprintf("Role %s exists: its password would be set from %s", e.Username, e.SecretPath)
	case ro.record != nil:
		// The secret_name of its entry moved: whoever reads the new secret
		// gets the role, so the plan says so.
		rec = ro.record.withSecret(e.SecretPath)
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Status = audit.Success
		s.Message = fmt.Sprintf("Password source of role %s changed: its password is now set from secret %s (was %s)", e.Username, e.SecretPath, ro.record.Secret)
		s.Preview = fmt.Sprintf("Would change the password source of role %s: its password would be set from secret %s instead of %s", e.Username, e.SecretPath, ro.record.Secret)
	case p.ours[e.Username]:
		// Provisioned by an rds-provision before records: record it once.
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Status = audit.NoChange
		s.Message = fmt.Sprintf("Password updated for existing role: %s (recorded secret %s as its password source)", e.Username, e.SecretPath)
		s.Preview = fmt.Sprintf("Role %s exists: its password would be set from %s, recorded as its password source", e.Username, e.SecretPath)
	default:
		// A role made elsewhere, taken over by this entry: a change.
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Status = audit.Success
		s.Message = fmt.Sprintf("Adopted existing role %s: its password is now set from %s", e.Username, e.SecretPath)
		s.Preview = fmt.Sprintf("Would adopt existing role %s: its password would be set from %s", e.Username, e.SecretPath)
	}
	s.SQL = sql
	p.add(i, e, s)
	ro.masterIsMember, ro.masterActs, ro.record = true, true, rec
	p.ours[e.Username] = true
	// ALTER ROLE ... LOGIN PASSWORD leaves these alone: say so, since the
	// app cannot log in with the new password.
	if ro.expiredUntil != "" {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Warning, Message: fmt.Sprintf(
			"Role %s cannot log in: its VALID UNTIL (%s) is in the past; if it should, run ALTER ROLE %s VALID UNTIL 'infinity'", e.Username, ro.expiredUntil, ident(e.Username))})
	}
	if ro.connLimit == 0 {
		p.add(i, e, Step{Action: audit.ActionCreateRole, Status: audit.Warning, Message: fmt.Sprintf(
			"Role %s cannot log in: its CONNECTION LIMIT is 0; if it should, run ALTER ROLE %s CONNECTION LIMIT -1", e.Username, ident(e.Username))})
	}
	return true
}

func (p *planner) database(i int, e *entry) bool {
	db := p.st.databases[e.DatabaseName]
	if e.AccessLevel != tfvars.AccessOwner {
		msg := fmt.Sprintf("Database %s exists with owner %s (access_level %s)", e.DatabaseName, db.owner, e.AccessLevel)
		if db.created {
			msg = fmt.Sprintf("Database %s is created by this run with owner %s (access_level %s)", e.DatabaseName, db.owner, e.AccessLevel)
		}
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.NoChange, Message: msg})
		return true
	}
	switch {
	case db == nil:
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.Success,
			Message: fmt.Sprintf("Database created: %s with owner %s", e.DatabaseName, e.Username),
			Preview: fmt.Sprintf("Would create database: %s with owner %s", e.DatabaseName, e.Username),
			Fail:    "Failed to create database " + e.DatabaseName,
			SQL:     []string{createDatabaseSQL(e.DatabaseName, e.Username)}})
		p.st.databases[e.DatabaseName] = newCreatedDatabase(e.Username, p.st.all, p.st.plainTemplate)
		return true
	case db.owner == e.Username:
		p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.NoChange, Message: fmt.Sprintf("Database %s exists with owner %s", e.DatabaseName, db.owner)})
		return true
	}
	p.add(i, e, Step{Action: audit.ActionCreateDatabase, Status: audit.Warning, Message: fmt.Sprintf("Database %s exists but owner is %s, expected %s", e.DatabaseName, db.owner, e.Username)})
	p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.Warning, Message: fmt.Sprintf(
		"Grants on %s skipped because its owner is %s: if safe, run ALTER DATABASE %s OWNER TO %s and re-run", e.DatabaseName, db.owner, ident(e.DatabaseName), ident(e.Username))})
	p.schemaSkipped(i, e, "its owner is "+db.owner+", not "+e.Username)
	return false
}

// schemaSkipped says that an owner entry's initial_schema is not applied
// because its grants were skipped, so the preview names the template too.
func (p *planner) schemaSkipped(i int, e *entry, why string) {
	if e.InitialSchema == "" {
		return
	}
	p.add(i, e, Step{Action: audit.ActionApplySchema, Status: audit.Warning, Message: fmt.Sprintf(
		"initial_schema %s not applied to %s: %s; it is applied once the grants are", e.InitialSchema, e.DatabaseName, why)})
}

// newCreatedDatabase is the state of a database this plan creates with
// CREATE DATABASE ... OWNER (from template1). The database's own ACL is
// always the default (CREATE DATABASE does not copy datacl). What is inside
// comes from template1: when the state read found template1 plain (see
// instance.plainTemplate), schema public belongs to pg_database_owner and
// holds no tables, sequences or default privileges, so newDatabase is
// exact. Otherwise the schema's owner is left unknown (""), so the plan
// grants the owner on it explicitly, inside the database, as it always
// did.
func newCreatedDatabase(owner string, all map[kind][]string, plainTemplate bool) *database {
	d := newDatabase(owner, all)
	if !plainTemplate {
		d.objects[1].owner = ""
	}
	return d
}

// newDatabase is the state of a database CREATE DATABASE ... OWNER makes
// from a plain template1: the owner holds everything, PUBLIC may connect,
// schema public belongs to pg_database_owner, and there are no tables yet.
func newDatabase(owner string, all map[kind][]string) *database {
	return &database{owner: owner, created: true, objects: []*object{
		{kind: kindDatabase, owner: owner, manageable: true, acl: map[string]privs{
			"": privsOf("CONNECT", "TEMPORARY"), owner: privsOf(all[kindDatabase]...)}},
		{kind: kindSchema, name: "public", owner: "pg_database_owner", manageable: true, acl: map[string]privs{}},
	}}
}

// grants plans the apply_grants step: what the entry's level should hold
// and what the role holds, compared object by object, and only the
// difference sent.
func (p *planner) grants(i int, e *entry) bool {
	db := p.st.databases[e.DatabaseName]
	label := grantLabel(e.AccessLevel)
	skip := func(format string, args ...any) {
		p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.Warning, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case db.objects == nil && p.in.dryRun && connectDenied(db.readErr) && p.grantsMembership(db.owner):
		// Reached only in a dry run: a real run sends the create_role
		// step's GRANT first and reads the database again.
		skip("Privileges in %s cannot be read before the master user is a member of its owner %s (PUBLIC may not connect to it); the create_role step grants that, and a real run reads them after it and plans the grants then",
			e.DatabaseName, db.owner)
		return false
	case db.objects == nil:
		err := db.readErr
		if err == nil {
			err = errors.New("not read")
		}
		p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.Error, Tenant: true, Message: fmt.Sprintf(
			"Cannot read the privileges in database %s, so grants for %s were not planned: %s", e.DatabaseName, e.Username, databaseTrouble(e.DatabaseName, err))})
		return false
	case e.AccessLevel != tfvars.AccessOwner && db.owner == e.Username:
		skip("Grants on %s skipped: %s owns the database, so access_level %s cannot limit it; give the database another owner (ALTER DATABASE %s OWNER TO ...) or set access_level owner",
			e.DatabaseName, e.Username, e.AccessLevel, ident(e.DatabaseName))
		return false
	}
	want := levelPrivileges(e.AccessLevel, p.st.all)
	c := &grantChanges{}
	var heldBefore bool
	hasDefault := map[kind]bool{}
	for _, o := range db.objects {
		if len(o.acl[e.Username]) > 0 && o.owner != e.Username {
			heldBefore = true
		}
		// The role steps before may have made the master a member of the
		// owner (an adopted role) since the state was read.
		// pg_database_owner (schema public) stands for the database owner.
		owner := o.owner
		if owner == "pg_database_owner" {
			owner = db.owner
		}
		o.manageable = o.manageable || p.masterActsAs(owner)
		switch o.kind {
		case kindDatabase:
			if !o.manageable {
				skip("Grants on %s skipped: the master user is not a member of its owner %s, so it cannot grant on it", e.DatabaseName, o.owner)
				p.schemaSkipped(i, e, "the master user is not a member of its owner "+o.owner)
				return false
			}
			if len(o.acl[""]) > 0 {
				c.sql = append(c.sql, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident(e.DatabaseName)))
				c.public = true
				o.acl[""] = privs{}
			}
			c.object(o, e.Username, want[o.kind], ident(e.DatabaseName), privOrder(o.kind))
		case kindSchema:
			if o.owner == "pg_database_owner" && db.owner == e.Username {
				// The database owner is a member of pg_database_owner there,
				// so it holds everything on schema public already.
				continue
			}
			c.object(o, e.Username, want[o.kind], "public", privOrder(o.kind))
		case kindTable, kindSequence:
			w := want[o.kind]
			if o.kind == kindTable && o.name == schema.MarkerTable && e.AccessLevel != tfvars.AccessOwner {
				// The marker says which template files ran: only its owner
				// writes it (a row of another version would block or
				// misdirect the template's upgrades). Others may read it.
				w = w.minus(w.minus(privsOf("SELECT")))
			}
			c.object(o, e.Username, w, pgIdent("public", o.name), privOrder(o.kind))
		case kindDefaultTable, kindDefaultSequence:
			switch {
			case o.owner != db.owner:
			case o.global:
				c.globalDefaults(o, e.Username, want[o.kind], privOrder(o.kind))
			default:
				hasDefault[o.kind] = true
				c.defaults(o, e.Username, want[o.kind], privOrder(o.kind))
			}
		}
	}
	// Without a pg_default_acl row the owner's future objects grant the
	// role nothing yet.
	if db.owner != e.Username {
		for _, k := range []kind{kindDefaultTable, kindDefaultSequence} {
			if !hasDefault[k] {
				c.defaults(&object{kind: k, owner: db.owner, manageable: p.masterActsAs(db.owner), acl: map[string]privs{}}, e.Username, want[k], privOrder(k))
			}
		}
	}
	c.flush(e.Username)
	if len(c.sql) == 0 {
		defer p.keptWarning(i, e, c)
		msg := fmt.Sprintf("Grants already in place: %s on %s to %s", label, e.DatabaseName, e.Username)
		if note := c.skippedNote(); note != "" {
			msg += " (" + note + ")"
		}
		p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.NoChange, Message: msg})
		return true
	}
	s := Step{Action: audit.ActionApplyGrants, Status: audit.Success, On: e.DatabaseName, SQL: c.sql,
		Fail: fmt.Sprintf("Failed to grant %s on %s to %s", label, e.DatabaseName, e.Username)}
	if !c.inDatabase {
		// Only GRANT/REVOKE ... ON DATABASE: database ACLs live in the
		// shared catalog pg_database, so they take effect from any
		// database, and no connection into the database is opened. With a plain template1
		// (instance.plainTemplate) this is every owner entry whose
		// database this run creates: the one statement is REVOKE ALL ON
		// DATABASE ... FROM PUBLIC.
		s.On = ""
	}
	if !heldBefore && len(c.revoked) == 0 {
		// A fresh grant says the runbook's words.
		s.Message = fmt.Sprintf("Granted %s on %s to %s", label, e.DatabaseName, e.Username)
		s.Preview = fmt.Sprintf("Would grant %s on %s to %s", label, e.DatabaseName, e.Username)
		// A database this run did not create may have logins that
		// connect through PUBLIC: they lose it, so say so.
		if c.public && !db.created {
			s.Message += "; revoked PUBLIC's access to the database"
			s.Preview += "; revoke PUBLIC's access to the database"
		}
	} else {
		s.Message = fmt.Sprintf("Converged %s to %s on %s: %s", e.Username, e.AccessLevel, e.DatabaseName, c.describe("granted", "revoked"))
		s.Preview = fmt.Sprintf("Would converge %s to %s on %s: %s", e.Username, e.AccessLevel, e.DatabaseName, c.describe("grant", "revoke"))
	}
	if note := c.skippedNote(); note != "" {
		s.Message += " (" + note + ")"
		s.Preview += " (" + note + ")"
	}
	p.add(i, e, s)
	p.keptWarning(i, e, c)
	return true
}

// keptWarning reports the privileges beyond the level that other grantors
// granted and the master cannot revoke: the plan leaves them (a rerun
// sends nothing for them) and says who can.
func (p *planner) keptWarning(i int, e *entry, c *grantChanges) {
	if len(c.kept) == 0 {
		return
	}
	var what, grantors []string
	for _, k := range c.kept {
		what = append(what, k.what+" granted by "+k.grantor)
		if !slices.Contains(grantors, k.grantor) {
			grantors = append(grantors, k.grantor)
		}
	}
	ids := make([]string, len(grantors))
	for j, g := range grantors {
		ids[j] = ident(g)
	}
	p.add(i, e, Step{Action: audit.ActionApplyGrants, Status: audit.Warning, Message: fmt.Sprintf(
		"Role %s keeps privileges access_level %s does not include: %s. Only their grantor can revoke them and the master user %s cannot SET ROLE to %s; have %s run REVOKE ... FROM %s, or GRANT %s TO %s and re-run",
		e.Username, e.AccessLevel, strings.Join(what, ", "), p.in.masterUser, strings.Join(grantors, ", "),
		strings.Join(grantors, ", "), ident(e.Username), strings.Join(ids, ", "), ident(p.in.masterUser))})
}

// schema plans an owner entry's initial_schema: schema.Decide on what the
// state read found (nothing, for a database this plan creates).
func (p *planner) schema(i int, e *entry) {
	t, err := schema.Lookup(e.InitialSchema)
	if err != nil {
		p.add(i, e, Step{Action: audit.ActionApplySchema, Status: audit.Error, Message: fmt.Sprintf("application_databases.%s.initial_schema: %v", e.Key, err)})
		return
	}
	db := p.st.databases[e.DatabaseName]
	apply := Step{Action: audit.ActionApplySchema, On: e.DatabaseName, Template: t.Name, Tenant: true,
		Fail: fmt.Sprintf("Failed to apply schema template %s to %s", t.Label(), e.DatabaseName)}
	var st schema.State
	if !db.created {
		var login *ownerLoginError
		switch {
		case db.schema != nil:
			st = *db.schema
		case errors.As(db.schemaErr, &login) && !p.in.dryRun:
			// The create_role step sets the owner's password first: Apply
			// then inspects and decides in the owner's session, and the
			// row says what it did.
			apply.Status, apply.Message = audit.Success, fmt.Sprintf("Schema template %s checked in %s as its owner %s", t.Label(), e.DatabaseName, e.Username)
			p.add(i, e, apply)
			return
		case errors.As(db.schemaErr, &login):
			p.add(i, e, Step{Action: audit.ActionApplySchema, Status: audit.Warning, Message: fmt.Sprintf(
				"Cannot inspect database %s for its initial_schema %s yet: %v; the real run sets that password first (create_role step), then inspects the database and applies the template in the owner's own session",
				e.DatabaseName, t.Label(), login)})
			return
		default:
			err := db.schemaErr
			if err == nil {
				err = db.readErr
			}
			p.add(i, e, Step{Action: audit.ActionApplySchema, Status: audit.Error, Tenant: true, Message: fmt.Sprintf(
				"Cannot inspect database %s for its initial_schema %s: %v", e.DatabaseName, t.Label(), err)})
			return
		}
	}
	d := schema.Decide(t, st)
	status, msg := d.Row(e.DatabaseName, false)
	s := Step{Action: audit.ActionApplySchema, Status: status, Message: msg}
	if d.Action == schema.ActionApply {
		s = apply
		s.Status, s.Message = status, msg
		s.Preview = d.Plan(e.DatabaseName)
	}
	p.add(i, e, s)
}

// grantsMembership reports whether this plan's create_role steps make the
// master a member of role, which it was not when the state was read.
func (p *planner) grantsMembership(role string) bool {
	before := p.in.state.roles[role]
	return before != nil && !before.masterActs && p.masterActsAs(role)
}

func (p *planner) masterActsAs(owner string) bool {
	if owner == p.in.masterUser {
		return true
	}
	ro := p.st.roles[owner]
	return ro != nil && ro.masterActs
}

// grantChanges collects the statements of one apply_grants step and what
// they grant and revoke, per kind, for the message.
type grantChanges struct {
	sql    []string
	public bool
	// inDatabase: a statement acts on objects inside the database
	// (schema, tables, sequences, default privileges), so the step must
	// run on a connection to it.
	inDatabase       bool
	granted, revoked []change
	// pending groups table and sequence statements by privilege list, so
	// a hundred tables needing the same grant take one statement.
	pending []pendingStmt
	skipped map[skippedKey]int
	// asGrantor revokes grants of other grantors, each as its grantor
	// (SET ROLE); kept lists those the master cannot revoke.
	asGrantor []string
	kept      []keptGrant
}

// keptGrant is a privilege beyond the level that another grantor granted
// and the master cannot revoke.
type keptGrant struct {
	grantor, what string
}

// skippedKey counts objects left alone by kind and owner.
type skippedKey struct {
	kind  kind
	owner string
}

type change struct {
	kind  kind
	privs privs
	order []string
	count int
}

type pendingStmt struct {
	verb, privList string
	kind           kind
	names          []string
}

// object compares one object's privileges for user with want.
func (c *grantChanges) object(o *object, user string, want privs, target string, order []string) {
	if o.owner == user {
		return // an owner holds everything on what it owns
	}
	held := o.acl[user]
	grant, revoke := want.minus(held), held.minus(want)
	// Column privileges beyond the level are write access too (UPDATE
	// (col)); REVOKE on the table removes them with the table's.
	cols := o.columns[user]
	for _, g := range cols {
		revoke = revoke.union(g.privs.minus(want))
	}
	if len(grant)+len(revoke) == 0 {
		return
	}
	if !o.manageable {
		c.skip(o)
		return
	}
	c.inDatabase = c.inDatabase || o.kind != kindDatabase
	if len(grant) > 0 {
		c.note(&c.granted, o.kind, grant, order)
		c.stmt("GRANT", o.kind, grant.render(order), target)
	}
	// Only a grant's grantor can revoke it: the owner's REVOKE removes
	// what the owner granted (the master's REVOKE acts as the owner). A
	// grant of another grantor (a WITH GRANT OPTION chain) is revoked as
	// that grantor, with SET ROLE, since GRANTED BY names only the current
	// role before PostgreSQL 19; when the master cannot SET ROLE to it,
	// the grant is kept and reported. A REVOKE fails (RESTRICT, the
	// default) when the role passed the privilege on: CASCADE would take it
	// from roles no entry names, so the step fails with an error row.
	after, byOwner, asGrantor := want.clone(), revoke, privs{}
	gs, read := o.grants[user]
	if read || len(cols) > 0 {
		if !read && len(held) > 0 {
			gs = []aclGrant{{grantor: o.owner, privs: held}} // not read per grantor: the owner's
		}
		byOwner = privs{}
		now := []aclGrant{{grantor: o.owner, privs: want.clone()}}
		for _, g := range byGrantor(slices.Concat(gs, cols)) {
			r := g.privs.minus(want)
			switch {
			case len(r) == 0:
			case g.grantor == o.owner:
				byOwner = byOwner.union(r)
			case g.canSet:
				asGrantor = asGrantor.union(r)
				c.asGrantor = append(c.asGrantor, "SET ROLE "+ident(g.grantor),
					fmt.Sprintf("REVOKE %s ON %s FROM %s", r.render(order), kindTarget(o.kind, target), ident(user)), "RESET ROLE")
			default:
				c.kept = append(c.kept, keptGrant{grantor: g.grantor, what: r.render(order) + " on " + strings.ToLower(kindTarget(o.kind, target))})
				after = after.union(r)
				now = append(now, aclGrant{grantor: g.grantor, privs: r})
			}
		}
		if o.grants == nil {
			o.grants = map[string][]aclGrant{}
		}
		o.grants[user] = now
		o.columns = maps.Clone(o.columns)
		delete(o.columns, user)
	}
	if len(byOwner) > 0 {
		c.stmt("REVOKE", o.kind, byOwner.render(order), target)
	}
	if done := byOwner.union(asGrantor); len(done) > 0 {
		c.note(&c.revoked, o.kind, done, order)
	}
	o.acl[user] = after
}

// byGrantor merges the grants of each grantor (table and column
// privileges), in the order grantors first appear.
func byGrantor(gs []aclGrant) []aclGrant {
	var out []aclGrant
	for _, g := range gs {
		i := slices.IndexFunc(out, func(o aclGrant) bool { return o.grantor == g.grantor })
		if i < 0 {
			out = append(out, aclGrant{grantor: g.grantor, privs: g.privs.clone(), canSet: g.canSet})
			continue
		}
		out[i].privs = out[i].privs.union(g.privs)
	}
	return out
}

// kindTarget is the object clause of a GRANT or REVOKE on one object.
func kindTarget(k kind, target string) string {
	switch k {
	case kindDatabase:
		return "DATABASE " + target
	case kindSchema:
		return "SCHEMA " + target
	case kindSequence:
		return "SEQUENCE " + target
	}
	return "TABLE " + target
}

// globalDefaults revokes what the owner's default privileges for all
// schemas (ALTER DEFAULT PRIVILEGES without IN SCHEMA) give user beyond
// want. PostgreSQL's rule: without a global row, a new object gets the
// built-in defaults, which for a role other than the owner are nothing; a
// global row replaces the built-in defaults; a schema's row only adds to
// them. So the global row holds exactly what user gets everywhere, and
// revoking there what the level does not include is enough. The level's
// grants stay in schema public's row: granting them globally would reach
// every other schema the owner creates.
func (c *grantChanges) globalDefaults(o *object, user string, want privs, order []string) {
	held := o.acl[user]
	revoke := held.minus(want)
	if o.owner == user || len(revoke) == 0 {
		return
	}
	if !o.manageable {
		c.skip(o)
		return
	}
	objects := "TABLES"
	if o.kind == kindDefaultSequence {
		objects = "SEQUENCES"
	}
	c.note(&c.revoked, o.kind, revoke, order)
	c.sql = append(c.sql, fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s REVOKE %s ON %s FROM %s", ident(o.owner), revoke.render(order), objects, ident(user)))
	o.acl[user] = held.minus(revoke)
}

// defaults compares the owner's default privileges for user with want.
func (c *grantChanges) defaults(o *object, user string, want privs, order []string) {
	if o.owner == user {
		return // a role's own future objects are its own
	}
	held := o.acl[user]
	grant, revoke := want.minus(held), held.minus(want)
	if len(grant)+len(revoke) == 0 {
		return
	}
	if !o.manageable {
		c.skip(o)
		return
	}
	c.inDatabase = true
	objects := "TABLES"
	if o.kind == kindDefaultSequence {
		objects = "SEQUENCES"
	}
	prefix := fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public ", ident(o.owner))
	if len(grant) > 0 {
		c.note(&c.granted, o.kind, grant, order)
		c.sql = append(c.sql, prefix+fmt.Sprintf("GRANT %s ON %s TO %s", grant.render(order), objects, ident(user)))
	}
	if len(revoke) > 0 {
		c.note(&c.revoked, o.kind, revoke, order)
		c.sql = append(c.sql, prefix+fmt.Sprintf("REVOKE %s ON %s FROM %s", revoke.render(order), objects, ident(user)))
	}
	o.acl[user] = want.clone()
}

func (c *grantChanges) note(list *[]change, k kind, p privs, order []string) {
	for i := range *list {
		if (*list)[i].kind == k {
			for n := range p {
				(*list)[i].privs[n] = true
			}
			(*list)[i].count++
			return
		}
	}
	*list = append(*list, change{kind: k, privs: p.clone(), order: order, count: 1})
}

// stmt queues a GRANT or REVOKE; tables and sequences with the same list
// share one statement.
func (c *grantChanges) stmt(verb string, k kind, list, target string) {
	switch k {
	case kindTable, kindSequence:
		for i := range c.pending {
			if c.pending[i].verb == verb && c.pending[i].kind == k && c.pending[i].privList == list {
				c.pending[i].names = append(c.pending[i].names, target)
				return
			}
		}
		c.pending = append(c.pending, pendingStmt{verb: verb, kind: k, privList: list, names: []string{target}})
	case kindDatabase:
		c.pending = append(c.pending, pendingStmt{verb: verb, kind: k, privList: list, names: []string{"DATABASE " + target}})
	case kindSchema:
		c.pending = append(c.pending, pendingStmt{verb: verb, kind: k, privList: list, names: []string{"SCHEMA " + target}})
	}
}

// flush renders the queued statements before the default privileges, in
// the order database, schema, tables, sequences.
func (c *grantChanges) flush(user string) {
	var out []string
	for _, k := range []kind{kindDatabase, kindSchema, kindTable, kindSequence} {
		for _, s := range c.pending {
			if s.kind != k {
				continue
			}
			on := strings.Join(s.names, ", ")
			switch k {
			case kindTable:
				on = "TABLE " + on
			case kindSequence:
				on = "SEQUENCE " + on
			}
			to := "TO"
			if s.verb == "REVOKE" {
				to = "FROM"
			}
			out = append(out, fmt.Sprintf("%s %s ON %s %s %s", s.verb, s.privList, on, to, ident(user)))
		}
	}
	// The REVOKE FROM PUBLIC was queued first; keep it first.
	var head, defaults []string
	for _, s := range c.sql {
		if strings.HasPrefix(s, "REVOKE ALL ON DATABASE") {
			head = append(head, s)
		} else {
			defaults = append(defaults, s)
		}
	}
	c.sql = slices.Concat(head, out, c.asGrantor, defaults)
	c.asGrantor = nil
	c.pending = nil
}

// describe says what the step grants and revokes, e.g. "revoked INSERT,
// UPDATE, DELETE on 2 tables and on future tables".
func (c *grantChanges) describe(grantVerb, revokeVerb string) string {
	var parts []string
	if len(c.granted) > 0 {
		parts = append(parts, grantVerb+" "+describeChanges(c.granted))
	}
	if len(c.revoked) > 0 {
		parts = append(parts, revokeVerb+" "+describeChanges(c.revoked))
	}
	if c.public {
		parts = append(parts, revokeVerb+" PUBLIC's access to the database")
	}
	return strings.Join(parts, "; ")
}

func describeChanges(list []change) string {
	var out []string
	for _, k := range kinds {
		for _, ch := range list {
			if ch.kind != k {
				continue
			}
			var where string
			switch k {
			case kindDatabase:
				where = "the database"
			case kindSchema:
				where = "schema public"
			case kindTable:
				where = plural(ch.count, "1 table", fmt.Sprintf("%d tables", ch.count))
			case kindSequence:
				where = plural(ch.count, "1 sequence", fmt.Sprintf("%d sequences", ch.count))
			case kindDefaultTable:
				where = "future tables"
			case kindDefaultSequence:
				where = "future sequences"
			}
			out = append(out, ch.privs.render(ch.order)+" on "+where)
		}
	}
	return strings.Join(out, ", ")
}

func (c *grantChanges) skip(o *object) {
	if c.skipped == nil {
		c.skipped = map[skippedKey]int{}
	}
	c.skipped[skippedKey{o.kind, o.owner}]++
}

func (c *grantChanges) skippedNote() string {
	if len(c.skipped) == 0 {
		return ""
	}
	var out []string
	for k, n := range c.skipped {
		var what string
		switch k.kind {
		case kindTable:
			what = plural(n, "1 table", fmt.Sprintf("%d tables", n))
		case kindSequence:
			what = plural(n, "1 sequence", fmt.Sprintf("%d sequences", n))
		case kindDefaultTable, kindDefaultSequence:
			what = "default privileges"
		default:
			what = string(k.kind)
		}
		out = append(out, what+" owned by "+k.owner)
	}
	slices.Sort(out)
	return "left alone, the master user is not a member of their owner: " + strings.Join(out, ", ")
}

// revokeGroups is the statement that takes user out of the groups.
func revokeGroups(gs []groupPresence, user string) string {
	var ids []string
	for _, g := range gs {
		if id := ident(g.group); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return fmt.Sprintf("REVOKE %s FROM %s", strings.Join(ids, ", "), ident(user))
}

// article puts "a" or "an" before an access level.
func article(level string) string {
	if strings.ContainsRune("aeiou", rune(level[0])) {
		return "an " + level
	}
	return "a " + level
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
