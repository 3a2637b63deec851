package naming

import (
	"strings"
	"testing"
)

func TestCheckInstance(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"shared-large-1", true},
		{"a", true},
		{"db1", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"1db", false},          // a letter first, as RDS requires
		{"-db", false},          // idem
		{"db-", false},          // no trailing hyphen
		{"db--1", false},        // no double hyphen
		{"Shared", false},       // lowercase only
		{"shared_large", false}, // RDS identifiers have no underscore
		{"a/b", false},          // a secret path segment, never two
		{"..", false},
		{`a"b`, false},
		{"a b", false},
		{"ümlaut", false},
	} {
		if err := CheckInstance(tc.value); (err == nil) != tc.ok {
			t.Errorf("CheckInstance(%q) = %v, want ok %v", tc.value, err, tc.ok)
		}
	}
}

func TestCheckTier(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"small", true},
		{"x-large", true},
		{"tier_2", true},
		{"2xl", true},
		{"", false},
		{"Large", false},
		{"-small", false},
		{"x large", false},
		{"`x`", false},
		{strings.Repeat("t", 64), false},
	} {
		if err := CheckTier(tc.value); (err == nil) != tc.ok {
			t.Errorf("CheckTier(%q) = %v, want ok %v", tc.value, err, tc.ok)
		}
	}
}

func TestCheckMasterSecret(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"goldenpath/prod/rds/shared-large-1/master", true},
		{"rds!db-3f2a9c1e-1111-2222-3333-444455556666", true},
		{"rds!cluster-3f2a9c1e", true},
		{"arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds!db-3f2a9c1e-AbCdEf", true},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:goldenpath/prod/rds/master-AbCdEf", true},
		{"", false},
		{"rds!", false},
		{"rds!db 1", false},
		{"a!b", false},                          // "!" only in RDS's own names
		{"arn:aws:s3:::bucket/secret:x", false}, // not a Secrets Manager ARN
		{"arn:aws:secretsmanager:eu-west-2:1:secret:a b", false},
		{"goldenpath/prod/rds/master\n", false},
		{"a\"b", false},
	} {
		if err := CheckMasterSecret(tc.value); (err == nil) != tc.ok {
			t.Errorf("CheckMasterSecret(%q) = %v, want ok %v", tc.value, err, tc.ok)
		}
	}
}

func TestInstanceMasterSecretPath(t *testing.T) {
	for _, tc := range []struct{ prefix, env, instance, want string }{
		{"goldenpath", "prod", "shared-large-1", "goldenpath/prod/rds/shared-large-1/master"},
		{"acme/platform", "eu-prod-2", "db1", "acme/platform/eu-prod-2/rds/db1/master"},
		// The implicit instance keeps the environment's master secret.
		{"goldenpath", "dev", "", "goldenpath/dev/rds/master"},
	} {
		if got := InstanceMasterSecretPath(tc.prefix, tc.env, tc.instance); got != tc.want {
			t.Errorf("InstanceMasterSecretPath(%q, %q, %q) = %s, want %s", tc.prefix, tc.env, tc.instance, got, tc.want)
		}
	}
}
