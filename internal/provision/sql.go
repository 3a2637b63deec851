package provision

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
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
