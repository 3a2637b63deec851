package provision

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// lockKey is the advisory lock every run takes on the instance, so two
// concurrent runs serialise instead of racing ("rdsp" in ASCII).
const lockKey int64 = 0x72647370

const (
	sqlTryLock = `SELECT pg_try_advisory_lock($1)`
	sqlLock    = `SELECT pg_advisory_lock($1)`
	sqlUnlock  = `SELECT pg_advisory_unlock($1)`
)

// privilegedPredefined are predefined roles whose members can read or write
// the server's files or every table: a role in them is not an app role.
var privilegedPredefined = []string{
	"rds_superuser", "pg_read_server_files", "pg_write_server_files",
	"pg_execute_server_program", "pg_read_all_data", "pg_write_all_data",
	"pg_signal_backend", "pg_checkpoint",
}

// sqlRoles reads every named role in one query: its attributes, the first
// privileged role it belongs to, and the databases it owns.
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
       pg_has_role(current_user, r.oid, 'MEMBER')
FROM pg_roles r
WHERE r.rolname = ANY($1)`

// sqlDatabases reads every named database and its owner in one query.
const sqlDatabases = `
SELECT d.datname, pg_get_userbyid(d.datdba)
FROM pg_database d
WHERE d.datname = ANY($1)`

// sqlACLFingerprint summarises, inside one database, every ACL the grants
// touch, so a run can tell whether its grants changed anything. A NULL ACL
// counts as its default, so granting an owner what it owns is no change.
const sqlACLFingerprint = `
SELECT md5(concat_ws('|',
  (SELECT COALESCE(datacl, acldefault('d', datdba))::text FROM pg_database WHERE datname = current_database()),
  (SELECT COALESCE(nspacl, acldefault('n', nspowner))::text FROM pg_namespace WHERE nspname = 'public'),
  (SELECT string_agg(defaclrole::regrole::text || ':' || defaclobjtype::text || ':' || defaclacl::text, ',' ORDER BY defaclrole, defaclobjtype)
     FROM pg_default_acl WHERE defaclnamespace IN (0, 'public'::regnamespace)),
  (SELECT string_agg(COALESCE(relacl, acldefault(CASE relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", relowner))::text, ',' ORDER BY oid)
     FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))))`

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes a string constant for the utility statements that
// take no parameters (CREATE/ALTER ROLE ... PASSWORD).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func createRoleSQL(user, verifier, master string) string {
	return fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD %s; GRANT %s TO %s",
		ident(user), quoteLiteral(verifier), ident(user), ident(master))
}

func alterRoleSQL(user, verifier string) string {
	return fmt.Sprintf("ALTER ROLE %s LOGIN CREATEDB PASSWORD %s", ident(user), quoteLiteral(verifier))
}

// grantMembershipSQL makes the master a member of the app role: on RDS the
// master is not a superuser, and CREATE DATABASE ... OWNER needs it.
func grantMembershipSQL(user, master string) string {
	return fmt.Sprintf("GRANT %s TO %s", ident(user), ident(master))
}

func createDatabaseSQL(db, owner string) string {
	return fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(db), ident(owner))
}

// databaseGrantsSQL runs on the master's own database: tenants are walled
// off from each other's databases, then the role gets its database rights.
func databaseGrantsSQL(db, user, level string) []string {
	priv := "CONNECT"
	if level == tfvars.AccessOwner {
		priv = "ALL PRIVILEGES"
	}
	return []string{
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident(db)),
		fmt.Sprintf("GRANT %s ON DATABASE %s TO %s", priv, ident(db), ident(user)),
	}
}

// schemaGrantsSQL runs inside the target database. owner is the database
// owner, whose future objects the default privileges cover.
func schemaGrantsSQL(user, owner, level string) []string {
	u, o := ident(user), ident(owner)
	var schema, tables, sequences string
	switch level {
	case tfvars.AccessEditor:
		schema, tables, sequences = "USAGE", "SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT"
	case tfvars.AccessReader:
		schema, tables, sequences = "USAGE", "SELECT", "SELECT"
	default:
		schema, tables, sequences = "ALL", "ALL", "ALL"
	}
	stmts := []string{
		fmt.Sprintf("GRANT %s ON SCHEMA public TO %s", schema, u),
		fmt.Sprintf("GRANT %s ON ALL TABLES IN SCHEMA public TO %s", tables, u),
		fmt.Sprintf("GRANT %s ON ALL SEQUENCES IN SCHEMA public TO %s", sequences, u),
	}
	if owner != user {
		stmts = append(stmts,
			fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT %s ON TABLES TO %s", o, tables, u),
			fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT %s ON SEQUENCES TO %s", o, sequences, u),
		)
	}
	return stmts
}

// grantLabel is what dry run and messages say a level grants.
func grantLabel(level string) string {
	switch level {
	case tfvars.AccessEditor:
		return "SELECT, INSERT, UPDATE, DELETE"
	case tfvars.AccessReader:
		return "SELECT"
	}
	return "ALL"
}
