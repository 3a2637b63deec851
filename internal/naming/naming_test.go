package naming

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) error
		value string
		ok    bool
	}{
		{"database ok", CheckDatabase, "inventory_service", true},
		{"database too short", CheckDatabase, "ab", false},
		{"database upper", CheckDatabase, "Inventory", false},
		{"database reserved", CheckDatabase, "template1", false},
		{"database quote", CheckDatabase, `inv"; DROP`, false},
		{"database 63 chars", CheckDatabase, strings.Repeat("a", 63), true},
		{"database 64 chars", CheckDatabase, strings.Repeat("a", 64), false},
		{"username ok", CheckUsername, "inventory_user", true},
		{"username rds prefix", CheckUsername, "rds_superuser", false},
		{"username pg prefix", CheckUsername, "pg_monitor", false},
		{"username rdsadmin", CheckUsername, "rdsadmin", false},
		{"username too long", CheckUsername, "abcdefghijklmnopqrstuvwxyzabcdef", false},
		{"key with dash", CheckKey, "my-app", true},
		{"key with slash", CheckKey, "a/b", false},
		{"secret path", CheckSecretName, "goldenpath/dev/app/postgres", true},
		{"secret with space", CheckSecretName, "a b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(tc.value); (err == nil) != tc.ok {
				t.Errorf("%q: err = %v, want ok=%v", tc.value, err, tc.ok)
			}
		})
	}
}
