// Package naming holds the rules every database and role name must pass
// before it reaches SQL, YAML, HCL or Markdown.
//
// The rules are a length test and a byte loop rather than regular
// expressions: compiling patterns with bounded repeats such as {2,62} at
// package initialisation cost milliseconds of every start, --help included.
package naming

import (
	"fmt"
	"strings"
)

// ReservedDatabases may never be requested or provisioned.
var ReservedDatabases = []string{"postgres", "template0", "template1", "rdsadmin"}

// ReservedUsernames may never be requested or provisioned; rds_* and pg_*
// prefixes are reserved as well, and so are the names in RoleKeywords.
var ReservedUsernames = []string{"postgres", "rdsadmin", "rdstopmgr", "rdsrepladmin"}

// RoleKeywords are names PostgreSQL refuses as a role name even quoted
// ("public" is the PUBLIC pseudo-role, "none" is reserved: gram.y
// RoleSpec), then the keywords that stand for the caller where SQL expects
// a role: PostgreSQL accepts "current_user", "session_user" and
// "current_role" quoted, but an unquoted GRANT or ALTER ROLE that a person
// writes for such a role acts on the caller instead. Other reserved words
// (user, all, ...) are a syntax error unquoted, so they fail loudly and
// are left to the pattern.
var RoleKeywords = []string{"public", "none", "current_user", "session_user", "current_role"}

// charset is a set of ASCII bytes.
type charset func(b byte) bool

func lower(b byte) bool    { return 'a' <= b && b <= 'z' }
func digit(b byte) bool    { return '0' <= b && b <= '9' }
func alnum(b byte) bool    { return lower(b) || digit(b) || 'A' <= b && b <= 'Z' }
func nameByte(b byte) bool { return lower(b) || digit(b) || b == '_' }
func keyByte(b byte) bool  { return nameByte(b) || b == '-' }
func secretByte(b byte) bool {
	return alnum(b) || strings.IndexByte("/_+=.@-", b) >= 0
}

// matches reports whether s is min..max bytes, starts with a byte of first
// (nil: any of rest) and continues with bytes of rest.
func matches(s string, min, max int, first, rest charset) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		ok := rest(s[i])
		if i == 0 && first != nil {
			ok = first(s[i])
		}
		if !ok {
			return false
		}
	}
	return true
}

// CheckDatabase returns why name is not an acceptable database name, or nil.
func CheckDatabase(name string) error {
	if !matches(name, 3, 63, lower, nameByte) {
		return fmt.Errorf("must match ^[a-z][a-z0-9_]{2,62}$ (3-63 characters: lowercase letter first, then lowercase letters, digits, underscores)")
	}
	for _, r := range ReservedDatabases {
		if name == r {
			return fmt.Errorf("%q is reserved by PostgreSQL or RDS", name)
		}
	}
	return nil
}

// CheckUsername returns why name is not an acceptable role name, or nil.
func CheckUsername(name string) error {
	if !matches(name, 3, 31, lower, nameByte) {
		return fmt.Errorf("must match ^[a-z][a-z0-9_]{2,30}$ (3-31 characters: lowercase letter first, then lowercase letters, digits, underscores)")
	}
	if reason := reservedRole(name); reason != "" {
		return fmt.Errorf("%s", reason)
	}
	return nil
}

// CheckKey returns why an application_databases key is unusable in a secret
// path, or nil.
func CheckKey(key string) error {
	if !matches(key, 1, 63, lower, keyByte) {
		return fmt.Errorf("must match ^[a-z][a-z0-9_-]{0,62}$")
	}
	return nil
}

func reservedRole(name string) string {
	for _, r := range ReservedUsernames {
		if name == r {
			return fmt.Sprintf("%q is reserved by PostgreSQL or RDS", name)
		}
	}
	for _, r := range RoleKeywords {
		if name == r {
			return fmt.Sprintf("%q is reserved by PostgreSQL (PUBLIC, NONE) or stands for the caller in SQL (CURRENT_USER, SESSION_USER, CURRENT_ROLE)", name)
		}
	}
	if strings.HasPrefix(name, "rds_") || strings.HasPrefix(name, "pg_") {
		return fmt.Sprintf("%q uses a reserved prefix (rds_ or pg_)", name)
	}
	return ""
}

// CheckSecretName returns why name is not a Secrets Manager name, or nil.
func CheckSecretName(name string) error {
	if !matches(name, 1, 512, nil, secretByte) {
		return fmt.Errorf("must be 1-512 characters of A-Z a-z 0-9 / _ + = . @ -")
	}
	return nil
}

// CheckEnvironment returns why env is not a plain environment name, or nil.
// The name becomes a path segment (envs/<env>-rds), a secret path segment
// and a file name, so "../x" or "a/b" must never get through.
func CheckEnvironment(env string) error {
	if !matches(env, 1, 31, func(b byte) bool { return lower(b) || digit(b) }, func(b byte) bool { return lower(b) || digit(b) || b == '-' }) {
		return fmt.Errorf("must match ^[a-z0-9][a-z0-9-]{0,30}$ (a plain name such as dev, test, staging or prod)")
	}
	return nil
}

// MaxGitHubLogin is GitHub's limit on the length of a login.
const MaxGitHubLogin = 39

// CheckGitHubLogin returns why login is not a login GitHub issues, in the
// lowercase form this tool records, or nil: letters and digits in runs
// joined by single hyphens, no hyphen first or last, at most 39 characters.
func CheckGitHubLogin(login string) error {
	const rule = "must be a GitHub login: lowercase letters, digits and single hyphens, not starting or ending with a hyphen, at most %d characters"
	if !matches(login, 1, MaxGitHubLogin, func(b byte) bool { return lower(b) || digit(b) }, func(b byte) bool { return lower(b) || digit(b) || b == '-' }) ||
		strings.HasSuffix(login, "-") || strings.Contains(login, "--") {
		return fmt.Errorf(rule, MaxGitHubLogin)
	}
	return nil
}
