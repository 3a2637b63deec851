package provision

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// lockKey is the advisory lock every run takes on the instance, so two
// concurrent runs serialise instead of racing ("rdsp" in ASCII).
const lockKey int64 = 0x72647370

const (
	sqlTryLock = `SELECT pg_try_advisory_lock($1)`
	sqlLock    = `SELECT pg_advisory_lock($1)`
	sqlUnlock  = `SELECT pg_advisory_unlock($1)`
	// sqlLockHolder names the session holding the lock in this database; a
	// bigint key shows as classid (high half), objid (low half), objsubid 1.
	sqlLockHolder = `
SELECT l.pid, COALESCE(a.usename::text, ''), COALESCE(a.application_name, '')
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295)
LIMIT 1`
)

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgIdent quotes a qualified name such as public.orders.
func pgIdent(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// quoteLiteral quotes a string constant for the utility statements that
// take no parameters (CREATE/ALTER ROLE ... PASSWORD).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
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

func createDatabaseSQL(db, owner string) string {
	return fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(db), ident(owner))
}
