package provision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// connectTimeout bounds each connection attempt, as the runbook's script did.
const connectTimeout = pgsession.ConnectTimeout

// CheckSSLMode returns an error naming the valid --sslmode values
// (pgsession.CheckSSLMode).
func CheckSSLMode(mode string) error { return pgsession.CheckSSLMode(mode) }

// connConfig builds a pgx config for a session of the master user in db
// on the master's instance.
func (r *run) connConfig(db string) (*pgx.ConnConfig, error) {
	return r.sessionConfig(db, r.master.Username, r.master.Password)
}

// sessionConfig builds a pgx config for a session of user in db: the
// hardened session of pgsession, whose settings a tenant cannot change
// (sessionSettings).
func (r *run) sessionConfig(db, user, password string) (*pgx.ConnConfig, error) {
	// The master's database holds the advisory lock's session, whose wait
	// (--lock-timeout) is one statement.
	statement := r.opts.StatementTimeout
	if db == r.master.DBName {
		statement += r.opts.LockTimeout
	}
	return pgsession.Config{
		Host: r.master.Host, Port: r.master.Port, User: user, Password: password, Database: db,
		SSLMode: r.opts.SSLMode, SSLRootCert: r.opts.SSLRootCert, ApplicationName: "rds-provision",
		StatementTimeout: statement, LockTimeout: r.opts.lockWait, ReadOnly: r.opts.DryRun,
		Major: int(r.major.Load()), Tracer: r.opts.Tracer,
	}.ConnConfig()
}

func (r *run) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := r.connConfig(db)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(r.master, r.opts.MasterSecret, r.opts.SSLMode, err)
	}
	r.learnVersion(conn)
	return conn, nil
}

// learnVersion keeps the server's major version from the first session, for
// the settings of the next ones (sessionSettings).
func (r *run) learnVersion(conn *pgx.Conn) {
	if r.major.Load() == 0 {
		r.major.Store(int32(pgsession.Major(conn)))
	}
}

// connError is a connection failure in the runbook's words, keeping the
// driver's error for isUnreachable.
type connError struct {
	msg string
	err error
}

func (e *connError) Error() string { return e.msg }
func (e *connError) Unwrap() error { return e.err }

// isUnreachable tells a network failure (DNS, refused, timed out), which a
// dry run survives with an offline preview, from a server that answered
// and said no (authentication, TLS), which the real run would also hit.
func isUnreachable(err error) bool {
	var pgErr *pgconn.PgError
	var netErr net.Error
	if errors.As(err, &pgErr) || errors.Is(err, errTLSRefused) {
		return false
	}
	return errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded)
}

var errTLSRefused = errors.New("server refused TLS")

// connectError keeps the runbook's words ("Failed to connect to RDS:
// connection timed out") and adds the remedy.
func connectError(m secrets.Master, secretPath, sslMode string, err error) error {
	msg := connectMessage(m, secretPath, sslMode, err)
	if strings.Contains(err.Error(), "server refused TLS connection") {
		err = fmt.Errorf("%w: %w", errTLSRefused, err)
	}
	return &connError{msg: msg, err: err}
}

func connectMessage(m secrets.Master, secretPath, sslMode string, err error) string {
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("Cancelled (SIGTERM or interrupt) while connecting to RDS at %s: nothing was changed after this point", addr)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return fmt.Sprintf("Failed to connect to RDS at %s: the server refused TLS (--sslmode %s needs it); RDS always offers TLS, so check the host and port in %s point at the RDS endpoint; a local server without TLS needs --sslmode disable", addr, sslMode, secretPath)
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Sprintf("Failed to connect to RDS: password authentication failed for master user %s at %s: check the credentials in %s", m.Username, addr, secretPath)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return fmt.Sprintf("Failed to connect to RDS: %s on %s (the master's dbname in %s, or a database an entry names)", pgErr.Message, addr, secretPath)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("Failed to connect to RDS: connection timed out (%s): verify the VPC/security group allows this runner, the endpoint in %s is right, and the instance is running", addr, secretPath)
	case strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "tls"):
		return fmt.Sprintf("Failed to connect to RDS: TLS verification failed for %s: pass the RDS CA bundle with --sslrootcert (the container has /etc/ssl/certs/rds-global-bundle.pem), or --sslmode require to skip verification: %v", addr, err)
	}
	return fmt.Sprintf("Failed to connect to RDS at %s: %v", addr, err)
}

// preflight checks DNS and TCP reachability before the PostgreSQL handshake,
// so a network problem gets the runbook's remedy instead of a driver error.
// It is skipped inside Kubernetes, where the Job's network policy and
// cluster DNS make these checks misleading.
func (r *run) preflight(ctx context.Context) error {
	if r.opts.SkipPreflight || r.getenv("KUBERNETES_SERVICE_HOST") != "" {
		return nil
	}
	host := r.master.Host
	addr := net.JoinHostPort(host, strconv.Itoa(r.master.Port))
	if net.ParseIP(host) == nil && !strings.HasPrefix(host, "/") {
		lookupCtx, cancel := context.WithTimeout(ctx, connectTimeout)
		_, err := net.DefaultResolver.LookupHost(lookupCtx, host)
		cancel()
		if err != nil && ctx.Err() != nil {
			return &connError{err: ctx.Err(), msg: "Cancelled (SIGTERM or interrupt) while connecting to RDS: nothing was changed"}
		}
		if err != nil {
			return &connError{err: err, msg: fmt.Sprintf("Failed to connect to RDS: DNS lookup of %s failed: check the RDS endpoint (host) in %s, and that this runner resolves private RDS names (run inside the VPC): %v", host, r.opts.MasterSecret, err)}
		}
	}
	if strings.HasPrefix(host, "/") {
		return nil // unix socket directory
	}
	d := net.Dialer{Timeout: connectTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return &connError{err: err, msg: fmt.Sprintf("Failed to connect to RDS: connection timed out (%s): verify the VPC/security group allows this runner, the endpoint in %s is right, and the instance is running (aws rds describe-db-instances)", addr, r.opts.MasterSecret)}
		}
		if ctx.Err() != nil {
			return &connError{err: ctx.Err(), msg: "Cancelled (SIGTERM or interrupt) while connecting to RDS: nothing was changed"}
		}
		return &connError{err: err, msg: fmt.Sprintf("Failed to connect to RDS: cannot reach %s: %v: verify the instance is running and the port in %s is right", addr, err, r.opts.MasterSecret)}
	}
	conn.Close()
	return nil
}

func (r *run) getenv(k string) string {
	if r.opts.Getenv == nil {
		return os.Getenv(k)
	}
	return r.opts.Getenv(k)
}

// statementContext bounds one statement: a frozen server or network fails
// the statement instead of hanging the run. extra adds a wait the
// statement is allowed (the lock wait).
func (r *run) statementContext(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.StatementTimeout+extra)
}
