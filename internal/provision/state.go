package provision

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The state read: one batch on the master's session for what the instance
// says about the entries' roles (role.go), databases (database.go) and
// privilege names (privileges.go), each resource scanning its own part of
// the batch; then the ACLs inside each database (grants.go) and what an
// initial_schema needs (schema_step.go), on the run's parallel
// connections. The plan's input, read once.

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

// readState reads the instance on the master's connection, then the ACLs
// inside each target database. A real run holds the lock, so nothing of
// rds-provision's changes between the reads; a dry run's sessions are
// read-only (default_transaction_read_only).
func (r *run) readState(ctx context.Context, conn *pgx.Conn, entries []*entry) (*instance, error) {
	st, err := r.readInstance(ctx, conn, entries)
	if err != nil {
		return nil, err
	}
	if err := r.readDatabaseACLs(ctx, st, entries); err != nil {
		return nil, err
	}
	return st, nil
}

// readInstance reads the roles and databases the entries name, on the
// master's connection: a fixed number of queries whatever the number of
// entries, in one batch (one round trip). ACLs inside each database are
// read by readDatabaseACLs.
func (r *run) readInstance(ctx context.Context, conn *pgx.Conn, entries []*entry) (*instance, error) {
	st := &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: map[kind][]string{}}
	users, dbs := entryNames(entries)
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(sqlRoles, users, privilegedPredefined)
	b.Queue(sqlDatabases, dbs)
	b.Queue(sqlAllPrivileges)
	br := conn.SendBatch(sctx, b)
	defer br.Close()
	for _, read := range []func(pgx.BatchResults, *instance) error{readRoles, readDatabases, readAllPrivileges} {
		if err := read(br, st); err != nil {
			return nil, err
		}
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
