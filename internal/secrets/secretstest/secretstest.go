// Package secretstest holds what tests of the packages that read secrets
// share: a secret source that must never be read. It is its own package
// because internal/secrets' own tests use internal/testenv, which
// therefore cannot import internal/secrets.
package secretstest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// ErrNotHere is what Forbidden answers, after failing the test.
var ErrNotHere = errors.New("no Secrets Manager in this test")

// Forbidden is a secret source (provision.SecretSource) that fails the
// test on any read: for tests in which nothing may reach Secrets Manager,
// because the inputs are refused before any network or the approval gate
// holds.
type Forbidden struct {
	T testing.TB
	// Why says what should have stopped the read, in the failure.
	Why string
}

// Get fails the test.
func (f Forbidden) Get(_ context.Context, path string) (string, error) {
	f.T.Helper()
	f.T.Errorf("Secrets Manager was read (%s) %s", path, f.Why)
	return "", ErrNotHere
}

// GetMany fails the test.
func (f Forbidden) GetMany(_ context.Context, paths []string) (map[string]secrets.Result, error) {
	f.T.Helper()
	f.T.Errorf("Secrets Manager was read (%s) %s", strings.Join(paths, ", "), f.Why)
	return nil, ErrNotHere
}
