package scram

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

// pg is the real PostgreSQL the verifiers are compared with.
var pg *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(testenv.RunPostgresMain(m, func(p *testenv.Postgres) { pg = p }))
}

// saslprepCases are passwords where SASLprep matters, each with what
// PostgreSQL's pg_saslprep does to it.
var saslprepCases = []struct{ name, password string }{
	{"no-break space", "pass\u00a0word-1"},
	{"ligature", "\ufb01sh-and-chips"},
	{"decomposed accent", "cafe\u0301-au-lait"},
	{"zero width space", "zero\u200bwidth"},
	{"soft hyphen", "soft\u00adhyphen"},
	{"mongolian todo soft hyphen", "todo\u1806hyphen"},
	{"fullwidth letters", "\uff21\uff22\uff23-wide"},
	{"only mapped to nothing", "\u00ad\u200c"},
	{"ascii control character", "tab\there"},
	{"non-ascii with control character", "caf\u00e9\u0007bell"},
	{"unassigned in unicode 3.2", "new\u0221char"},
	{"private use", "priv\ue000ate"},
	{"right-to-left only", "\u05d0\u05d1\u05d2"},
	{"right-to-left mixed with latin", "\u05d0abc\u05d1"},
	{"right-to-left not at the end", "\u05d0\u05d1abc"},
	// PostgreSQL checks bidi before NFKC: U+FB1D is right-to-left, its
	// NFKC form ends in a mark that is not, which a strict RFC 4013 check
	// after normalisation would refuse.
	{"right-to-left checked before normalisation", "\u05d0\ufb1d"},
	{"emoji", "smile-\U0001f600"},
	{"ascii", "plain-ascii-password"},
}

// TestSASLprepMatchesPostgres compares the verifier computed here with the
// one PostgreSQL stores for the same plaintext (ALTER ROLE ... PASSWORD
// 'plain' runs the server's own pg_saslprep), using the server's salt.
func TestSASLprepMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	const role = "saslprep_probe"
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role); err != nil {
		t.Fatal(err)
	}
	pg.DropOnCleanup(t, nil, []string{role})
	for _, tc := range saslprepCases {
		t.Run(tc.name, func(t *testing.T) {
			literal := "'" + strings.ReplaceAll(tc.password, "'", "''") + "'"
			if _, err := admin.Exec(ctx, "SET password_encryption = 'scram-sha-256'; ALTER ROLE "+role+" PASSWORD "+literal); err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			salt, err := verifierSalt(stored)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verifier(tc.password, bytes.NewReader(salt))
			if err != nil {
				t.Fatal(err)
			}
			if got != stored {
				t.Errorf("verifier differs from PostgreSQL's for %+q (SASLprep gave %+q)\n got: %s\nwant: %s", tc.password, SASLprep(tc.password), got, stored)
			}
		})
	}
}

// verifierSalt returns the salt of a stored SCRAM-SHA-256 verifier.
func verifierSalt(v string) ([]byte, error) {
	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
	head, _, ok := strings.Cut(v, "$")
	if !ok || head != "SCRAM-SHA-256" {
		return nil, fmt.Errorf("not a SCRAM verifier: %.20s", v)
	}
	rest := v[len(head)+1:]
	iterSalt, _, _ := strings.Cut(rest, "$")
	iter, salt, ok := strings.Cut(iterSalt, ":")
	if !ok || iter != fmt.Sprint(Iterations) {
		return nil, fmt.Errorf("unexpected iterations in %.40s", v)
	}
	return base64.StdEncoding.DecodeString(salt)
}

// TestScramVerifierRefusesNUL: a C string ends at NUL, so no client could
// send such a password.
func TestScramVerifierRefusesNUL(t *testing.T) {
	if _, err := Verifier("s3cr3t\x00tail", bytes.NewReader(make([]byte, 16))); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v, want a refusal that does not show the password", err)
	}
}
