package naming

import (
	"fmt"
	"strings"
)

// MaxInstance is the longest instance name: RDS's limit on a DB instance
// identifier.
const MaxInstance = 63

// CheckInstance returns why name is not an acceptable name of an RDS
// instance in rds_instances, or nil. The name is a map key in the tfvars,
// a segment of the default master secret path, a catalog value and a
// matrix value, so it keeps to RDS's own rule for a DB instance
// identifier: 1-63 characters, a lowercase letter first, then lowercase
// letters, digits and single hyphens, not ending with a hyphen.
func CheckInstance(name string) error {
	if !matches(name, 1, MaxInstance, lower, func(b byte) bool { return lower(b) || digit(b) || b == '-' }) ||
		strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return fmt.Errorf("must be an RDS instance name: 1-%d characters, a lowercase letter first, then lowercase letters, digits and single hyphens, not ending with a hyphen (e.g. shared-large-1)", MaxInstance)
	}
	return nil
}

// CheckTier returns why tier cannot be a size tier's name, or nil: the
// shape every value of the form's enum lists has (1-63 characters,
// lowercase letters, digits, _ and -, a letter or digit first). Which
// tiers exist is the form's vocabulary (the request's enums), not this
// rule's.
func CheckTier(tier string) error {
	if !matches(tier, 1, 63, func(b byte) bool { return lower(b) || digit(b) }, keyByte) {
		return fmt.Errorf("must be a size tier: 1-63 lowercase letters, digits, _ and -, a letter or digit first (e.g. small)")
	}
	return nil
}

// CheckMasterSecret returns why id cannot name an instance's master
// secret, or nil: a Secrets Manager name (CheckSecretName), the name RDS
// gives a master secret it manages (rds!db-<uuid>, rds!cluster-<uuid>), or
// a secret's ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>),
// as --master-secret takes them.
func CheckMasterSecret(id string) error {
	arnByte := func(b byte) bool { return secretByte(b) || b == ':' || b == '!' }
	switch {
	case CheckSecretName(id) == nil:
		return nil
	case strings.HasPrefix(id, "rds!") && matches(id[len("rds!"):], 1, 508, alnum, secretByte):
		return nil
	case strings.HasPrefix(id, "arn:") && strings.Contains(id, ":secretsmanager:") && strings.Contains(id, ":secret:") && matches(id, 1, 2048, nil, arnByte):
		return nil
	}
	return fmt.Errorf("must be a Secrets Manager name (1-512 characters of A-Z a-z 0-9 / _ + = . @ -), an RDS-managed secret's name (rds!db-...) or a secret ARN")
}

// InstanceMasterSecretPath is the Secrets Manager id of an instance's
// master credentials when rds_instances gives it no master_secret:
// <prefix>/<env>/rds/<instance>/master. The empty instance is the one
// implicit instance of an environment whose tfvars declares no
// rds_instances, whose master secret stays <prefix>/<env>/rds/master.
func InstanceMasterSecretPath(prefix, env, instance string) string {
	if instance == "" {
		return MasterSecretPath(prefix, env)
	}
	return prefix + "/" + env + "/rds/" + instance + "/master"
}
