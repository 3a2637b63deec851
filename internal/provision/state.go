package provision

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/schema"
)

// instance is what one read of the server says about everything the entries
// name: the input of the pure plan.
type instance struct {
	roles     map[string]*role     // by name; absent = does not exist
	databases map[string]*database // by name; absent = does not exist
	// all lists every privilege the server knows per kind ("ALL").
	all map[kind][]string
}

// role is what the catalog says about one role.
type role struct {
	super, createRole, replication, bypassRLS, canLogin bool
	privilegedMemberOf                                  string
	owns                                                []string
	// masterIsMember: the master is a member of the role (CREATE DATABASE
	// ... OWNER needs it); masterActs: and has its privileges, so it can
	// grant on the role's objects and change its default privileges.
	masterIsMember, masterActs bool
	// expiredUntil is the VALID UNTIL timestamp when it is in the past.
	expiredUntil string
	connLimit    int
}

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
	// owner entry gives an initial_schema; nil otherwise.
	schema *schema.State
}

// object is one governed object: the database itself, schema public, a
// table or sequence in it, or the owner's default privileges there.
type object struct {
	kind  kind
	name  string // table or sequence name; empty otherwise
	owner string
	// manageable: the master has the owner's privileges, so its GRANT and
	// REVOKE take effect (as the owner's).
	manageable bool
	// acl holds the privileges of PUBLIC (key "") and of the roles the
	// entries name; other grantees are never read, so never touched.
	acl map[string]privs
	// grants splits acl by grantor, as read; nil when not read (a
	// database this plan creates): then the owner granted everything.
	grants map[string][]aclGrant
	// columns holds a table's column privileges (GRANT UPDATE (col)) by
	// grantee, as read; only revoked, never granted.
	columns map[string][]aclGrant
	// global marks the owner's default privileges for all schemas (ALTER
	// DEFAULT PRIVILEGES without IN SCHEMA); otherwise they are schema
	// public's.
	global bool
}

// aclGrant is what one grantor granted one grantee.
type aclGrant struct {
	grantor string
	privs   privs
	// canSet: the master may SET ROLE to the grantor, so it can revoke
	// the grant as the grantor.
	canSet bool
}

// clone copies the state so planning never changes what was read.
func (in *instance) clone() *instance {
	out := &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: in.all}
	for n, r := range in.roles {
		c := *r
		out.roles[n] = &c
	}
	for n, d := range in.databases {
		c := *d
		c.objects = nil
		if d.objects != nil {
			c.objects = make([]*object, len(d.objects))
			for i, o := range d.objects {
				co := *o
				co.acl = map[string]privs{}
				for g, p := range o.acl {
					co.acl[g] = p.clone()
				}
				co.grants = maps.Clone(o.grants)
				c.objects[i] = &co
			}
		}
		out.databases[n] = &c
	}
	return out
}

// privilegedPredefined are predefined roles whose members can read or write
// the server's files or every table: a role in them is not an app role.
var privilegedPredefined = []string{
	"rds_superuser", "pg_read_server_files", "pg_write_server_files",
	"pg_execute_server_program", "pg_read_all_data", "pg_write_all_data",
	"pg_signal_backend", "pg_checkpoint",
	// They read every session's queries and the server's settings
	// (pg_monitor and its parts), VACUUM and ANALYZE every table
	// (pg_maintain, 17+), create subscriptions (16+), or manage others'
	// passwords and replication on RDS: no application login holds them.
	"pg_monitor", "pg_read_all_stats", "pg_read_all_settings", "pg_stat_scan_tables",
	"pg_maintain", "pg_create_subscription", "pg_use_reserved_connections",
	"rds_password", "rds_replication",
}

// sqlRoles reads every named role in one query: its attributes, the first
// privileged role it belongs to, the databases it owns, and the master's
// membership in it.
const sqlRoles = `
SELECT r.rolname,
       r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
       COALESCE((SELECT g.rolname FROM pg_roles g
                 WHERE g.oid <> r.oid
                   AND (g.rolsuper OR g.rolcreaterole OR g.rolreplication OR g.rolbypassrls
                        OR g.rolname = ANY($2))
                   AND pg_has_role(r.oid, g.oid, 'MEMBER')
                 ORDER BY g.rolname LIMIT 1), ''),
       ARRAY(SELECT d.datname::text FROM pg_database d WHERE d.datdba = r.oid ORDER BY d.datname),
       pg_has_role(current_user, r.oid, 'MEMBER'),
       pg_has_role(current_user, r.oid, 'USAGE'),
       CASE WHEN r.rolvaliduntil < now() THEN r.rolvaliduntil::text ELSE '' END,
       r.rolconnlimit
FROM pg_roles r
WHERE r.rolname = ANY($1)`

// sqlDatabases reads every named database, its owner, and whether the
// master has the owner's privileges, in one query.
const sqlDatabases = `
SELECT d.datname, pg_get_userbyid(d.datdba)
FROM pg_database d
WHERE d.datname = ANY($1)`

