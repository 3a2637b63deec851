package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// app is one application_databases entry, owner access level.
type app struct{ key, db, user, password string }

func apps(prefix string, n int) []app {
	out := make([]app, n)
	for i := range out {
		name := fmt.Sprintf("%s_app_%03d", prefix, i)
		out[i] = app{key: name, db: name, user: name + "_user", password: "pw-" + randomHex(12)}
	}
	return out
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// psqlScript is what an operator would run by hand for the same entries,
// serially, written as the runbook works: as the master on its database,
// create or update each role (password from Secrets Manager) and create
// its database when missing, with the database-level grants; then connect
// into each database for the schema, table and sequence grants of SPEC's
// owner level. It is rerunnable: existence is checked with \gset and \if,
// as a careful operator would. The passwords, read from Secrets Manager
// beforehand (N+1 get-secret-value calls, not timed), are in the script.
//
// Every SQL statement and \gset query is one round trip (psql sends each
// on its own, simple query protocol); every \c is one new connection.
func psqlScript(master string, apps []app) string {
	var b strings.Builder
	b.WriteString("\\set ON_ERROR_STOP on\n")
	for _, a := range apps {
		u, d := ident(a.user), ident(a.db)
		fmt.Fprintf(&b, "SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) AS create_role \\gset\n", literal(a.user))
		fmt.Fprintf(&b, "\\if :create_role\nCREATE ROLE %s LOGIN CREATEDB PASSWORD %s;\nGRANT %s TO %s;\n", u, literal(a.password), u, ident(master))
		fmt.Fprintf(&b, "\\else\nALTER ROLE %s LOGIN CREATEDB PASSWORD %s;\n\\endif\n", u, literal(a.password))
		fmt.Fprintf(&b, "SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = %s) AS create_db \\gset\n", literal(a.db))
		fmt.Fprintf(&b, "\\if :create_db\nCREATE DATABASE %s OWNER %s;\n\\endif\n", d, u)
		fmt.Fprintf(&b, "REVOKE ALL ON DATABASE %s FROM PUBLIC;\nGRANT ALL PRIVILEGES ON DATABASE %s TO %s;\n", d, d, u)
	}
	for _, a := range apps {
		u := ident(a.user)
		fmt.Fprintf(&b, "\\c %s\n", a.db)
		fmt.Fprintf(&b, "GRANT ALL ON SCHEMA public TO %s;\nGRANT ALL ON ALL TABLES IN SCHEMA public TO %s;\nGRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s;\n", u, u, u)
	}
	return b.String()
}

// runPSQL runs script with psql as the master through host:port.
func runPSQL(ctx context.Context, dir, host, port, user, password, db, script string) error {
	path := filepath.Join(dir, "provision.sql")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-h", host, "-p", port, "-U", user, "-d", db, "-f", path)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("psql: %w\n%s", err, out.String())
	}
	return nil
}
