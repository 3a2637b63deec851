package naming

import "testing"

func TestSecretPaths(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{MasterSecretPath(DefaultSecretPrefix, "dev"), "goldenpath/dev/rds/master"},
		{AppSecretPath(DefaultSecretPrefix, "dev", "keycloak"), "goldenpath/dev/keycloak/postgres"},
		{MasterSecretPath("acme", "eu-prod-2"), "acme/eu-prod-2/rds/master"},
		{AppSecretPath("acme", "prod", "my-app"), "acme/prod/my-app/postgres"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}
