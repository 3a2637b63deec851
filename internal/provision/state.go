package provision

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// instance is what one read of the server says about everything the entries
// name: the input of the pure plan.
type instance struct {
	roles     map[string]*role     // by name; absent = does not exist
	databases map[string]*database // by name; absent = does not exist
	// all lists every privilege the server knows per kind ("ALL").
	all map[kind][]string
	// plainTemplate: template1, which CREATE DATABASE copies, has a schema
	// public owned by pg_database_owner (PostgreSQL 15+ as initdb makes
	// it, not an upgraded cluster's), granting nothing to any other role
	// than its owner and PUBLIC, and holding no tables, sequences or
	// default privileges. A database created from it is then exactly
	// newDatabase. Read only when the run may create a database; false
	// when it could not be read.
	plainTemplate bool
}

// role is what the catalog says about one role.
type role struct {
	super, createRole, replication, bypassRLS, canLogin bool
	privilegedMemberOf                                  string
	// memberOfLogin is a role it belongs to (directly or through groups)
	// that can log in or owns a database: another application's identity,
	// whose access taking this role over would hand out.
	memberOfLogin string
	owns          []string
	// presentIn lists the databases where it owns objects or holds
	// privileges (pg_shdepend), its own databases included.
	presentIn []string
	// groupPresence lists, for the roles it belongs to (directly or
	// through groups), the databases where they own objects or hold
	// privileges: access it has through them.
	groupPresence []groupPresence
	// record is its comment's record (record.go); nil when it has none.
	record *roleRecord
	// masterIsMember: the master is a member of the role (CREATE DATABASE
	// ... OWNER needs it); masterActs: and has its privileges, so it can
	// grant on the role's objects and change its default privileges.
	masterIsMember, masterActs bool
	// expiredUntil is the VALID UNTIL timestamp when it is in the past.
	expiredUntil string
	connLimit    int
}

// groupPresence is one database where a group of a role owns objects or
// holds privileges.
type groupPresence struct {
	group, database string
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
	// owner entry gives an initial_schema, in a session of that owner
	// role; nil otherwise, or when schemaErr says why it could not be.
	schema    *schema.State
	schemaErr error
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
	out := &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: in.all, plainTemplate: in.plainTemplate}
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

