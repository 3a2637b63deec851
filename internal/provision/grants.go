package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The grants of an entry (apply_grants): what each database holds (the
// ACL read inside it, a query per database, on the run's parallel
// connections), the rules that skip or refuse an entry's grants, the
// plan's apply_grants step, and what it says. The GRANT and REVOKE
// statements that converge a role to its level are converge.go's; what
// each level holds is privileges.go's.

// Kinds of apply_grants step.
const (
	GrantsGrant           Kind = "grants.grant"            // the level granted afresh (the runbook's "Would grant ALL on ...")
	GrantsConverge        Kind = "grants.converge"         // what is missing granted, what the level does not include revoked
	GrantsInPlace         Kind = "grants.in_place"         // nothing to send
	GrantsKept            Kind = "grants.kept"             // warning: beyond the level, granted by a grantor the master cannot act as
	GrantsOwnerDiffers    Kind = "grants.owner_differs"    // warning: the database has another owner
	GrantsOwnsDatabase    Kind = "grants.owns_database"    // warning: an editor or reader entry's role owns the database
	GrantsNotMember       Kind = "grants.not_member"       // warning: the master cannot act as the database's owner
	GrantsAwaitMembership Kind = "grants.await_membership" // dry run: unreadable until the create_role step's membership (Plan.Pre)
	GrantsUnreadable      Kind = "grants.unreadable"       // the database's privileges could not be read
)

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

// sqlDatabaseACLs runs inside one database and reads, for PUBLIC and the
// named roles, every ACL the access levels govern. A NULL ACL counts as its
// default, so an owner holds what it owns.
//
// Default privileges are read for schema public and for all schemas
// (defaclnamespace = 0, ALTER DEFAULT PRIVILEGES without IN SCHEMA): the
// latter kinds are prefixed "global_".
//
// Column privileges (pg_attribute.attacl) of a table are read apart, in
// the last column: a REVOKE on the table removes them with its own.
//
// The named roles are looked up once, through pg_authid's name index, so
// the read does not grow with the instance's other roles.
//
// Each ACL entry is "grantee=PRIV,PRIV/grantor/canset": one per grantee and
// grantor, since only the grantor's REVOKE removes its grant, and canset
// says whether the master may SET ROLE to the grantor to revoke it (the
// SET option exists from PostgreSQL 16; before, membership is enough).
//
// It runs in the master's session inside a tenant's database, whose owner
// controls schema public: every function, operator and type is named in
// pg_catalog (OPERATOR(pg_catalog.=) with operands of matching types), no
// construct looks an operator up by the search path (IN, NULLIF or a
// simple CASE would), and it reads system catalogs only. The session's
// search_path is pg_catalog as well (sessionSettings); either alone keeps
// a tenant's public.=(oid, integer) from running as the master.
const sqlDatabaseACLs = `
WITH named AS MATERIALIZED (
  SELECT r.oid, r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
), objs AS (
  SELECT 'database'::pg_catalog.text AS kind, ''::pg_catalog.text AS name, d.datdba AS owner,
         COALESCE(d.datacl, pg_catalog.acldefault('d'::pg_catalog."char", d.datdba)) AS acl, NULL::pg_catalog.aclitem[] AS cols
    FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
  UNION ALL
  SELECT 'schema'::pg_catalog.text, n.nspname::pg_catalog.text, n.nspowner,
         COALESCE(n.nspacl, pg_catalog.acldefault('n'::pg_catalog."char", n.nspowner)), NULL::pg_catalog.aclitem[]
    FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name
  UNION ALL
  SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S'::pg_catalog."char" THEN 'sequence'::pg_catalog.text ELSE 'table'::pg_catalog.text END,
         c.relname::pg_catalog.text, c.relowner,
         COALESCE(c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S'::pg_catalog."char"
                                                       THEN 's'::pg_catalog."char" ELSE 'r'::pg_catalog."char" END, c.relowner)),
         (SELECT pg_catalog.array_agg(i) FROM pg_catalog.pg_attribute a, pg_catalog.unnest(a.attacl) i
           WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name
     AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f,S}'::pg_catalog."char"[])
  UNION ALL
  SELECT (CASE WHEN a.defaclnamespace OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'global_'::pg_catalog.text ELSE ''::pg_catalog.text END)
         OPERATOR(pg_catalog.||)
         (CASE WHEN a.defaclobjtype OPERATOR(pg_catalog.=) 'S'::pg_catalog."char" THEN 'default_sequence'::pg_catalog.text ELSE 'default_table'::pg_catalog.text END),
         ''::pg_catalog.text, a.defaclrole, a.defaclacl, NULL::pg_catalog.aclitem[]
    FROM pg_catalog.pg_default_acl a LEFT JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) a.defaclnamespace
   WHERE (n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name OR a.defaclnamespace OPERATOR(pg_catalog.=) 0::pg_catalog.oid)
     AND a.defaclobjtype OPERATOR(pg_catalog.=) ANY ('{r,S}'::pg_catalog."char"[])
)
SELECT o.kind, o.name, pg_catalog.pg_get_userbyid(o.owner), pg_catalog.pg_has_role(CURRENT_USER, o.owner, 'USAGE'),
       ` + sqlACLEntriesOf + `o.acl` + sqlACLEntriesEnd + `,
       ` + sqlACLEntriesOf + `o.cols` + sqlACLEntriesEnd + `
FROM objs o
ORDER BY o.kind, o.name`

// sqlACLEntriesOf, an aclitem[] expression, then sqlACLEntriesEnd read that
// ACL's entries for PUBLIC and the named roles, one per grantee and
// grantor, as "grantee=PRIV,PRIV/grantor/canset" (sqlDatabaseACLs reads the
// object's ACL and its columns' with them).
const (
	sqlACLEntriesOf = `ARRAY(SELECT (COALESCE(g.rolname::pg_catalog.text, ''::pg_catalog.text) OPERATOR(pg_catalog.||) '='::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.string_agg(x.privilege_type, ','::pg_catalog.text)
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.pg_get_userbyid(x.grantor)::pg_catalog.text
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) (CASE WHEN pg_catalog.current_setting('server_version_num')::pg_catalog.int4 OPERATOR(pg_catalog.>=) 160000
                                                   THEN pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'SET')
                                                   ELSE pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'MEMBER') END)::pg_catalog.text)
               FROM pg_catalog.aclexplode(`
	sqlACLEntriesEnd = `) x LEFT JOIN named g ON g.oid OPERATOR(pg_catalog.=) x.grantee
              WHERE x.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid OR g.oid IS NOT NULL
              GROUP BY g.rolname, x.grantor
              ORDER BY g.rolname, x.grantor)`
)

// parseObject fills o from one row of sqlDatabaseACLs: its kind (and
// whether it is a global default), its ACL entries and its columns'.
func parseObject(o *object, k string, acl, cols []string) {
	if base, ok := strings.CutPrefix(k, "global_"); ok {
		o.global, k = true, base
	}
	o.kind = kind(k)
	for grantee, gs := range parseACL(cols) {
		if o.columns == nil {
			o.columns = map[string][]aclGrant{}
		}
		o.columns[grantee] = gs
	}
	for grantee, gs := range parseACL(acl) {
		if o.grants == nil {
			o.grants = map[string][]aclGrant{}
		}
		o.grants[grantee] = gs
		o.acl[grantee] = privs{}
		for _, g := range gs {
			o.acl[grantee] = o.acl[grantee].union(g.privs)
		}
	}
}

// parseACL reads sqlDatabaseACLs' ACL entries, by grantee.
func parseACL(items []string) map[string][]aclGrant {
	out := map[string][]aclGrant{}
	for _, item := range items {
		grantee, rest, _ := strings.Cut(item, "=")
		list, rest, _ := strings.Cut(rest, "/")
		// Grantees are validated names or PUBLIC; a grantor may be any
		// name, so canset is cut from the end.
		i := strings.LastIndex(rest, "/")
		if i < 0 {
			continue
		}
		g := aclGrant{grantor: rest[:i], privs: privsOf(strings.Split(list, ",")...), canSet: rest[i+1:] == "true"}
		out[grantee] = append(out[grantee], g)
	}
	return out
}

// connectDenied reports whether reading a database failed because the
// master may not connect to it (its owner revoked CONNECT from PUBLIC).
func connectDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
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

// grants plans the apply_grants step: what the entry's level should hold
// and what the role holds, compared object by object, and only the
// difference sent.
func (p *planner) grants(i int, e *entry) bool {
	db := p.st.databases[e.DatabaseName]
	label := grantLabel(e.AccessLevel)
	skip := func(k Kind, f grantFacts) {
		p.add(i, e, Step{Kind: k, Action: audit.ActionApplyGrants, Status: audit.Warning, say: f})
	}
	// The master may not connect until the create_role step makes it a
	// member of the owner: a real run sends that first (Plan.Pre), reads
	// the database again and plans once more.
	pending := db.objects == nil && connectDenied(db.readErr) && p.grantsMembership(db.owner) && p.preMembership(db.owner, e.DatabaseName)
	switch {
	case pending && p.in.dryRun:
		skip(GrantsAwaitMembership, grantFacts{db: e.DatabaseName, owner: db.owner})
		return false
	case db.objects == nil:
		err := db.readErr
		if err == nil {
			err = errors.New("not read")
		}
		p.add(i, e, Step{Kind: GrantsUnreadable, Action: audit.ActionApplyGrants, Status: audit.Error, Tenant: true,
			say: grantFacts{db: e.DatabaseName, user: e.Username, err: err}})
		return false
	case e.AccessLevel != tfvars.AccessOwner && db.owner == e.Username:
		skip(GrantsOwnsDatabase, grantFacts{db: e.DatabaseName, user: e.Username, level: e.AccessLevel})
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
				skip(GrantsNotMember, grantFacts{db: e.DatabaseName, owner: o.owner})
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
	f := grantFacts{db: e.DatabaseName, user: e.Username, level: e.AccessLevel, label: label, note: c.skippedNote()}
	if len(c.sql) == 0 {
		p.add(i, e, Step{Kind: GrantsInPlace, Action: audit.ActionApplyGrants, Status: audit.NoChange, say: f})
		p.keptWarning(i, e, c)
		return true
	}
	s := Step{Kind: GrantsConverge, Action: audit.ActionApplyGrants, Status: audit.Success, On: e.DatabaseName, SQL: c.sql}
	if !c.inDatabase {
		// Only GRANT/REVOKE ... ON DATABASE: database ACLs live in the
		// shared catalog pg_database, so they take effect from any
		// database, and no connection into the database is opened. With a
		// plain template1 (instance.plainTemplate) this is every owner
		// entry whose database this run creates: the one statement is
		// REVOKE ALL ON DATABASE ... FROM PUBLIC.
		s.On = ""
	}
	if !heldBefore && len(c.revoked) == 0 {
		// A fresh grant says the runbook's words; a database this run did
		// not create may have logins that connect through PUBLIC: they
		// lose it, so it says so.
		s.Kind = GrantsGrant
		f.public = c.public && !db.created
	} else {
		f.granted, f.revoked, f.public = c.granted, c.revoked, c.public
	}
	s.say = f
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
	p.add(i, e, Step{Kind: GrantsKept, Action: audit.ActionApplyGrants, Status: audit.Warning,
		say: grantFacts{user: e.Username, level: e.AccessLevel, master: p.in.masterUser, kept: c.kept}})
}

// grantFacts are what an apply_grants step says.
type grantFacts struct {
	db, user, owner, level string
	label                  string // what the level grants: ALL, SELECT, ...
	note                   string // objects left alone (grantChanges.skippedNote)
	// public: PUBLIC's access to the database is revoked.
	public           bool
	granted, revoked []change
	err              error       // GrantsUnreadable: why
	master           string      // GrantsKept: the master user
	kept             []keptGrant // GrantsKept: what stays
}

func (f grantFacts) words(k Kind) wording {
	noted := func(s string) string {
		if f.note != "" {
			s += " (" + f.note + ")"
		}
		return s
	}
	fail := fmt.Sprintf("Failed to grant %s on %s to %s", f.label, f.db, f.user)
	switch k {
	case GrantsGrant:
		msg, preview := fmt.Sprintf("Granted %s on %s to %s", f.label, f.db, f.user), fmt.Sprintf("Would grant %s on %s to %s", f.label, f.db, f.user)
		if f.public {
			msg += "; revoked PUBLIC's access to the database"
			preview += "; revoke PUBLIC's access to the database"
		}
		return wording{message: noted(msg), preview: noted(preview), fail: fail}
	case GrantsConverge:
		return wording{
			message: noted(fmt.Sprintf("Converged %s to %s on %s: %s", f.user, f.level, f.db, describeGrants(f.granted, f.revoked, f.public, "granted", "revoked"))),
			preview: noted(fmt.Sprintf("Would converge %s to %s on %s: %s", f.user, f.level, f.db, describeGrants(f.granted, f.revoked, f.public, "grant", "revoke"))),
			fail:    fail,
		}
	case GrantsInPlace:
		return wording{message: noted(fmt.Sprintf("Grants already in place: %s on %s to %s", f.label, f.db, f.user))}
	case GrantsKept:
		var what, grantors []string
		for _, k := range f.kept {
			what = append(what, k.what+" granted by "+k.grantor)
			if !slices.Contains(grantors, k.grantor) {
				grantors = append(grantors, k.grantor)
			}
		}
		ids := make([]string, len(grantors))
		for j, g := range grantors {
			ids[j] = ident(g)
		}
		return wording{message: fmt.Sprintf("Role %s keeps privileges access_level %s does not include: %s. Only their grantor can revoke them and the master user %s cannot SET ROLE to %s; have %s run REVOKE ... FROM %s, or GRANT %s TO %s and re-run",
			f.user, f.level, strings.Join(what, ", "), f.master, strings.Join(grantors, ", "),
			strings.Join(grantors, ", "), ident(f.user), strings.Join(ids, ", "), ident(f.master))}
	case GrantsOwnerDiffers:
		return wording{message: fmt.Sprintf("Grants on %s skipped because its owner is %s: if safe, run ALTER DATABASE %s OWNER TO %s and re-run", f.db, f.owner, ident(f.db), ident(f.user))}
	case GrantsOwnsDatabase:
		return wording{message: fmt.Sprintf("Grants on %s skipped: %s owns the database, so access_level %s cannot limit it; give the database another owner (ALTER DATABASE %s OWNER TO ...) or set access_level owner",
			f.db, f.user, f.level, ident(f.db))}
	case GrantsNotMember:
		return wording{message: fmt.Sprintf("Grants on %s skipped: the master user is not a member of its owner %s, so it cannot grant on it", f.db, f.owner)}
	case GrantsAwaitMembership:
		return wording{message: fmt.Sprintf("Privileges in %s cannot be read before the master user is a member of its owner %s (PUBLIC may not connect to it); the create_role step grants that, and a real run reads them after it and plans the grants then",
			f.db, f.owner)}
	case GrantsUnreadable:
		return wording{message: fmt.Sprintf("Cannot read the privileges in database %s, so grants for %s were not planned: %s", f.db, f.user, databaseTrouble(f.db, f.err))}
	}
	return wording{}
}
