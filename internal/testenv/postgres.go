// Package testenv starts the real servers the integration tests and the demo
// run against: a throwaway PostgreSQL with an RDS-like master user, and
// moto_server as Secrets Manager. A missing binary is an error naming the
// package to install, never a silent skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminURLEnv names an externally given PostgreSQL server: a superuser URL
// used only to set up the RDS-like master. When set, no server is started.
const AdminURLEnv = "RDSP_TEST_ADMIN_URL"

// PGBinEnv names the directory of the initdb and pg_ctl to start the test
// server with, which selects the PostgreSQL version (scripts/pg-install.sh
// prints one per major version). Unset: the first found on PATH, then the
// newest under /usr/lib/postgresql.
const PGBinEnv = "PG_BIN"

// Postgres is a running server with an RDS-like master: a non-superuser with
// CREATEROLE and CREATEDB, member of rds_superuser, as on AWS RDS.
type Postgres struct {
	Host           string
	Port           int
	AdminURL       string // superuser, for test setup and inspection only
	MasterUser     string
	MasterPassword string
	MasterDB       string
	LogPath        string // server log with log_statement = all; empty for an external server
	dir            string
	pgCtl          string
	runAs          *syscall.Credential
}

// MasterURL is the master's connection URL (sslmode disable: local server).
func (p *Postgres) MasterURL() string {
	return p.URL(p.MasterUser, p.MasterPassword, p.MasterDB)
}

// URL builds a connection URL for any role on this server.
func (p *Postgres) URL(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	return u.String()
}

// StartPostgres starts a throwaway server in a temp dir on a free port, or
// uses the server named by RDSP_TEST_ADMIN_URL, and creates the master.
// masterUser is the master's name, e.g. platform_admin.
func StartPostgres(ctx context.Context, masterUser string) (*Postgres, error) {
	p := &Postgres{MasterUser: masterUser, MasterPassword: "master-" + randomHex(12), MasterDB: "postgres"}
	if admin := os.Getenv(AdminURLEnv); admin != "" {
		u, err := url.Parse(admin)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", AdminURLEnv, err)
		}
		p.AdminURL = admin
		p.Host = u.Hostname()
		p.Port, _ = strconv.Atoi(u.Port())
		if p.Port == 0 {
			p.Port = 5432
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			p.MasterDB = db
		}
	} else if err := p.start(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	if err := p.createMaster(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context) error {
	initdb, err := findPGBinary("initdb")
	if err != nil {
		return err
	}
	if p.pgCtl, err = findPGBinary("pg_ctl"); err != nil {
		return err
	}
	if p.runAs, err = serverCredential(); err != nil {
		return err
	}
	if p.dir, err = os.MkdirTemp("", "rdsp-pg-"); err != nil {
		return fmt.Errorf("create postgres dir: %w", err)
	}
	if err := os.Chmod(p.dir, 0o755); err != nil {
		return fmt.Errorf("chmod postgres dir: %w", err)
	}
	data := filepath.Join(p.dir, "data")
	if p.runAs != nil {
		if err := os.Chown(p.dir, int(p.runAs.Uid), int(p.runAs.Gid)); err != nil {
			return fmt.Errorf("chown postgres dir to the server user: %w", err)
		}
	}
	p.Host = "127.0.0.1"
	if p.Port, err = FreePort(); err != nil {
		return err
	}
	p.LogPath = filepath.Join(p.dir, "server.log")
	adminPassword := "admin-" + randomHex(12)
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(adminPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("write pwfile: %w", err)
	}
	if p.runAs != nil {
		if err := os.Chown(pwfile, int(p.runAs.Uid), int(p.runAs.Gid)); err != nil {
			return fmt.Errorf("chown pwfile: %w", err)
		}
	}
	if out, err := p.run(ctx, initdb, "-D", data, "-U", "postgres", "--pwfile", pwfile, "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale", "C"); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(p.Port),
		"-c unix_socket_directories=" + p.dir,
		"-c fsync=off",
		"-c synchronous_commit=off",
		"-c full_page_writes=off",
		"-c log_statement=all",
		"-c max_connections=100",
	}, " ")
	if out, err := p.run(ctx, p.pgCtl, "-D", data, "-l", p.LogPath, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(p.LogPath)
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	p.AdminURL = p.URL("postgres", adminPassword, "postgres")
	return nil
}

func (p *Postgres) createMaster(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		return fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(ctx)
	master := pgx.Identifier{p.MasterUser}.Sanitize()
	stmts := []string{
		// RDS has rds_superuser; the master is a member, not a superuser.
		`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') THEN CREATE ROLE rds_superuser NOLOGIN; END IF; END $$`,
		fmt.Sprintf(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE %s; END IF; END $$`, quoteLiteral(p.MasterUser), master),
		fmt.Sprintf(`ALTER ROLE %s LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD %s`, master, quoteLiteral(p.MasterPassword)),
		fmt.Sprintf(`GRANT rds_superuser TO %s`, master),
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("create RDS-like master: %w", err)
		}
	}
	return nil
}

// Stop stops a server this package started and removes its files.
func (p *Postgres) Stop() {
	if p == nil || p.dir == "" {
		return
	}
	if p.pgCtl != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p.run(ctx, p.pgCtl, "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
		cancel()
	}
	os.RemoveAll(p.dir)
	p.dir = ""
}

// ServerLog returns what the server has logged so far.
func (p *Postgres) ServerLog() (string, error) {
	if p.LogPath == "" {
		return "", errors.New("server log is not available for an external server")
	}
	b, err := os.ReadFile(p.LogPath)
	return string(b), err
}

func (p *Postgres) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.dir
	if p.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.runAs}
		cmd.Env = append(os.Environ(), "HOME="+p.dir)
	}
	return cmd.CombinedOutput()
}

// serverCredential returns the postgres system user when running as root,
// because the server refuses to run as root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs an unprivileged 'postgres' system user for the test server (apt-get install postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func findPGBinary(name string) (string, error) {
	if dir := os.Getenv(PGBinEnv); dir != "" {
		path := filepath.Join(dir, name)
		if _, err := exec.LookPath(path); err != nil {
			return "", fmt.Errorf("%s=%s has no runnable %s (scripts/pg-install.sh VERSION prints a valid directory): %w", PGBinEnv, dir, name, err)
		}
		return path, nil
	}
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", fmt.Errorf("%s not found: install the PostgreSQL server (apt-get install postgresql), set %s to its bin directory, or set %s to a superuser URL of a server to use", name, PGBinEnv, AdminURLEnv)
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