// sqlRoles reads every named role in one query: its attributes, its
// record (record.go), the first privileged role it belongs to, the first
// role it belongs to that can log in or owns a database (memberships walked
// up from the named roles through pg_auth_members' member index), the
// databases it owns, those where it, or a role it belongs to, owns objects
// or holds privileges (pg_shdepend, through its index on the role), and the
// master's membership in it. Its cost does not grow with the roles and
// databases no entry names: the privileged roles are listed once (not per
// named role), and pg_database, which has no index on datdba, is scanned
// once for all named roles instead of once per role.
//
// It runs in the master's database, which no tenant owns; its functions,
// operators and types still name pg_catalog, as the queries inside tenant
// databases do (sqlDatabaseACLs), in case that database's schema public
// lets others create objects (a cluster upgraded from before 15).
const sqlRoles = `
WITH RECURSIVE named AS MATERIALIZED (
  SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
         r.rolcanlogin, r.rolvaliduntil, r.rolconnlimit
    FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
), privileged AS MATERIALIZED (
  SELECT g.oid, g.rolname FROM pg_catalog.pg_roles g
   WHERE g.rolsuper OR g.rolcreaterole OR g.rolreplication OR g.rolbypassrls
      OR g.rolname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])
), up (member, roleid) AS (
  SELECT m.member, m.roleid FROM pg_catalog.pg_auth_members m
   WHERE m.member OPERATOR(pg_catalog.=) ANY (SELECT n.oid FROM named n)
  UNION
  SELECT up.member, m.roleid FROM up JOIN pg_catalog.pg_auth_members m ON m.member OPERATOR(pg_catalog.=) up.roleid
), logins AS (
  SELECT up.member, pg_catalog.min(g.rolname::pg_catalog.text) AS rolname
    FROM up JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) up.roleid
   WHERE up.roleid OPERATOR(pg_catalog.<>) up.member
     AND (g.rolcanlogin OR EXISTS (SELECT FROM pg_catalog.pg_database d WHERE d.datdba OPERATOR(pg_catalog.=) g.oid))
   GROUP BY up.member
), reach (member, via) AS (
  SELECT n.oid, n.oid FROM named n
  UNION
  SELECT up.member, up.roleid FROM up
), present AS (
  SELECT DISTINCT r.member, r.via, d.datname::pg_catalog.text AS datname
    FROM reach r
    JOIN pg_catalog.pg_shdepend s ON s.refobjid OPERATOR(pg_catalog.=) r.via
    JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=)
         CASE WHEN s.dbid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                   AND s.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_database'::pg_catalog.regclass::pg_catalog.oid
              THEN s.objid ELSE s.dbid END
   WHERE s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass::pg_catalog.oid
     AND s.deptype OPERATOR(pg_catalog.=) ANY ('{o,a}'::pg_catalog."char"[])
), presence AS (
  SELECT p.member,
         pg_catalog.array_agg(p.datname ORDER BY p.datname)
           FILTER (WHERE p.via OPERATOR(pg_catalog.=) p.member) AS own,
         pg_catalog.array_agg(pg_catalog.pg_get_userbyid(p.via)::pg_catalog.text ORDER BY p.datname, p.via)
           FILTER (WHERE p.via OPERATOR(pg_catalog.<>) p.member) AS groups,
         pg_catalog.array_agg(p.datname ORDER BY p.datname, p.via)
           FILTER (WHERE p.via OPERATOR(pg_catalog.<>) p.member) AS group_dbs
    FROM present p GROUP BY p.member
), owned AS (
  SELECT d.datdba, pg_catalog.array_agg(d.datname::pg_catalog.text ORDER BY d.datname) AS dbs
    FROM pg_catalog.pg_database d WHERE d.datdba OPERATOR(pg_catalog.=) ANY (SELECT n.oid FROM named n)
   GROUP BY d.datdba
)
SELECT r.rolname,
       r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
       COALESCE((SELECT g.rolname FROM privileged g
                 WHERE g.oid OPERATOR(pg_catalog.<>) r.oid AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')
                 ORDER BY g.rolname LIMIT 1), ''),
       COALESCE(l.rolname, ''),
       COALESCE(o.dbs, '{}'),
       COALESCE(pr.own, '{}'),
       COALESCE(pr.groups, '{}'),
       COALESCE(pr.group_dbs, '{}'),
       pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'MEMBER'),
       pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE'),
       CASE WHEN r.rolvaliduntil OPERATOR(pg_catalog.<) pg_catalog.now() THEN r.rolvaliduntil::pg_catalog.text ELSE '' END,
       r.rolconnlimit,
       ` + sqlRecord + `
FROM named r LEFT JOIN owned o ON o.datdba OPERATOR(pg_catalog.=) r.oid
  LEFT JOIN logins l ON l.member OPERATOR(pg_catalog.=) r.oid
  LEFT JOIN presence pr ON pr.member OPERATOR(pg_catalog.=) r.oid`

// sqlDatabases reads every named database and its owner in one query.
const sqlDatabases = `
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba)
FROM pg_catalog.pg_database d
WHERE d.datname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])`

// sqlAllPrivileges asks the server what ALL means per object type (an
// owner's default ACL holds every privilege), so PostgreSQL 17's MAINTAIN
// is covered where it exists.
const sqlAllPrivileges = `
SELECT t.k::pg_catalog.text,
       ARRAY(SELECT a.privilege_type FROM pg_catalog.aclexplode(pg_catalog.acldefault(t.k, 10::pg_catalog.oid)) a
              WHERE a.grantee OPERATOR(pg_catalog.=) 10::pg_catalog.oid)
FROM pg_catalog.unnest('{d,n,r,s}'::pg_catalog."char"[]) AS t(k)`

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

