package provision

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The database of an entry (create_database): what the instance says about
// it (its part of the batched catalog read, and template1, which CREATE
// DATABASE copies), the rules that refuse a database (the instance's own;
// the names PostgreSQL and RDS reserve are refused with the entry's other
// names, naming.CheckDatabase), the plan's create_database step and its
// SQL, and what it says.

// Kinds of create_database step, and of the validate step that refuses the
// instance's own database.
const (
	DatabaseCreate       Kind = "database.create"        // CREATE DATABASE ... OWNER
	DatabaseInPlace      Kind = "database.in_place"      // exists with the entry's owner
	DatabaseShared       Kind = "database.shared"        // an editor or reader entry's database, someone else's
	DatabaseUseExisting  Kind = "database.use_existing"  // offline: an editor or reader entry's database
	DatabaseOwnerDiffers Kind = "database.owner_differs" // warning: exists with another owner
	DatabaseMissing      Kind = "database.missing"       // an editor or reader entry's database does not exist
	DatabaseMasters      Kind = "database.masters"       // the instance's own database: refused
)

// database is one database and, once read from inside it, the ACLs the
// access levels govern.
type database struct {
	owner string
	// objects is nil when the ACLs were not read (readErr says why) and
	// empty but non-nil for a database the plan creates.
	objects []*object
	readErr error
	created bool // made by this plan, not read from the server
	// schema is what schema.Inspect found, read only for a database an
	// owner entry gives an initial_schema, in a session of that owner
	// role; nil otherwise, or when schemaErr says why it could not be.
	schema    *schema.State
	schemaErr error
}

// sqlDatabases reads every named database and its owner in one query.
const sqlDatabases = `
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba)
FROM pg_catalog.pg_database d
WHERE d.datname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])`

// readDatabases scans sqlDatabases' rows of the catalog batch (state.go).
func readDatabases(br pgx.BatchResults, st *instance) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read databases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			return fmt.Errorf("read databases: %w", err)
		}
		st.databases[name] = &database{owner: owner}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read databases: %w", err)
	}
	return nil
}

// templateDatabase is the database CREATE DATABASE copies when no TEMPLATE
// is named.
const templateDatabase = "template1"

// sqlPlainTemplate runs inside template1 and says whether it is plain (see
// instance.plainTemplate). Like every query inside a database other than
// the master's, it names pg_catalog for every function, operator and type.
const sqlPlainTemplate = `
SELECT COALESCE(pg_catalog.bool_and(
         pg_catalog.pg_get_userbyid(n.nspowner) OPERATOR(pg_catalog.=) 'pg_database_owner'::pg_catalog.name
         AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n'::pg_catalog."char", n.nspowner))) x
                          WHERE x.grantee OPERATOR(pg_catalog.<>) ALL (ARRAY[0::pg_catalog.oid, n.nspowner]))
         AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                          WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid
                            AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f,S}'::pg_catalog."char"[]))
         AND NOT EXISTS (SELECT FROM pg_catalog.pg_default_acl a WHERE a.defaclnamespace OPERATOR(pg_catalog.=) n.oid)), false)
FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name`

// readPlainTemplate reports whether the template database (template1) is
// plain; false when it cannot be read, so the plan falls back to granting
// inside the database.
func (r *run) readPlainTemplate(ctx context.Context, template string) bool {
	conn, err := r.connect(ctx, template)
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	var plain bool
	if err := conn.QueryRow(sctx, sqlPlainTemplate).Scan(&plain); err != nil {
		return false
	}
	return plain
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

// database plans an entry's create_database step, and reports whether
// its grants can be planned: not on a database another role owns.
func (p *planner) database(i int, e *entry) bool {
	db := p.st.databases[e.DatabaseName]
	f := databaseFacts{db: e.DatabaseName, owner: e.Username, level: e.AccessLevel}
	if db != nil {
		f.owner = db.owner
	}
	if e.AccessLevel != tfvars.AccessOwner {
		f.created = db.created
		p.add(i, e, Step{Kind: DatabaseShared, Action: audit.ActionCreateDatabase, Status: audit.NoChange, say: f})
		return true
	}
	switch {
	case db == nil:
		p.add(i, e, Step{Kind: DatabaseCreate, Action: audit.ActionCreateDatabase, Status: audit.Success, say: f,
			SQL: []string{createDatabaseSQL(e.DatabaseName, e.Username)}})
		p.st.databases[e.DatabaseName] = newCreatedDatabase(e.Username, p.st.all, p.st.plainTemplate)
		return true
	case db.owner == e.Username:
		p.add(i, e, Step{Kind: DatabaseInPlace, Action: audit.ActionCreateDatabase, Status: audit.NoChange, say: f})
		return true
	}
	f.want = e.Username
	p.add(i, e, Step{Kind: DatabaseOwnerDiffers, Action: audit.ActionCreateDatabase, Status: audit.Warning, say: f})
	p.add(i, e, Step{Kind: GrantsOwnerDiffers, Action: audit.ActionApplyGrants, Status: audit.Warning,
		say: grantFacts{db: e.DatabaseName, owner: db.owner, user: e.Username}})
	p.schemaSkipped(i, e, "its owner is "+db.owner+", not "+e.Username)
	return false
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

func createDatabaseSQL(db, owner string) string {
	return fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(db), ident(owner))
}

// databaseFacts are what a create_database step says.
type databaseFacts struct {
	db, owner string
	want      string // DatabaseOwnerDiffers: the entry's username
	level     string // the entry's access_level
	key       string // the entry's key
	why       string // DatabaseMasters: which setting names it
	created   bool   // DatabaseShared: this run creates it
}

func (f databaseFacts) words(k Kind) wording {
	switch k {
	case DatabaseCreate:
		return wording{message: fmt.Sprintf("Database created: %s with owner %s", f.db, f.owner),
			preview: fmt.Sprintf("Would create database: %s with owner %s", f.db, f.owner), fail: "Failed to create database " + f.db}
	case DatabaseInPlace:
		return wording{message: fmt.Sprintf("Database %s exists with owner %s", f.db, f.owner)}
	case DatabaseShared:
		if f.created {
			return wording{message: fmt.Sprintf("Database %s is created by this run with owner %s (access_level %s)", f.db, f.owner, f.level)}
		}
		return wording{message: fmt.Sprintf("Database %s exists with owner %s (access_level %s)", f.db, f.owner, f.level)}
	case DatabaseUseExisting:
		return wording{preview: fmt.Sprintf("Would use existing database: %s (access_level %s)", f.db, f.level)}
	case DatabaseOwnerDiffers:
		return wording{message: fmt.Sprintf("Database %s exists but owner is %s, expected %s", f.db, f.owner, f.want)}
	case DatabaseMissing:
		return wording{message: fmt.Sprintf("Database %s does not exist: %s entry needs it created first (list its owner entry before application_databases.%s)", f.db, article(f.level), f.key)}
	case DatabaseMasters:
		return wording{message: fmt.Sprintf("Refusing database %s for application_databases.%s: it is the RDS instance's own database (%s); an app entry there would reach the master's tables and revoke other logins' CONNECT. Choose another database_name",
			f.db, f.key, f.why)}
	}
	return wording{}
}
