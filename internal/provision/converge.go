package provision

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Convergence: the GRANT and REVOKE statements that bring one role's
// privileges in one database to its access level (privileges.go), object
// by object (the database, schema public, its tables and sequences, the
// owner's default privileges), sending only the difference: what the
// level lacks is granted, what it does not include is revoked (editor to
// reader revokes INSERT, UPDATE, DELETE here), each by the grantor that can
// (the owner's, or another grantor's as that grantor). grants.go plans the
// apply_grants step from them.

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

// describeGrants says what a step grants and revokes, e.g. "revoked
// INSERT, UPDATE, DELETE on 2 tables and on future tables"; public: it
// revokes PUBLIC's access to the database.
func describeGrants(granted, revoked []change, public bool, grantVerb, revokeVerb string) string {
	var parts []string
	if len(granted) > 0 {
		parts = append(parts, grantVerb+" "+describeChanges(granted))
	}
	if len(revoked) > 0 {
		parts = append(parts, revokeVerb+" "+describeChanges(revoked))
	}
	if public {
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