// readInstance reads the roles and databases the entries name, on the
// master's connection: a fixed number of queries whatever the number of
// entries. ACLs inside each database are read by readDatabaseACLs.
func (r *run) readInstance(ctx context.Context, conn *pgx.Conn, entries []*entry) (*instance, error) {
	st := &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: map[kind][]string{}}
	users, dbs := entryNames(entries)
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	// The three reads go in one batch: one round trip.
	b := &pgx.Batch{}
	b.Queue(sqlRoles, users, privilegedPredefined)
	b.Queue(sqlDatabases, dbs)
	b.Queue(sqlAllPrivileges)
	br := conn.SendBatch(sctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	for rows.Next() {
		var name, comment string
		var groups, groupDBs []string
		ro := &role{}
		if err := rows.Scan(&name, &ro.super, &ro.createRole, &ro.replication, &ro.bypassRLS, &ro.canLogin,
			&ro.privilegedMemberOf, &ro.memberOfLogin, &ro.owns, &ro.presentIn, &groups, &groupDBs,
			&ro.masterIsMember, &ro.masterActs, &ro.expiredUntil, &ro.connLimit, &comment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read roles: %w", err)
		}
		for i := range min(len(groups), len(groupDBs)) {
			ro.groupPresence = append(ro.groupPresence, groupPresence{group: groups[i], database: groupDBs[i]})
		}
		ro.record = parseRecord(comment)
		st.roles[name] = ro
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	rows, err = br.Query()
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
	rows, err = br.Query()
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
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	return st, nil
}

// readDatabaseACLs reads the governed ACLs inside every existing database
// an entry names, on up to Options.Parallel connections at once, each in
// its own session, and what an owner entry's initial_schema needs, in a
// session logged in as that owner (inspectAsOwner). A database that cannot
// be read keeps its error for the plan to report on the entries that need
// it. When an owner entry's database does not exist yet, template1 is read
// too (plainTemplate), on a connection that is closed before the plan runs
// any CREATE DATABASE (which refuses to copy a template others are
// connected to).
func (r *run) readDatabaseACLs(ctx context.Context, st *instance, entries []*entry) error {
	users, dbs := entryNames(entries)
	templated := map[string]*entry{}
	creates := false
	for _, e := range entries {
		if e.invalid != "" {
			continue
		}
		if e.InitialSchema != "" && e.AccessLevel == tfvars.AccessOwner && templated[e.DatabaseName] == nil {
			templated[e.DatabaseName] = e
		}
		if e.AccessLevel == tfvars.AccessOwner && st.databases[e.DatabaseName] == nil {
			creates = true
		}
	}
	var todo, inspect []string
	for _, name := range dbs {
		if st.databases[name] != nil && name != r.master.DBName {
			todo = append(todo, name)
			if templated[name] != nil {
				inspect = append(inspect, name)
			}
		}
	}
	type read struct {
		objs []*object
		sch  *schema.State
		err  error
	}
	reads := make([]read, len(todo))
	inspected := make([]read, len(inspect))
	jobs := len(todo) + len(inspect)
	if creates {
		jobs++
	}
	r.forEach(ctx, jobs, func(i int) {
		switch {
		case i < len(todo):
			reads[i].objs, reads[i].err = r.readACLs(ctx, todo[i], users)
		case i < len(todo)+len(inspect):
			k := i - len(todo)
			inspected[k].sch, inspected[k].err = r.inspectAsOwner(ctx, templated[inspect[k]])
		default:
			st.plainTemplate = r.readPlainTemplate(ctx, templateDatabase)
		}
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, name := range todo {
		db := st.databases[name]
		db.objects, db.readErr = reads[i].objs, reads[i].err
	}
	for i, name := range inspect {
		db := st.databases[name]
		db.schema, db.schemaErr = inspected[i].sch, inspected[i].err
	}
	return nil
}

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

// readACLs reads one database's governed ACLs, in one statement (one
// snapshot), reading system catalogs only.
func (r *run) readACLs(ctx context.Context, db string, users []string) ([]*object, error) {
	conn, err := r.connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	rows, err := conn.Query(sctx, sqlDatabaseACLs, users)
	if err != nil {
		return nil, fmt.Errorf("read privileges in %s: %w", db, err)
	}
	objs := []*object{}
	for rows.Next() {
		o := &object{acl: map[string]privs{}}
		var k string
		var acl, cols []string
		if err := rows.Scan(&k, &o.name, &o.owner, &o.manageable, &acl, &cols); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read privileges in %s: %w", db, err)
		}
		parseObject(o, k, acl, cols)
		objs = append(objs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read privileges in %s: %w", db, err)
	}
	return objs, nil
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
