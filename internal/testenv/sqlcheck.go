package testenv

import (
	"regexp"
	"slices"
	"strings"
)

// Unqualified lists what in sql a session's search path could resolve to
// an object of someone else's: a function call, a type or an operator not
// named in pg_catalog, and the constructs that look an operator up by the
// search path (IN, NULLIF, BETWEEN, LIKE, IS DISTINCT FROM, a simple CASE).
// Queries that run in a tenant's database must return none: the tenant
// owns its schema public and may set the database's search_path.
//
// It reads SQL as the tool writes it (no comments, identifiers in double
// quotes only where they are keywords such as "char"), which is enough to
// keep its queries honest; it is not a parser.
func Unqualified(sql string) []string {
	var out []string
	s := literal.ReplaceAllString(sql, "''")
	// A DO block's body is SQL too: check it, without its quotes.
	s = dollarBody.ReplaceAllString(s, " ")
	s = strings.ReplaceAll(s, `pg_catalog."char"`, "pg_catalog.char")
	for _, m := range keyword.FindAllString(s, -1) {
		out = append(out, "construct "+strings.ToUpper(strings.Join(strings.Fields(m), " ")))
	}
	s = qualifiedOperator.ReplaceAllString(s, " OP ")
	ctes := map[string]bool{}
	for _, re := range []*regexp.Regexp{cteName, aliasName} {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			ctes[strings.ToLower(m[1])] = true
		}
	}
	for _, m := range call.FindAllStringSubmatchIndex(s, -1) {
		name := strings.ToLower(s[m[2]:m[3]])
		if m[2] > 0 && s[m[2]-1] == '.' && strings.HasSuffix(s[:m[2]-1], "pg_catalog") {
			continue
		}
		if sqlWords[name] || ctes[name] {
			continue
		}
		out = append(out, "function "+name)
	}
	for _, m := range cast.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "pg_catalog.") {
			out = append(out, "type "+m[1])
		}
	}
	rest := cast.ReplaceAllString(s, " ")
	rest = star.ReplaceAllString(rest, " ")
	rest = strings.ReplaceAll(rest, ":=", " ")
	for _, m := range operator.FindAllString(rest, -1) {
		out = append(out, "operator "+m)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	literal           = regexp.MustCompile(`'(?:[^']|'')*'`)
	dollarBody        = regexp.MustCompile(`\$[a-z]*\$`)
	keyword           = regexp.MustCompile(`(?i)\b(IN\s*\(|NULLIF\b|BETWEEN\b|I?LIKE\b|SIMILAR\b|IS\s+(NOT\s+)?DISTINCT\b|CASE\s+[^\sW])`)
	qualifiedOperator = regexp.MustCompile(`OPERATOR\(pg_catalog\.[^)\s]+\)`)
	cteName           = regexp.MustCompile(`(?i)\b([a-z_][a-z0-9_]*)\s*(?:\([^()]*\))?\s+AS\s+(?:MATERIALIZED\s+)?\(`)
	aliasName         = regexp.MustCompile(`(?i)\bAS\s+([a-z_][a-z0-9_]*)\s*\(`)
	call              = regexp.MustCompile(`(?i)\b([a-z_][a-z0-9_]*)\s*\(`)
	cast              = regexp.MustCompile(`::\s*([a-z_][a-z0-9_.]*(?:\[\])?)`)
	star              = regexp.MustCompile(`(\.|\(|,|SELECT)\s*\*`)
	operator          = regexp.MustCompile(`[=<>!|+\-*/%^&~#@]+`)
	// sqlWords are keywords written like calls: not functions.
	sqlWords = map[string]bool{
		"coalesce": true, "array": true, "exists": true, "any": true, "all": true, "filter": true,
		"as": true, "select": true, "values": true, "lateral": true, "and": true, "or": true, "not": true,
		"on": true, "in": true, "op": true, "from": true, "where": true, "join": true, "then": true, "else": true, "when": true,
		"materialized": true, "union": true, "over": true, "primary": true, "key": true, "references": true,
	}
)
