package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
)

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
       ARRAY(SELECT (COALESCE(g.rolname::pg_catalog.text, ''::pg_catalog.text) OPERATOR(pg_catalog.||) '='::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.string_agg(x.privilege_type, ','::pg_catalog.text)
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.pg_get_userbyid(x.grantor)::pg_catalog.text
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) (CASE WHEN pg_catalog.current_setting('server_version_num')::pg_catalog.int4 OPERATOR(pg_catalog.>=) 160000
                                                   THEN pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'SET')
                                                   ELSE pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'MEMBER') END)::pg_catalog.text)
               FROM pg_catalog.aclexplode(o.acl) x LEFT JOIN named g ON g.oid OPERATOR(pg_catalog.=) x.grantee
              WHERE x.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid OR g.oid IS NOT NULL
              GROUP BY g.rolname, x.grantor
              ORDER BY g.rolname, x.grantor),
       ARRAY(SELECT (COALESCE(g.rolname::pg_catalog.text, ''::pg_catalog.text) OPERATOR(pg_catalog.||) '='::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.string_agg(x.privilege_type, ','::pg_catalog.text)
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.pg_get_userbyid(x.grantor)::pg_catalog.text
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) (CASE WHEN pg_catalog.current_setting('server_version_num')::pg_catalog.int4 OPERATOR(pg_catalog.>=) 160000
                                                   THEN pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'SET')
                                                   ELSE pg_catalog.pg_has_role(CURRENT_USER, x.grantor, 'MEMBER') END)::pg_catalog.text)
               FROM pg_catalog.aclexplode(o.cols) x LEFT JOIN named g ON g.oid OPERATOR(pg_catalog.=) x.grantee
              WHERE x.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid OR g.oid IS NOT NULL
              GROUP BY g.rolname, x.grantor
              ORDER BY g.rolname, x.grantor)
FROM objs o
ORDER BY o.kind, o.name`

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

// readAfterMembership handles databases the master cannot read yet: an
// adopted owner revoked CONNECT from PUBLIC, and the master gets the
// owner's privileges only from the GRANT <owner> TO <master> of the plan's
// create_role step. It sends those grants now, before any other step, and
// reads the databases again, so the first run plans their grants; the
// create_role step sends the same GRANT again, which changes nothing. It
// reports whether it read anything again (then the caller plans again).
func (r *run) readAfterMembership(ctx context.Context, conn *pgx.Conn, st *instance, steps []Step, entries []*entry) (bool, error) {
	done := map[string]bool{}
	var again []*entry
	for _, e := range entries {
		db := st.databases[e.DatabaseName]
		if e.invalid != "" || db == nil || db.objects != nil || !connectDenied(db.readErr) {
			continue
		}
		grant := grantMembershipSQL(db.owner, r.master.Username)
		planned := slices.ContainsFunc(steps, func(s Step) bool {
			return s.On == "" && s.Status != audit.Error && slices.Contains(s.SQL, grant)
		})
		if !planned {
			continue
		}
		if !done[grant] {
			sctx, cancel := r.statementContext(ctx, 0)
			_, err := conn.Exec(sctx, grant)
			cancel()
			if err != nil {
				return false, fmt.Errorf("grant role %s to the master user to read database %s: %w", db.owner, e.DatabaseName, err)
			}
			done[grant] = true
		}
		again = append(again, e)
	}
	if len(again) == 0 {
		return false, nil
	}
	return true, r.readDatabaseACLs(ctx, st, again)
}
