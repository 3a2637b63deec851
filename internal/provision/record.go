package provision

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A role provisioned here carries a record in its comment (COMMENT ON
// ROLE): a small versioned JSON object behind a fixed prefix, e.g.
//
//	rds-provision: {"secret":"goldenpath/dev/keycloak/postgres","v":1}
//
// It says which secret the role's password comes from, so the plan can
// tell a role it manages from one it would adopt, and show when an entry's
// secret_name moves the password to another secret. The comment is
// tenant-proof: it lives in the shared catalog (pg_shdescription), and
// commenting on a role needs CREATEROLE (PostgreSQL 15) or ADMIN OPTION on
// it (16+), which no app role holds on itself; the master writes it in the
// role's create_role step and reads it with the role query
// (shobj_description), in the same batch.
//
// The record grows by adding fields to roleRecord (the managed databases,
// a retirement time, the environment): a field this version does not know
// is kept when it rewrites the record, so an older rds-provision never
// erases what a newer one wrote.

// recordPrefix starts every record; a comment without it is not one.
const recordPrefix = "rds-provision: "

// recordVersion is the version this rds-provision writes ("v").
const recordVersion = 1

// sqlRecord reads a role's record (its comment) in sqlRoles: empty when none.
const sqlRecord = `COALESCE(pg_catalog.shobj_description(r.oid, 'pg_authid'), '')`

// roleRecord is what a role's comment records.
type roleRecord struct {
	// Secret is the Secrets Manager id the role's password is set from.
	Secret string
	// version is the record's "v" as read; 0 for a new record.
	version int
	// other holds the fields of a newer record version, kept on rewrite.
	other map[string]json.RawMessage
}

// parseRecord reads a role's comment. It returns nil when the comment is
// not a record, or not a readable one (only the master or an administrator
// can write a role's comment, so an unreadable one is not a tenant's
// forgery; the role is then treated as not provisioned here).
func parseRecord(comment string) *roleRecord {
	body, ok := strings.CutPrefix(comment, recordPrefix)
	if !ok {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		return nil
	}
	rec := &roleRecord{other: map[string]json.RawMessage{}}
	for k, v := range fields {
		var err error
		switch k {
		case "v":
			err = json.Unmarshal(v, &rec.version)
		case "secret":
			err = json.Unmarshal(v, &rec.Secret)
		default:
			rec.other[k] = v
		}
		if err != nil {
			return nil
		}
	}
	if rec.version < 1 || rec.Secret == "" {
		return nil
	}
	return rec
}

// text is the comment that records rec: the prefix, then the JSON object
// with its keys sorted, so the same record is always the same text.
func (rec *roleRecord) text() string {
	fields := map[string]any{}
	for k, v := range rec.other {
		fields[k] = v
	}
	fields["v"] = max(rec.version, recordVersion)
	fields["secret"] = rec.Secret
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // strings, numbers and raw JSON that was read as JSON
	}
	return recordPrefix + string(b)
}

// withSecret is rec (or a new record when nil) with the password source
// secret.
func (rec *roleRecord) withSecret(secret string) *roleRecord {
	out := &roleRecord{Secret: secret}
	if rec != nil {
		out.version, out.other = rec.version, rec.other
	}
	return out
}

// commentRoleSQL writes rec as user's comment.
func commentRoleSQL(user string, rec *roleRecord) string {
	return fmt.Sprintf("COMMENT ON ROLE %s IS %s", ident(user), quoteLiteral(rec.text()))
}
