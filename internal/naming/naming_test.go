package naming

import (
	"math/rand/v2"
	"regexp"
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
		{"database postgres", CheckDatabase, "postgres", false},
		{"database template0", CheckDatabase, "template0", false},
		{"database rdsadmin", CheckDatabase, "rdsadmin", false},
		{"database quote", CheckDatabase, `inv"; DROP`, false},
		{"database 63 chars", CheckDatabase, strings.Repeat("a", 63), true},
		{"database 64 chars", CheckDatabase, strings.Repeat("a", 64), false},
		{"database digit first", CheckDatabase, "1abc", false},
		{"username ok", CheckUsername, "inventory_user", true},
		{"username rds prefix", CheckUsername, "rds_superuser", false},
		{"username pg prefix", CheckUsername, "pg_monitor", false},
		{"username rdsadmin", CheckUsername, "rdsadmin", false},
		{"username rdsrepladmin", CheckUsername, "rdsrepladmin", false},
		{"username public", CheckUsername, "public", false},
		{"username none", CheckUsername, "none", false},
		{"username current_user", CheckUsername, "current_user", false},
		{"username session_user", CheckUsername, "session_user", false},
		{"username current_role", CheckUsername, "current_role", false},
		{"username publicity", CheckUsername, "publicity", true},
		{"username too long", CheckUsername, "abcdefghijklmnopqrstuvwxyzabcdef", false},
		{"username 31 chars", CheckUsername, strings.Repeat("u", 31), true},
		{"key with dash", CheckKey, "my-app", true},
		{"key one letter", CheckKey, "a", true},
		{"key with slash", CheckKey, "a/b", false},
		{"key empty", CheckKey, "", false},
		{"secret path", CheckSecretName, "goldenpath/dev/app/postgres", true},
		{"secret with space", CheckSecretName, "a b", false},
		{"secret empty", CheckSecretName, "", false},
		{"secret 513 chars", CheckSecretName, strings.Repeat("s", 513), false},
		{"environment dev", CheckEnvironment, "dev", true},
		{"environment with dash", CheckEnvironment, "eu-prod-2", true},
		{"environment traversal", CheckEnvironment, "../../tmp/x", false},
		{"environment slash", CheckEnvironment, "dev/x", false},
		{"environment upper", CheckEnvironment, "Prod", false},
		{"environment empty", CheckEnvironment, "", false},
		{"environment dash first", CheckEnvironment, "-dev", false},
		{"login ok", CheckGitHubLogin, "daniel-deans", true},
		{"login digits", CheckGitHubLogin, "d4n1", true},
		{"login one char", CheckGitHubLogin, "d", true},
		{"login 39 chars", CheckGitHubLogin, strings.Repeat("a", 39), true},
		{"login 40 chars", CheckGitHubLogin, strings.Repeat("a", 40), false},
		{"login leading hyphen", CheckGitHubLogin, "-daniel", false},
		{"login trailing hyphen", CheckGitHubLogin, "daniel-", false},
		{"login double hyphen", CheckGitHubLogin, "daniel--deans", false},
		{"login only hyphen", CheckGitHubLogin, "-", false},
		{"login underscore", CheckGitHubLogin, "daniel_deans", false},
		{"login upper", CheckGitHubLogin, "Daniel", false},
		{"login empty", CheckGitHubLogin, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(tc.value); (err == nil) != tc.ok {
				t.Errorf("%q: err = %v, want ok=%v", tc.value, err, tc.ok)
			}
		})
	}
}

// TestPatternsAsDocumented checks the byte loops against the regular
// expressions their messages quote, on random strings over an alphabet of
// the boundary bytes, so the messages stay true.
func TestPatternsAsDocumented(t *testing.T) {
	common := []byte("az09_-")                // mostly bytes the patterns accept,
	rare := []byte("AZ/.+=@ \"'\x00\xc3\xa9") // sometimes one they may not
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		pattern string
		check   func(string) error
		maxLen  int
		skip    func(string) bool // names refused for other reasons
	}{
		{"database", `^[a-z][a-z0-9_]{2,62}$`, CheckDatabase, 70, func(s string) bool { return contains(ReservedDatabases, s) }},
		{"username", `^[a-z][a-z0-9_]{2,30}$`, CheckUsername, 40, func(s string) bool { return reservedRole(s) != "" }},
		{"key", `^[a-z][a-z0-9_-]{0,62}$`, CheckKey, 70, nil},
		{"secret", `^[A-Za-z0-9/_+=.@-]{1,512}$`, CheckSecretName, 520, nil},
		{"environment", `^[a-z0-9][a-z0-9-]{0,30}$`, CheckEnvironment, 40, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := regexp.MustCompile(tc.pattern)
			accepted := 0
			for range 20000 {
				b := make([]byte, rng.IntN(tc.maxLen+1))
				for i := range b {
					if rng.IntN(50) == 0 {
						b[i] = rare[rng.IntN(len(rare))]
					} else {
						b[i] = common[rng.IntN(len(common))]
					}
				}
				s := string(b)
				if tc.skip != nil && tc.skip(s) {
					continue
				}
				got, want := tc.check(s) == nil, re.MatchString(s)
				if got != want {
					t.Fatalf("%q: accepted = %v, pattern %s says %v", s, got, tc.pattern, want)
				}
				if got {
					accepted++
				}
			}
			if accepted < 100 {
				t.Fatalf("only %d of the random names were accepted: the comparison proves little", accepted)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BenchmarkCheckUsername measures one check, to keep it well under a
// microsecond.
func BenchmarkCheckUsername(b *testing.B) {
	for b.Loop() {
		_ = CheckUsername("inventory_service_user")
	}
}
