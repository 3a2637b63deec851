// Package scram computes the SCRAM-SHA-256 verifiers PostgreSQL stores for
// passwords (pg_authid.rolpassword), with SASLprep exactly as PostgreSQL's
// server and libpq apply it, so a role's password can be set without the
// plaintext ever reaching the server, its logs or pg_stat_statements.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xdg-go/stringprep"
	"golang.org/x/text/unicode/norm"
)

// Iterations matches PostgreSQL's default scram_iterations.
const Iterations = 4096

// Verifier computes the SCRAM-SHA-256 verifier PostgreSQL stores for a
// password (RFC 5803 format, as pg_authid holds it). Sending the verifier
// instead of the password keeps the plaintext out of the server, its
// statement log and pg_stat_statements. The password goes through
// saslprep first, as the server does with ALTER ROLE ... PASSWORD 'plain'
// and libpq does when it logs in, so both derive the same key.
func Verifier(password string, random io.Reader) (string, error) {
	if strings.IndexByte(password, 0) >= 0 {
		// Callers refuse it with the secret's path (secrets.ParseApp); a
		// C string would end at the NUL, so no client could send it.
		return "", errors.New("password contains a NUL character")
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("generate SCRAM salt: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, SASLprep(password), salt, Iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("derive SCRAM key: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", Iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// SASLprep prepares a password exactly as PostgreSQL's pg_saslprep does
// (src/common/saslprep.c, shared by the server's scram_build_secret and
// libpq's fe-auth-scram.c), with RFC 3454's tables from xdg-go/stringprep.
// PostgreSQL departs from a strict RFC 4013 profile, and so does this:
//
//   - pure ASCII is returned unchanged, control characters included;
//   - non-ASCII spaces (C.1.2) become SPACE before B.1 maps to nothing, so
//     U+200B, listed in both, becomes a space;
//   - the prohibited, unassigned (A.1) and bidirectional checks look at the
//     mapped input, before NFKC normalisation;
//   - whenever it fails (invalid UTF-8, a prohibited or unassigned code
//     point, bad bidi, nothing left after mapping) both sides use the raw
//     password bytes: the server in pg_be_scram_build_secret
//     (src/backend/libpq/auth-scram.c: "If the password isn't valid UTF-8
//     or contains prohibited characters, just proceed with the original
//     password"), libpq in scram_init (src/interfaces/libpq/fe-auth-scram.c:
//     rc != SASLPREP_SUCCESS keeps a copy of the password), and so does this.
//
// NFKC comes from golang.org/x/text; only code points assigned in Unicode
// 3.2 reach it (A.1 sends the rest to the raw fallback), and Unicode's
// normalisation stability keeps their NFKC forms the same as PostgreSQL's
// tables.
func SASLprep(password string) string {
	if isASCII(password) || !utf8.ValidString(password) {
		return password
	}
	mapped := make([]rune, 0, len(password))
	for _, r := range password {
		switch {
		case stringprep.TableC1_2.Contains(r):
			mapped = append(mapped, ' ')
		case mappedToNothing(r):
		default:
			mapped = append(mapped, r)
		}
	}
	if len(mapped) == 0 {
		return password
	}
	randAL := false
	for _, r := range mapped {
		if prohibited(r) || stringprep.TableA1.Contains(r) {
			return password
		}
		randAL = randAL || stringprep.TableD1.Contains(r)
	}
	if randAL {
		for _, r := range mapped {
			if stringprep.TableD2.Contains(r) {
				return password
			}
		}
		if !stringprep.TableD1.Contains(mapped[0]) || !stringprep.TableD1.Contains(mapped[len(mapped)-1]) {
			return password
		}
	}
	return norm.NFKC.String(string(mapped))
}

// mappedToNothing is RFC 3454 table B.1. xdg-go/stringprep's TableB1 lacks
// U+1806 MONGOLIAN TODO SOFT HYPHEN, which the RFC and PostgreSQL list.
func mappedToNothing(r rune) bool {
	if r == 0x1806 {
		return true
	}
	_, ok := stringprep.TableB1.Map(r)
	return ok
}

// prohibited is SASLprep's prohibited output: RFC 3454 tables C.1.2 and
// C.2.1 to C.9.
func prohibited(r rune) bool {
	for _, t := range []stringprep.Set{
		stringprep.TableC1_2, stringprep.TableC2_1, stringprep.TableC2_2,
		stringprep.TableC3, stringprep.TableC4, stringprep.TableC5,
		stringprep.TableC6, stringprep.TableC7, stringprep.TableC8, stringprep.TableC9,
	} {
		if t.Contains(r) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
