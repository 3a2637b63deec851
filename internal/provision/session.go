package provision

import (
	"time"

	"github.com/goldenpath/rds-provision/internal/pgsession"
)

// Every session the tool opens, as the master or as an app role, into any
// database, fixes its settings in the startup packet (pgsession, which
// rotate's sessions share), so nothing a tenant set on its database or
// role applies to it. These are provision's names for them.

// sessionLockTimeout bounds every lock wait of a session
// (pgsession.DefaultLockTimeout), so a tenant's lock fails that tenant's
// step in seconds; Options.lockWait, which the tests shorten, defaults to
// it. The advisory lock wait sets its own (--lock-timeout).
const sessionLockTimeout = pgsession.DefaultLockTimeout

// sessionSettings are the startup parameters of a session
// (pgsession.Settings): statement is the server-side statement_timeout,
// lock its lock_timeout (at most statement), readOnly the dry run's
// transaction mode, major the server's major version when known.
func sessionSettings(statement, lock time.Duration, readOnly bool, major int) map[string]string {
	return pgsession.Settings(statement, lock, readOnly, major)
}

// serverMajor reads the major version from a server_version
// (pgsession.ServerMajor).
func serverMajor(version string) int { return pgsession.ServerMajor(version) }
