package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// A tenant is the owner role of its database: it controls that database's
// settings, its schema public, tables, views and triggers. This file holds
// what the run does about that beyond the session settings
// (sessionSettings) and the queries that name pg_catalog: the session
// logged in as the owner role, where everything that touches the tenant's
// own objects runs (the schema template and its marker, schema_step.go),
// and the rules that keep one tenant's failure to that tenant.

// isLoginError reports an authentication or authorization failure at login
// (wrong password, role without LOGIN or past its VALID UNTIL, no pg_hba
// entry), as opposed to a network failure or the database's own refusal.
func isLoginError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000")
}

// connectAs opens a session of an app role (the owner of its database, for
// its schema template), with the same fixed settings as the master's. Its
// errors name the role and the database, not the master.
func (r *run) connectAs(ctx context.Context, db, user, password string) (*pgx.Conn, error) {
	cfg, err := r.sessionConfig(db, user, password)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("log in as %s to database %s: %w", user, db, err)
	}
	return conn, nil
}

// databaseTrouble renders why a database could not be read, with the
// remedy when its owner caused it.
func databaseTrouble(db string, err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	switch pgErr.Code {
	case "53300": // too_many_connections
		return fmt.Sprintf("%s: its CONNECTION LIMIT lets no session in (its owner can raise it: ALTER DATABASE %s CONNECTION LIMIT -1)", pgErr.Message, ident(db))
	case "55000": // object_not_in_prerequisite_state: ALLOW_CONNECTIONS false
		return fmt.Sprintf("%s: its owner closed it to new sessions (ALTER DATABASE %s ALLOW_CONNECTIONS true)", pgErr.Message, ident(db))
	}
	return err.Error()
}

// tenantFailure reports whether the failure err of step s is its entry's
// database's, so it fails that entry and the entries on the database and
// fail-fast goes on: every step inside or on a database (CREATE DATABASE,
// grants, the schema template), and a role change that waited too long
// for a lock its role's row is under (a tenant's own open transaction,
// e.g. an uncommitted ALTER ROLE ... PASSWORD). Any other failure of a
// role change on the master's session (permission denied: the master's
// rights, the same for every role) is the instance's, and fail-fast stops
// the run there.
func tenantFailure(s Step, err error) bool {
	if s.Action != audit.ActionCreateRole {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01") // lock_not_available, deadlock_detected
}
