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

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// connectTimeout bounds each connection attempt, as the runbook's script did.
const connectTimeout = 10 * time.Second

// SSL modes accepted by --sslmode, as libpq names them.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// CheckSSLMode returns an error naming the valid modes.
func CheckSSLMode(mode string) error {
	for _, m := range sslModes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("invalid --sslmode %q: want one of %s", mode, strings.Join(sslModes, ", "))
}

// connConfig builds a pgx config for db on the master's instance. The
// password is set on the config, never put in a connection string.
func (r *run) connConfig(db string) (*pgx.ConnConfig, error) {
	parts := []string{
		"host=" + dsnValue(r.master.Host),
		"port=" + strconv.Itoa(r.master.Port),
		"user=" + dsnValue(r.master.Username),
		"dbname=" + dsnValue(db),
		"sslmode=" + dsnValue(r.opts.SSLMode),
		"connect_timeout=" + strconv.Itoa(int(connectTimeout/time.Second)),
		"application_name=rds-provision",
	}
	if r.opts.SSLRootCert != "" {
		parts = append(parts, "sslrootcert="+dsnValue(r.opts.SSLRootCert))
	}
	cfg, err := pgx.ParseConfig(strings.Join(parts, " "))
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s: %w", db, err)
	}
	cfg.Password = r.master.Password
	cfg.Tracer = r.opts.Tracer
	return cfg, nil
}

func dsnValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (r *run) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := r.connConfig(db)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(r.master, r.opts.MasterSecret, err)
	}
	return conn, nil
}

// connectError keeps the runbook's words ("Failed to connect to RDS:
// connection timed out") and adds the remedy.
func connectError(m secrets.Master, secretPath string, err error) error {
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Errorf("Failed to connect to RDS: password authentication failed for master user %s at %s: check the credentials in %s", m.Username, addr, secretPath)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return fmt.Errorf("Failed to connect to RDS: database in %s (dbname) does not exist on %s", secretPath, addr)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("Failed to connect to RDS: connection timed out (%s): verify the VPC/security group allows this runner, the endpoint in %s is right, and the instance is running", addr, secretPath)
	case strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "tls"):
		return fmt.Errorf("Failed to connect to RDS: TLS verification failed for %s: pass the RDS CA bundle with --sslrootcert (the container has /etc/ssl/certs/rds-global-bundle.pem), or --sslmode require to skip verification: %v", addr, err)
	}
	return fmt.Errorf("Failed to connect to RDS at %s: %v", addr, err)
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
		if err != nil {
			return fmt.Errorf("Failed to connect to RDS: DNS lookup of %s failed: check the RDS endpoint (host) in %s, and that this runner resolves private RDS names (run inside the VPC): %v", host, r.opts.MasterSecret, err)
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
			return fmt.Errorf("Failed to connect to RDS: connection timed out (%s): verify the VPC/security group allows this runner, the endpoint in %s is right, and the instance is running (aws rds describe-db-instances)", addr, r.opts.MasterSecret)
		}
		return fmt.Errorf("Failed to connect to RDS: cannot reach %s: %v: verify the instance is running and the port in %s is right", addr, err, r.opts.MasterSecret)
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
