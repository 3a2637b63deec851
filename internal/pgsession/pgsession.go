// Package pgsession builds the configuration of every PostgreSQL session
// rds-provision opens, as the master or as an application role, from
// provision and from rotate alike, so the two cannot drift apart.
//
// A tenant (the owner of its database) controls that database's settings
// and its own role's (ALTER DATABASE ... SET, ALTER ROLE ... SET). Values
// sent in the startup packet outrank both, so every session fixes there
// what a tenant could otherwise set: without them, a tenant's database
// could put schema public first in the search path (so its own functions
// and operators stand in for pg_catalog's inside the master's session),
// switch the session to another role (SET role), make every statement
// time out, keep the session read-only, wait for a serializable snapshot
// forever, load a library that does not exist (no session at all), end
// the session on its first error, or change how literals and dates are
// read. The password is set on the configuration, never put in a
// connection string, and keepalives notice a peer that vanished.
package pgsession

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConnectTimeout bounds each connection attempt, as the runbook's script did.
const ConnectTimeout = 10 * time.Second

// DefaultLockTimeout bounds every lock wait of a session (a tenant's open
// transaction that holds a row of its role or database), so a tenant's
// lock fails that tenant's statement in seconds instead of stalling a run
// for its statement timeout. The advisory lock's wait sets its own.
const DefaultLockTimeout = 30 * time.Second

// DefaultSSLMode verifies the server's certificate and name, as RDS
// allows: every command's default.
const DefaultSSLMode = "verify-full"

// SSLModes are the sslmode values libpq knows, weakest first.
var SSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// CheckSSLMode returns an error naming the valid modes.
func CheckSSLMode(mode string) error {
	for _, m := range SSLModes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("invalid --sslmode %q: want one of %s", mode, strings.Join(SSLModes, ", "))
}

// Config is one session to open.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string

	SSLMode     string // one of SSLModes
	SSLRootCert string // CA bundle for verify-ca and verify-full; empty: the system's
	// ApplicationName shows the session in pg_stat_activity.
	ApplicationName string

	// StatementTimeout is the session's statement_timeout and
	// idle_in_transaction_session_timeout.
	StatementTimeout time.Duration
	// LockTimeout is its lock_timeout, at most StatementTimeout.
	LockTimeout time.Duration
	// ReadOnly makes every transaction read-only (a dry run).
	ReadOnly bool
	// Major is the server's major version when known (0 before the first
	// session: see Major): transaction_timeout exists from PostgreSQL 17,
	// and an unknown parameter in the startup packet refuses the session.
	Major int

	// Tracer observes the session's queries; nil for none.
	Tracer pgx.QueryTracer
}

// ConnConfig is the pgx configuration of the session.
func (c Config) ConnConfig() (*pgx.ConnConfig, error) {
	parts := []string{
		"host=" + dsnValue(c.Host),
		"port=" + strconv.Itoa(c.Port),
		"user=" + dsnValue(c.User),
		"dbname=" + dsnValue(c.Database),
		"sslmode=" + dsnValue(c.SSLMode),
		"connect_timeout=" + strconv.Itoa(int(ConnectTimeout/time.Second)),
	}
	if c.ApplicationName != "" {
		parts = append(parts, "application_name="+dsnValue(c.ApplicationName))
	}
	if c.SSLRootCert != "" {
		parts = append(parts, "sslrootcert="+dsnValue(c.SSLRootCert))
	}
	cfg, err := pgx.ParseConfig(strings.Join(parts, " "))
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s: %w", c.Database, err)
	}
	cfg.Password = c.Password
	cfg.Tracer = c.Tracer
	// One round trip per query: no Parse/Describe first. Sessions are
	// short-lived and run each query once, so a statement cache would only
	// add a round trip.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	// Keepalives notice a peer that vanished (failover, a dropped NAT
	// entry) while the session waits, e.g. for a lock.
	dialer := &net.Dialer{Timeout: ConnectTimeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3,
	}}
	cfg.DialFunc = dialer.DialContext
	for k, v := range Settings(c.StatementTimeout, c.LockTimeout, c.ReadOnly, c.Major) {
		cfg.RuntimeParams[k] = v
	}
	return cfg, nil
}

// dsnValue quotes a value of a key=value connection string.
func dsnValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Settings are the startup parameters of a session: statement is its
// statement_timeout, lock its lock_timeout (at most statement), readOnly
// its transaction mode, major the server's major version when known.
func Settings(statement, lock time.Duration, readOnly bool, major int) map[string]string {
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

// Major is the server's major version, from the server_version parameter
// the server reported at the session's start; 0 when it cannot be read.
func Major(conn *pgx.Conn) int {
	return ServerMajor(conn.PgConn().ParameterStatus("server_version"))
}

// ServerMajor reads the major version from a server_version ("15.8",
// "18.1 (Debian 18.1-1)", "18beta1"); 0 when it cannot be read.
func ServerMajor(version string) int {
	end := strings.IndexFunc(version, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(version)
	}
	n, _ := strconv.Atoi(version[:end])
	return n
}
