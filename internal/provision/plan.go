package provision

import (
	"errors"
	"slices"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The plan: a pure function from what the entries say and what one read
// of the instance found (state.go) to the steps that bring the instance
// there. This file holds the plan's value and its orchestration; each
// resource's rules, SQL and sentences are in its own file: role.go (and
// record.go), database.go, grants.go (with converge.go and
// privileges.go), schema_step.go.

// Plan is what plan returns: the steps, and the statements a real run must
// send before it can know them.
type Plan struct {
	// Pre makes the master a member of roles whose databases it cannot read
	// yet (their owner revoked CONNECT from PUBLIC, and only the role's own
	// create_role step makes the master a member). A real run sends them,
	// reads those databases again and plans once more (planInput.preDone);
	// until then their grant steps are errors (a dry run: warnings), since
	// what they hold is unknown.
	Pre []PreStep
	// Steps are the planned steps, in the order their rows are reported.
	Steps []Step
}

// PreStep is one membership a real run grants before planning its steps.
type PreStep struct {
	Role      string   // granted to the master
	Databases []string // Role owns them and PUBLIC may not connect: read again after it
	SQL       string
}

// Step is one planned action: one audit row, and the statements that carry
// it out. A real run executes the steps in order; a dry run reports them.
// A Step is only what is planned: what executing it gave is a stepOutcome
// (apply.go), and its words are render.go's.
//
// Steps with On == "" act on the instance (roles, CREATE DATABASE, grants
// that only change database ACLs, which live in the shared catalog) and
// need no particular database; steps with On set run inside that database.
// A step depends only on the earlier steps of its entry, on the role steps
// of the entries before, and on the steps of the entries before on the
// same database, so an engine may run different databases' steps
// concurrently once the roles exist, while the master's session holds the
// advisory lock (apply.go). apply_schema steps (initial_schema) are
// per-database steps placed after every entry's grants, so an engine must
// keep them after the grant steps of their database.
type Step struct {
	Entry    int    // index in application_databases order; -1 for the run itself
	Kind     Kind   // what the step does or reports
	Action   string // audit action: create_role, create_database, apply_grants, ...
	Database string // audit database column
	Username string // audit username column
	// Status is the row the plan expects: success (a change), no_change,
	// warning or error (refused). A dry run reports success as dry_run.
	Status audit.Status
	On     string   // database to run SQL in; empty = the master's session
	SQL    []string `json:"-"` // sent as one implicit transaction; may hold a password verifier
	// Template is the initial_schema template an apply_schema step applies
	// with schema.Apply (its own transaction, in a session logged in as the
	// owner role) instead of SQL.
	Template string
	// Tenant marks a step whose failure is its entry's database's (the
	// tenant's settings, connection limit, template lock, a squatted
	// name): it fails that entry and the entries on that database, and
	// fail-fast does not stop the run for it. The plan sets it on the
	// error rows of a database it could not read and on the schema
	// template; the engine on the steps that fail inside or on a database
	// (tenantFailure).
	Tenant bool
	// say holds the facts the step's words are made of (render.go).
	say phrase
}

// Kind says what a step does or reports, within its action: the plan's
// vocabulary, which tests compare and render.go words. Each resource's
// kinds are declared in its file.
type Kind string

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
	// preDone: the Pre of an earlier plan of this run was sent and the
	// databases read again; plan no more of them.
	preDone bool
}

// plan returns the ordered steps that bring the instance to what the
// entries say, and what must run before them. It reads in.state and never
// changes it.
func plan(in planInput) Plan {
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
	return Plan{Pre: p.pre, Steps: p.steps}
}

type planner struct {
	in    planInput
	st    *instance
	steps []Step
	pre   []PreStep
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

// add appends a step of entry i (e nil: of the run).
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
		p.add(i, e, Step{Kind: EntryInvalid, Action: "validate", Status: audit.Error, say: entryFacts{reason: e.invalid}})
		return false
	}
	if why := p.masterDatabase(e.DatabaseName); why != "" {
		p.add(i, e, Step{Kind: DatabaseMasters, Action: "validate", Status: audit.Error, say: databaseFacts{db: e.DatabaseName, key: e.Key, why: why}})
		return false
	}
	if e.secretErr != nil {
		if !p.in.dryRun || !errors.Is(e.secretErr, secrets.ErrNotFound) {
			p.add(i, e, Step{Kind: SecretUnreadable, Action: audit.ActionFetchSecret, Status: audit.Error, say: secretFacts{err: e.secretErr}})
			return false
		}
		// Before merge the app secret does not exist yet: Terraform makes
		// it. The preview goes on as if it did.
		p.add(i, e, Step{Kind: SecretNotYet, Action: audit.ActionFetchSecret, Status: audit.Warning, say: secretFacts{path: e.SecretPath, env: p.in.env}})
	}
	if p.st == nil {
		p.offline(i, e)
		return false
	}
	if e.AccessLevel != tfvars.AccessOwner && p.st.databases[e.DatabaseName] == nil {
		// Refused before the role is made, so nothing changes.
		p.add(i, e, Step{Kind: DatabaseMissing, Action: audit.ActionCreateDatabase, Status: audit.Error,
			say: databaseFacts{db: e.DatabaseName, level: e.AccessLevel, key: e.Key}})
		return false
	}
	return p.role(i, e) && p.database(i, e) && p.grants(i, e)
}

// offline is the preview when the instance cannot be read: the runbook's
// three lines, assuming nothing exists.
func (p *planner) offline(i int, e *entry) {
	p.add(i, e, Step{Kind: RoleCreate, Action: audit.ActionCreateRole, Status: audit.Success, say: roleFacts{user: e.Username}})
	if e.AccessLevel == tfvars.AccessOwner {
		p.add(i, e, Step{Kind: DatabaseCreate, Action: audit.ActionCreateDatabase, Status: audit.Success, say: databaseFacts{db: e.DatabaseName, owner: e.Username}})
	} else {
		p.add(i, e, Step{Kind: DatabaseUseExisting, Action: audit.ActionCreateDatabase, Status: audit.Success, say: databaseFacts{db: e.DatabaseName, level: e.AccessLevel}})
	}
	p.add(i, e, Step{Kind: GrantsGrant, Action: audit.ActionApplyGrants, Status: audit.Success,
		say: grantFacts{db: e.DatabaseName, user: e.Username, label: grantLabel(e.AccessLevel)}})
	if t, err := schema.Lookup(e.InitialSchema); e.InitialSchema != "" && err == nil {
		d := schema.Decide(t, schema.State{})
		p.add(i, e, Step{Kind: SchemaApply, Action: audit.ActionApplySchema, Status: audit.Success, say: schemaFacts{db: e.DatabaseName, label: t.Label(), decision: &d}})
	}
}

// preMembership asks, in the plan's Pre, for role to be granted to the
// master before planning again, so db can be read; false once an earlier
// plan's Pre ran.
func (p *planner) preMembership(role, db string) bool {
	if p.in.preDone {
		return false
	}
	i := slices.IndexFunc(p.pre, func(s PreStep) bool { return s.Role == role })
	if i < 0 {
		p.pre = append(p.pre, PreStep{Role: role, SQL: grantMembershipSQL(role, p.in.masterUser)})
		i = len(p.pre) - 1
	}
	if !slices.Contains(p.pre[i].Databases, db) {
		p.pre[i].Databases = append(p.pre[i].Databases, db)
	}
	return true
}