// sqlAllPrivileges asks the server what ALL means per object type (an
// owner's default ACL holds every privilege), so PostgreSQL 17's MAINTAIN
// is covered where it exists.
const sqlAllPrivileges = `
SELECT t.k::text, ARRAY(SELECT a.privilege_type FROM aclexplode(acldefault(t.k, 10)) a WHERE a.grantee = 10)
FROM unnest(ARRAY['d', 'n', 'r', 's']::"char"[]) AS t(k)`

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readInstance reads the roles and databases the entries name, on the
// master's connection: a fixed number of queries whatever the number of
// entries. ACLs inside each database are read by readDatabaseACLs.
func (r *run) readInstance(ctx context.Context, conn querier, entries []*entry) (*instance, error) {
	st := &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: map[kind][]string{}}
	users, dbs := entryNames(entries)
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	rows, err := conn.Query(sctx, sqlRoles, users, privilegedPredefined)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	for rows.Next() {
		var name string
		ro := &role{}
		if err := rows.Scan(&name, &ro.super, &ro.createRole, &ro.replication, &ro.bypassRLS, &ro.canLogin,
			&ro.privilegedMemberOf, &ro.owns, &ro.masterIsMember, &ro.masterActs, &ro.expiredUntil, &ro.connLimit); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read roles: %w", err)
		}
		st.roles[name] = ro
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	rows, err = conn.Query(sctx, sqlDatabases, dbs)
	if err != nil {
		return nil, fmt.Errorf("read databases: %w", err)
	}
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read databases: %w", err)
		}
		st.databases[name] = &database{owner: owner}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read databases: %w", err)
	}
	rows, err = conn.Query(sctx, sqlAllPrivileges)
	if err != nil {
		return nil, fmt.Errorf("read privilege names: %w", err)
	}
	byCode := map[string][]kind{"d": {kindDatabase}, "n": {kindSchema}, "r": {kindTable, kindDefaultTable}, "s": {kindSequence, kindDefaultSequence}}
	for rows.Next() {
		var code string
		var names []string
		if err := rows.Scan(&code, &names); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read privilege names: %w", err)
		}
		for _, k := range byCode[code] {
			st.all[k] = names
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read privilege names: %w", err)
	}
	return st, nil
}

// readDatabaseACLs reads the governed ACLs inside every existing database
// an entry names, one connection at a time, in a read-only transaction. A
// database that cannot be read keeps its error for the plan to report on
// the entries that need it.
func (r *run) readDatabaseACLs(ctx context.Context, st *instance, entries []*entry) error {
	users, dbs := entryNames(entries)
	templated := map[string]bool{}
	for _, e := range entries {
		if e.invalid == "" && e.InitialSchema != "" {
			templated[e.DatabaseName] = true
		}
	}
	for _, name := range dbs {
		db := st.databases[name]
		if db == nil || name == r.master.DBName {
			continue
		}
		objs, sch, err := r.readACLs(ctx, name, users, templated[name])
		if ctx.Err() != nil {
			return ctx.Err()
		}
		db.objects, db.schema, db.readErr = objs, sch, err
	}
	return nil
}

// readACLs reads one database's governed ACLs and, when inspect is set,
// what its initial_schema template needs (schema.Inspect).
func (r *run) readACLs(ctx context.Context, db string, users []string, inspect bool) ([]*object, *schema.State, error) {
	conn, err := r.connect(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.Background())
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	// One statement reads one snapshot; the schema inspection adds queries,
	// so it shares a read-only transaction with the ACL read.
	var q querier = conn
	var tx pgx.Tx
	if inspect {
		if tx, err = conn.BeginTx(sctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}); err != nil {
			return nil, nil, fmt.Errorf("read privileges in %s: %w", db, err)
		}
		defer tx.Rollback(context.Background())
		q = tx
	}
	rows, err := q.Query(sctx, sqlDatabaseACLs, users)
	if err != nil {
		return nil, nil, fmt.Errorf("read privileges in %s: %w", db, err)
	}
	objs := []*object{}
	for rows.Next() {
		o := &object{acl: map[string]privs{}}
		var k string
		var acl, cols []string
		if err := rows.Scan(&k, &o.name, &o.owner, &o.manageable, &acl, &cols); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("read privileges in %s: %w", db, err)
		}
		parseObject(o, k, acl, cols)
		objs = append(objs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read privileges in %s: %w", db, err)
	}
	if !inspect {
		return objs, nil, nil
	}
	sch, err := schema.Inspect(sctx, tx)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s for its initial_schema: %w", db, err)
	}
	return objs, &sch, tx.Commit(sctx)
}

// entryNames lists the usernames and database names of the valid entries,
// each once, in tfvars order.
func entryNames(entries []*entry) (users, dbs []string) {
	seenU, seenD := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		if e.invalid != "" {
			continue
		}
		if !seenU[e.Username] {
			seenU[e.Username] = true
			users = append(users, e.Username)
		}
		if !seenD[e.DatabaseName] {
			seenD[e.DatabaseName] = true
			dbs = append(dbs, e.DatabaseName)
		}
	}
	return users, dbs
}
