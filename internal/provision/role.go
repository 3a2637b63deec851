package provision

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// The role of an entry (create_role): what the instance says about it
// (its part of the batched catalog read), the rules that refuse to take a
// role over and why, the plan's create_role step and its SQL, and what it
// says. The record in its comment is record.go's.

// Kinds of create_role step.
const (
	RoleCreate           Kind = "role.create"            // CREATE ROLE, the master made its member, recorded
	RolePassword         Kind = "role.password"          // a role provisioned here: its password set from its secret
	RoleRecord           Kind = "role.record"            // provisioned before records: its password set, its secret recorded
	RoleSecretMoved      Kind = "role.secret_moved"      // its entry's secret changed: the password now comes from the new one
	RoleAdopt            Kind = "role.adopt"             // a role made elsewhere, taken over
	RoleRefused          Kind = "role.refused"           // the master, privileged, a member of a login, a group role, another tenant's owner
	RoleOwnsUnnamed      Kind = "role.owns_unnamed"      // owns databases no entry names
	RolePresentElsewhere Kind = "role.present_elsewhere" // owns objects or holds privileges where its entries do not name
	RoleThroughGroups    Kind = "role.through_groups"    // reaches other databases through its groups
	RoleExpired          Kind = "role.expired"           // warning: VALID UNTIL in the past
	RoleNoConnections    Kind = "role.no_connections"    // warning: CONNECTION LIMIT 0
)

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

// readRoles scans sqlRoles' rows of the catalog batch (state.go).
func readRoles(br pgx.BatchResults, st *instance) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, comment string
		var groups, groupDBs []string
		ro := &role{}
		if err := rows.Scan(&name, &ro.super, &ro.createRole, &ro.replication, &ro.bypassRLS, &ro.canLogin,
			&ro.privilegedMemberOf, &ro.memberOfLogin, &ro.owns, &ro.presentIn, &groups, &groupDBs,
			&ro.masterIsMember, &ro.masterActs, &ro.expiredUntil, &ro.connLimit, &comment); err != nil {
			return fmt.Errorf("read roles: %w", err)
		}
		for i := range min(len(groups), len(groupDBs)) {
			ro.groupPresence = append(ro.groupPresence, groupPresence{group: groups[i], database: groupDBs[i]})
		}
		ro.record = parseRecord(comment)
		st.roles[name] = ro
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	return nil
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

