package provision

import (
	"strconv"
	"strings"
	"time"
)

// Every session the tool opens, as the master or as an app role, into any
// database, fixes its settings in the startup packet. Values sent there
// outrank ALTER DATABASE ... SET and ALTER ROLE ... SET, which a tenant
// (the owner of its database) controls: without them, a tenant's database
// could put schema public first in the search path (so its own functions
// and operators stand in for pg_catalog's inside the master's session),
// switch the master's session to another role (SET role), make every
// statement time out, keep the session read-only, wait for a serializable
// snapshot forever, load a library that does not exist (no session at
// all), end the session on its first error, or change how literals and
// dates are read.

// sessionLockTimeout bounds every lock wait of a session (a tenant's open
// transaction that holds a row of its role or database), so a tenant's
// lock fails that tenant's step in seconds instead of stalling the run for
// --statement-timeout. The advisory lock wait sets its own (--lock-timeout).
const sessionLockTimeout = 30 * time.Second

// sessionSettings are the startup parameters of a session. statement is
// the server-side statement_timeout, lock its lock_timeout (at most
// statement), readOnly the dry run's transaction mode; major is the
// server's major version when known (0 before the first connection),
// since transaction_timeout exists from PostgreSQL 17 and an unknown
// parameter in the startup packet refuses the session.
func sessionSettings(statement, lock time.Duration, readOnly bool, major int) map[string]string {
	lock = min(lock, statement)
	readOnlyValue := "off"
	if readOnly {
		// A dry run cannot change anything, whatever the code path.
		readOnlyValue = "on"
	}
	s := map[string]string{
		// pg_temp last: nothing found by name in a session's own temporary
		// schema before pg_catalog.
		"search_path":                         "pg_catalog, pg_temp",
		"role":                                "none", // the session runs as the role it logged in as
		"statement_timeout":                   ms(statement),
		"lock_timeout":                        ms(lock),
		"idle_in_transaction_session_timeout": ms(statement),
		"idle_session_timeout":                "0",
		"default_transaction_read_only":       readOnlyValue,
		"default_transaction_isolation":       "read committed",
		"default_transaction_deferrable":      "off",
		"local_preload_libraries":             "",
		"exit_on_error":                       "off",
		"client_encoding":                     "UTF8",
		"standard_conforming_strings":         "on",
		"DateStyle":                           "ISO, MDY",
		"IntervalStyle":                       "postgres",
		"TimeZone":                            "UTC",
		"jit":                                 "off",
	}
	if major >= 17 {
		s["transaction_timeout"] = "0"
	}
	return s
}

func ms(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// serverMajor reads the major version from the server_version parameter
// the server reports at startup ("15.8", "18.1 (Debian 18.1-1)",
// "18beta1"); 0 when it cannot be read.
func serverMajor(version string) int {
	end := strings.IndexFunc(version, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(version)
	}
	n, _ := strconv.Atoi(version[:end])
	return n
}
