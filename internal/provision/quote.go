package provision

// Quoting for the SQL each resource file builds: every identifier through
// pgx.Identifier, the few literals utility statements take (no parameters
// there) through quoteLiteral.

import (
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