// role plans the entry's create_role step: refused, or created, or its
// password set from its secret (adopted, recorded, its secret moved), and
// what keeps the role from logging in.
func (p *planner) role(i int, e *entry) bool {
	ro := p.st.roles[e.Username]
	f := roleFacts{user: e.Username, key: e.Key, secret: e.SecretPath}
	refuse := func(k Kind, f roleFacts) bool {
		p.add(i, e, Step{Kind: k, Action: audit.ActionCreateRole, Status: audit.Error, say: f})
		return false
	}
	if why := p.refusal(e, ro); why != "" {
		f.why = why
		return refuse(RoleRefused, f)
	}
	owned, present, groups := p.unadopted(e, ro)
	switch {
	case len(owned) > 0:
		f.dbs = owned
		return refuse(RoleOwnsUnnamed, f)
	case len(present) > 0:
		f.dbs = present
		return refuse(RolePresentElsewhere, f)
	case len(groups) > 0:
		f.groups = groups
		return refuse(RoleThroughGroups, f)
	}
	rec := &roleRecord{Secret: e.SecretPath}
	if ro == nil {
		p.add(i, e, Step{Kind: RoleCreate, Action: audit.ActionCreateRole, Status: audit.Success, say: f,
			SQL: []string{createRoleSQL(e.Username, e.verifier), grantMembershipSQL(e.Username, p.in.masterUser), commentRoleSQL(e.Username, rec)}})
		p.st.roles[e.Username] = &role{canLogin: true, masterIsMember: true, masterActs: true, record: rec, connLimit: -1}
		p.ours[e.Username] = true
		return true
	}
	sql := []string{alterRoleSQL(e.Username, e.verifier)}
	if !ro.masterIsMember || !ro.masterActs {
		sql = append(sql, grantMembershipSQL(e.Username, p.in.masterUser))
	}
	s := Step{Action: audit.ActionCreateRole, say: f}
	switch {
	case ro.record != nil && ro.record.Secret == e.SecretPath:
		s.Kind, s.Status = RolePassword, audit.NoChange
	case ro.record != nil:
		// The secret_name of its entry moved: whoever reads the new secret
		// gets the role, so the plan says so.
		f.was = ro.record.Secret
		rec = ro.record.withSecret(e.SecretPath)
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Kind, s.Status, s.say = RoleSecretMoved, audit.Success, f
	case p.ours[e.Username]:
		// Provisioned by an rds-provision before records: record it once.
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Kind, s.Status = RoleRecord, audit.NoChange
	default:
		// A role made elsewhere, taken over by this entry: a change.
		sql = append(sql, commentRoleSQL(e.Username, rec))
		s.Kind, s.Status = RoleAdopt, audit.Success
	}
	s.SQL = sql
	p.add(i, e, s)
	ro.masterIsMember, ro.masterActs, ro.record = true, true, rec
	p.ours[e.Username] = true
	// ALTER ROLE ... LOGIN PASSWORD leaves these alone: say so, since the
	// app cannot log in with the new password.
	if ro.expiredUntil != "" {
		p.add(i, e, Step{Kind: RoleExpired, Action: audit.ActionCreateRole, Status: audit.Warning, say: roleFacts{user: e.Username, until: ro.expiredUntil}})
	}
	if ro.connLimit == 0 {
		p.add(i, e, Step{Kind: RoleNoConnections, Action: audit.ActionCreateRole, Status: audit.Warning, say: roleFacts{user: e.Username}})
	}
	return true
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

func createRoleSQL(user, verifier string) string {
	return fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD %s", ident(user), quoteLiteral(verifier))
}

func alterRoleSQL(user, verifier string) string {
	return fmt.Sprintf("ALTER ROLE %s LOGIN CREATEDB PASSWORD %s", ident(user), quoteLiteral(verifier))
}

// grantMembershipSQL makes the master a member of the app role: on RDS the
// master is not a superuser, and CREATE DATABASE ... OWNER needs it, as do
// its grants on the role's tables and its default privileges.
func grantMembershipSQL(user, master string) string {
	return fmt.Sprintf("GRANT %s TO %s", ident(user), ident(master))
}

// roleFacts are what a create_role step says.
type roleFacts struct {
	user, key, secret string
	was               string // the secret the password came from before
	why               string // RoleRefused: why
	until             string // RoleExpired: its VALID UNTIL
	dbs               []string
	groups            []groupPresence
}

func (f roleFacts) words(k Kind) wording {
	refusing := "Refusing to manage role " + f.user + ": "
	switch k {
	case RoleCreate:
		return wording{message: "Role created", line: "Role created: " + f.user, preview: "Would create/update role: " + f.user,
			fail: "Failed to create role " + f.user}
	case RolePassword:
		return wording{message: "Password updated for existing role: " + f.user,
			preview: fmt.Sprintf("Role %s exists: its password would be set from %s", f.user, f.secret), fail: "Failed to update role " + f.user}
	case RoleRecord:
		return wording{message: fmt.Sprintf("Password updated for existing role: %s (recorded secret %s as its password source)", f.user, f.secret),
			preview: fmt.Sprintf("Role %s exists: its password would be set from %s, recorded as its password source", f.user, f.secret),
			fail:    "Failed to update role " + f.user}
	case RoleSecretMoved:
		return wording{message: fmt.Sprintf("Password source of role %s changed: its password is now set from secret %s (was %s)", f.user, f.secret, f.was),
			preview: fmt.Sprintf("Would change the password source of role %s: its password would be set from secret %s instead of %s", f.user, f.secret, f.was),
			fail:    "Failed to update role " + f.user}
	case RoleAdopt:
		return wording{message: fmt.Sprintf("Adopted existing role %s: its password is now set from %s", f.user, f.secret),
			preview: fmt.Sprintf("Would adopt existing role %s: its password would be set from %s", f.user, f.secret),
			fail:    "Failed to update role " + f.user}
	case RoleRefused:
		return wording{message: fmt.Sprintf("%s%s; the role was left unchanged. Choose another username for application_databases.%s", refusing, f.why, f.key)}
	case RoleOwnsUnnamed:
		return wording{message: fmt.Sprintf("%sit already exists and owns %s, which no application_databases entry names, so it may be another team's login; the role was left unchanged. If it is meant to be managed here, add adopt_owned_databases = [%s] to application_databases.%s",
			refusing, plural(len(f.dbs), "database ", "databases ")+strings.Join(f.dbs, ", "), quotedList(f.dbs), f.key)}
	case RolePresentElsewhere:
		return wording{message: fmt.Sprintf("%sit already exists and owns objects or holds privileges in %s, which no entry of this username names, so it may be another team's login; the role was left unchanged. If it is meant to be managed here, add adopt_owned_databases = [%s] to application_databases.%s",
			refusing, plural(len(f.dbs), "database ", "databases ")+strings.Join(f.dbs, ", "), quotedList(f.dbs), f.key)}
	case RoleThroughGroups:
		via, dbs := describeGroups(f.groups)
		return wording{message: fmt.Sprintf("%sit already exists and belongs to %s, which %s objects or %s privileges there, and no entry of this username names %s, so the role may be another team's login and taking it over would hand that access to whoever reads %s; the role was left unchanged. If that access is meant for this app, add adopt_owned_databases = [%s] to application_databases.%s; otherwise take the role out of the group (%s) and re-run",
			refusing, via, plural(len(f.groups), "owns", "own"), plural(len(f.groups), "holds", "hold"), plural(len(dbs), "that database", "those databases"),
			f.secret, quotedList(dbs), f.key, revokeGroups(f.groups, f.user))}
	case RoleExpired:
		return wording{message: fmt.Sprintf("Role %s cannot log in: its VALID UNTIL (%s) is in the past; if it should, run ALTER ROLE %s VALID UNTIL 'infinity'", f.user, f.until, ident(f.user))}
	case RoleNoConnections:
		return wording{message: fmt.Sprintf("Role %s cannot log in: its CONNECTION LIMIT is 0; if it should, run ALTER ROLE %s CONNECTION LIMIT -1", f.user, ident(f.user))}
	}
	return wording{}
}
