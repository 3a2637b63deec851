package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/lock"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/scram"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// connectTimeout bounds each connection attempt.
const connectTimeout = pgsession.ConnectTimeout

// DB is how rotation reaches PostgreSQL: the master's session for the lock
// and the password, and logins as the application role to test a password.
type DB struct {
	Master      secrets.Master
	SSLMode     string // default verify-full
	SSLRootCert string
	// StatementTimeout bounds every statement (and is sent as the
	// sessions' statement_timeout and idle_in_transaction_session_timeout;
	// lock_timeout is pgsession.DefaultLockTimeout when shorter).
	StatementTimeout time.Duration
	// LockTimeout bounds the wait for another run's advisory lock.
	LockTimeout time.Duration
	Random      io.Reader // SCRAM salts
	Infof       func(format string, args ...any)
	// Tracer observes the master session's queries (tests, benchmarks).
	Tracer pgx.QueryTracer

	// major is the server's major version, learnt by Open from the
	// master's session, for the settings of the logins after it.
	major int
}

// config builds a connection config: provision's hardened session
// (pgsession), whose settings neither the tenant's database nor its role
// can change, with the password set on the config, never put in a
// connection string.
func (d *DB) config(user, password, db string) (*pgx.ConnConfig, error) {
	return pgsession.Config{
		Host: d.Master.Host, Port: d.Master.Port, User: user, Password: password, Database: db,
		SSLMode: d.SSLMode, SSLRootCert: d.SSLRootCert, ApplicationName: "rds-provision-rotate",
		StatementTimeout: d.StatementTimeout, LockTimeout: pgsession.DefaultLockTimeout, Major: d.major,
	}.ConnConfig()
}

// Session is the master's connection holding the instance lock.
type Session struct {
	db   *DB
	conn *pgx.Conn
}

// Open connects as the master and takes the instance advisory lock (the
// key provision takes), waiting up to LockTimeout for another run.
func (d *DB) Open(ctx context.Context) (*Session, error) {
	cfg, err := d.config(d.Master.Username, d.Master.Password, d.Master.DBName)
	if err != nil {
		return nil, err
	}
	cfg.Tracer = d.Tracer
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		d.major = pgsession.Major(conn)
	}
	if err != nil {
		return nil, fmt.Errorf("Failed to connect to RDS as the master user %s at %s: %s", d.Master.Username, net.JoinHostPort(d.Master.Host, strconv.Itoa(d.Master.Port)), pgMessage(err))
	}
	err = lock.Acquire(ctx, conn, lock.Options{
		Master: d.Master.Username, Wait: d.LockTimeout, StatementTimeout: d.StatementTimeout,
		Waiting: func(pid int) {
			if d.Infof != nil {
				d.Infof("Another rds-provision run (pid %d) holds the lock on this instance: waiting up to %s (--lock-timeout)", pid, d.LockTimeout)
			}
		},
	})
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return &Session{db: d, conn: conn}, nil
}

// Close releases the lock and the connection.
func (s *Session) Close() {
	lock.Release(s.conn, connectTimeout)
	s.conn.Close(context.Background())
}

// Lost reports whether the session, and so the lock, is gone.
func (s *Session) Lost() bool { return s.conn.IsClosed() }

// sqlRole reads what decides whether rotation may change a role's
// password: its attributes, and every role it belongs to, directly or
// through groups, that is predefined (pg_*), RDS's (rds_*), privileged or
// able to log in (another application's).
const sqlRole = `
WITH RECURSIVE target AS (
  SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1
), up(oid) AS (
  SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN target t ON m.member = t.oid
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.oid
)
SELECT r.rolcanlogin,
       r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls,
       COALESCE((SELECT pg_catalog.string_agg(g.rolname::text, ', ' ORDER BY g.rolname)
                 FROM up JOIN pg_catalog.pg_roles g ON g.oid = up.oid
                 WHERE g.rolname LIKE 'pg\_%' OR g.rolname LIKE 'rds\_%' OR g.rolsuper OR g.rolcreaterole
                    OR g.rolreplication OR g.rolbypassrls OR g.rolcanlogin), '')
FROM pg_catalog.pg_roles r JOIN target t ON t.oid = r.oid`

// checkRole refuses a role that is not an application's own login role:
// rotation would otherwise hand whoever reads the secret the master, a
// privileged role, or another application's access.
func (s *Session) checkRole(ctx context.Context, user string) error {
	if err := naming.CheckUsername(user); err != nil {
		return fmt.Errorf("Refusing to rotate the password of role %s: username %v", user, err)
	}
	if user == s.db.Master.Username {
		return fmt.Errorf("Refusing to rotate the password of role %s: it is the RDS master user (rotate it with RDS: ManageMasterUserPassword)", user)
	}
	var login, privileged bool
	var groups string
	err := s.conn.QueryRow(ctx, sqlRole, user).Scan(&login, &privileged, &groups)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("role %s does not exist: provision it first (rds-provision provision), then rotate", user)
	case err != nil:
		return fmt.Errorf("read role %s: %s", user, pgMessage(err))
	case !login:
		return fmt.Errorf("role %s cannot log in (NOLOGIN, e.g. retired): its password is not rotated", user)
	case privileged:
		return fmt.Errorf("Refusing to rotate the password of role %s: it is a superuser or has CREATEROLE, REPLICATION or BYPASSRLS, which no application role has", user)
	case groups != "":
		return fmt.Errorf("Refusing to rotate the password of role %s: it belongs to %s (predefined, RDS, privileged or login roles), which no application role does", user, groups)
	}
	return nil
}

// setPassword sets the role's SCRAM-SHA-256 verifier, computed here from
// password: the plaintext never reaches the server, its log or
// pg_stat_statements.
func (s *Session) setPassword(ctx context.Context, user, password string) error {
	verifier, err := scram.Verifier(password, s.db.Random)
	if err != nil {
		return err
	}
	sql := fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{user}.Sanitize(), strings.ReplaceAll(verifier, "'", "''"))
	sctx, cancel := context.WithTimeout(ctx, s.db.StatementTimeout)
	defer cancel()
	if _, err := s.conn.Exec(sctx, sql); err != nil {
		return fmt.Errorf("set the password of role %s: %s", user, pgMessage(err))
	}
	return nil
}

// errRejected: the server refused the password (28P01).
var errRejected = errors.New("password authentication failed")

// login logs in as user with password into db and runs nothing but a
// constant query: errRejected when the password is wrong, another error
// when the login could not be tried (network, pg_hba, missing database).
func (d *DB) login(ctx context.Context, user, password, db string) error {
	cfg, err := d.config(user, password, db)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" {
		return errRejected
	}
	if err != nil {
		return fmt.Errorf("log in as %s to database %s: %s", user, db, pgMessage(err))
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("query as %s in database %s: %s", user, db, pgMessage(err))
	}
	return nil
}

// accepts reports whether the role takes password.
func (d *DB) accepts(ctx context.Context, user, password, db string) (bool, error) {
	err := d.login(ctx, user, password, db)
	if errors.Is(err, errRejected) {
		return false, nil
	}
	return err == nil, err
}

// pgMessage is a PostgreSQL error's own message, or the error.
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := pgErr.Message
		if pgErr.Code == "42501" {
			msg += ": the master needs CREATEROLE and, on PostgreSQL 16 and later, ADMIN OPTION on the role (provision grants it)"
		}
		return msg
	}
	return err.Error()
}
