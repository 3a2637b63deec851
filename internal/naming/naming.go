// Package naming holds the rules every database and role name must pass
// before it reaches SQL, YAML, HCL or Markdown.
package naming

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	databasePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{2,62}$`)
	usernamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{2,30}$`)
	keyPattern      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

// ReservedDatabases may never be requested or provisioned.
var ReservedDatabases = []string{"postgres", "template0", "template1", "rdsadmin"}

// ReservedUsernames may never be requested or provisioned; rds_* and pg_*
// prefixes are reserved as well.
var ReservedUsernames = []string{"postgres", "rdsadmin", "rdstopmgr"}

// CheckDatabase returns why name is not an acceptable database name, or nil.
func CheckDatabase(name string) error {
	if !databasePattern.MatchString(name) {
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
	if !usernamePattern.MatchString(name) {
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
	if !keyPattern.MatchString(key) {
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
	if strings.HasPrefix(name, "rds_") || strings.HasPrefix(name, "pg_") {
		return fmt.Sprintf("%q uses a reserved prefix (rds_ or pg_)", name)
	}
	return ""
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// CheckSecretName returns why name is not a Secrets Manager name, or nil.
func CheckSecretName(name string) error {
	if !secretPattern.MatchString(name) {
		return fmt.Errorf("must be 1-512 characters of A-Z a-z 0-9 / _ + = . @ -")
	}
	return nil
}
