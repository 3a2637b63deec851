package schema

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotOwnerSession is returned by Inspect and Apply for a session that is
// not logged in as the owner role: the marker and everything the template
// touches are the tenant's own objects, and a session of any other role
// (the RDS master above all) would run the tenant's views and triggers with
// that role's rights.
var ErrNotOwnerSession = errors.New("not a session logged in as the owner role")

// LockHeldError is Apply's error when another session holds the
// database's schema template lock: Apply does not wait for it.
type LockHeldError struct {
	Database    string
	Key         int64 // the advisory lock key, as pg_locks shows it split
	PID         int   // 0 when the holder ended before it could be named
	Role        string
	Application string
}

func (e *LockHeldError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("the schema template lock of database %s (advisory key %d) was held by another session, which has ended since; re-run", e.Database, e.Key)
	}
	return fmt.Sprintf("the schema template lock of database %s (advisory key %d) is held by role %s (pid %d, application_name %q): another session is applying a template there or holds the key; not waiting for it: end that session (SELECT pg_terminate_backend(%d)) and re-run",
		e.Database, e.Key, e.Role, e.PID, e.Application, e.PID)
}

// checkSession refuses a session that did not log in as owner. The server
// reports the session user at startup (session_authorization), so this
// costs no round trip; Apply also checks the current user in its first
// statement.
func checkSession(conn *pgx.Conn, owner string) error {
	if got := conn.PgConn().ParameterStatus("session_authorization"); got != owner {
		return fmt.Errorf("%w %s: it is logged in as %s", ErrNotOwnerSession, owner, got)
	}
	return nil
}

// existingSQL finds which of $1 exist in schema public, as relations
// (tables, indexes, views, sequences...) or functions. It reads system
// catalogs only and names pg_catalog for every operator and type.
const existingSQL = `SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name
   AND c.relname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
UNION
SELECT p.proname::pg_catalog.text FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name
   AND p.proname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
ORDER BY 1`

// markerSQL reads the marker; it runs only when the table exists, and only
// in a session of the owner role (it is the tenant's table, or view).
const markerSQL = `SELECT template, version, applied_at FROM public.` + MarkerTable + ` ORDER BY template, version`

// createMarkerSQL runs as the owner role, so the marker is the
// application's like the tables it records.
const createMarkerSQL = `CREATE TABLE IF NOT EXISTS public.` + MarkerTable + ` (
    template   text        NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    file_name  text        NOT NULL,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text        NOT NULL DEFAULT session_user,
    CONSTRAINT ` + MarkerTable + `_pkey PRIMARY KEY (template, version)
);
COMMENT ON TABLE public.` + MarkerTable + ` IS 'Schema template files applied by rds-provision (initial_schema), one row per file. rds-provision never re-runs a file listed here; keep the table.';
COMMENT ON COLUMN public.` + MarkerTable + `.template IS 'Template name: basic-app or event-sourcing.';
COMMENT ON COLUMN public.` + MarkerTable + `.version IS 'Number of the applied file: 0001_init.sql is 1. The template''s version is the highest.';
COMMENT ON COLUMN public.` + MarkerTable + `.file_name IS 'The applied file, e.g. 0001_init.sql.';
COMMENT ON COLUMN public.` + MarkerTable + `.sha256 IS 'SHA-256 of the file as applied, hex.';
COMMENT ON COLUMN public.` + MarkerTable + `.applied_at IS 'When the file was applied.';
COMMENT ON COLUMN public.` + MarkerTable + `.applied_by IS 'The session user that applied it: the owner role, which rds-provision logs in as to apply templates.'`

// restrictMarkerSQL leaves write access to the marker to its owner: the
// owner's default privileges give editors INSERT, UPDATE and DELETE on every
// new table, the marker included, and a row of another version would block
// or misdirect the template's upgrades. Reading it stays allowed.
const restrictMarkerSQL = `DO $restrict$
DECLARE
    grantee pg_catalog.text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT CASE WHEN x.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'::pg_catalog.text
                             ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)::pg_catalog.text) END
          FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) x
         WHERE c.oid OPERATOR(pg_catalog.=) 'public.` + MarkerTable + `'::pg_catalog.regclass::pg_catalog.oid
           AND x.grantee OPERATOR(pg_catalog.<>) c.relowner
           AND x.privilege_type OPERATOR(pg_catalog.<>) 'SELECT'::pg_catalog.text
    LOOP
        EXECUTE 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.` + MarkerTable + ` FROM ' OPERATOR(pg_catalog.||) grantee;
    END LOOP;
END
$restrict$`

const insertMarkerSQL = `INSERT INTO public.` + MarkerTable + ` (template, version, file_name, sha256) VALUES ($1, $2, $3, $4)`

// lockKeySQL is the key of the transaction-scoped advisory lock that
// serialises Apply calls on one database.
const lockKeySQL = `pg_catalog.hashtextextended('rds-provision initial_schema', 0)`

// tryLockSQL tries the lock, without waiting, and says who the session is.
const tryLockSQL = `SELECT pg_catalog.pg_try_advisory_xact_lock(` + lockKeySQL + `), CURRENT_USER::pg_catalog.text`

// lockHolderSQL names the session holding the lock in this database; a
// bigint key shows in pg_locks as classid (high half), objid (low half),
// objsubid 1.
const lockHolderSQL = `
SELECT COALESCE(l.pid, 0), COALESCE(a.usename::pg_catalog.text, ''), COALESCE(a.application_name, ''), k.key
FROM (SELECT ` + lockKeySQL + ` AS key) k
LEFT JOIN pg_catalog.pg_locks l
  ON l.locktype OPERATOR(pg_catalog.=) 'advisory'::pg_catalog.text AND l.granted
 AND l.objsubid OPERATOR(pg_catalog.=) 1::pg_catalog.int2
 AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
 AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                         WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
 AND l.classid::pg_catalog.int8 OPERATOR(pg_catalog.=) ((k.key OPERATOR(pg_catalog.>>) 32) OPERATOR(pg_catalog.&) 4294967295::pg_catalog.int8)
 AND l.objid::pg_catalog.int8 OPERATOR(pg_catalog.=) (k.key OPERATOR(pg_catalog.&) 4294967295::pg_catalog.int8)
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
LIMIT 1`

// Inspect reads what Decide needs: the marker rows and which names of any
// template already exist in schema public. tx must belong to a session
// logged in as owner, the database's owner role: the marker is the
// tenant's table (or a view, with the tenant's functions behind it), so no
// other role reads it. It only reads, so dry runs use it; the marker is
// read only when the catalog query found it.
func Inspect(ctx context.Context, tx pgx.Tx, owner string) (State, error) {
	var s State
	if err := checkSession(tx.Conn(), owner); err != nil {
		return s, fmt.Errorf("inspect schema public: %w", err)
	}
	names, err := allObjects()
	if err != nil {
		return s, err
	}
	rows, err := tx.Query(ctx, existingSQL, names)
	if err != nil {
		return s, fmt.Errorf("inspect schema public: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return s, fmt.Errorf("inspect schema public: %w", err)
	}
	for _, name := range found {
		if name == MarkerTable {
			s.Marker = true
			continue
		}
		s.Existing = append(s.Existing, name)
	}
	if !s.Marker {
		return s, nil
	}
	rows, err = tx.Query(ctx, markerSQL)
	if err != nil {
		return s, fmt.Errorf("read marker public.%s: %w", MarkerTable, err)
	}
	s.Applied, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Applied, error) {
		var a Applied
		err := r.Scan(&a.Template, &a.Version, &a.AppliedAt)
		return a, err
	})
	if err != nil {
		return s, fmt.Errorf("read marker public.%s: %w", MarkerTable, err)
	}
	return s, nil
}

// Apply brings the database to template t in one transaction and returns
// what it did. conn must be a session logged in as owner, the database's
// owner role (provision logs in with the password of its app secret): so
// every object belongs to the application, the owner's default privileges
// give editors and readers their rights, and whatever the tenant planted
// (a view as the marker, a trigger that runs RESET ROLE) runs with the
// tenant's own rights, never another role's. Under a transaction-scoped
// advisory lock, tried and not waited for (a held key is a LockHeldError
// naming its holder), it inspects again and decides, so a change since the
// plan is seen; on Apply it runs the files and records each in the marker
// table. Any error rolls everything back.
func Apply(ctx context.Context, conn *pgx.Conn, t Template, owner string) (Decision, error) {
	if err := checkSession(conn, owner); err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: %w", t.Name, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: begin: %w", t.Name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var locked bool
	var current string
	if err := tx.QueryRow(ctx, tryLockSQL).Scan(&locked, &current); err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: lock: %w", t.Name, err)
	}
	if current != owner {
		return Decision{}, fmt.Errorf("apply schema template %s: %w %s: it runs as %s (SET ROLE)", t.Name, ErrNotOwnerSession, owner, current)
	}
	if !locked {
		held := &LockHeldError{Database: conn.Config().Database}
		if err := tx.QueryRow(ctx, lockHolderSQL).Scan(&held.PID, &held.Role, &held.Application, &held.Key); err != nil {
			return Decision{}, fmt.Errorf("apply schema template %s: find the lock holder: %w", t.Name, err)
		}
		return Decision{}, held
	}
	s, err := Inspect(ctx, tx, owner)
	if err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: %w", t.Name, err)
	}
	d := Decide(t, s)
	if d.Action != ActionApply {
		return d, tx.Commit(ctx)
	}
	// Unqualified names in the files resolve in pg_catalog first.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = pg_catalog, public"); err != nil {
		return d, fmt.Errorf("apply schema template %s: %w", t.Name, err)
	}
	if _, err := tx.Exec(ctx, createMarkerSQL); err != nil {
		return d, fmt.Errorf("apply schema template %s: create marker public.%s as %s: %w", t.Name, MarkerTable, owner, err)
	}
	if _, err := tx.Exec(ctx, restrictMarkerSQL); err != nil {
		return d, fmt.Errorf("apply schema template %s: restrict writes to marker public.%s: %w", t.Name, MarkerTable, err)
	}
	for _, f := range d.Files {
		if _, err := tx.Exec(ctx, f.SQL); err != nil {
			return d, fmt.Errorf("apply schema template %s file %s as %s: %w (rolled back, nothing applied)", t.Name, f.Name, owner, describe(err))
		}
		if _, err := tx.Exec(ctx, insertMarkerSQL, t.Name, f.Version, f.Name, f.SHA256); err != nil {
			return d, fmt.Errorf("apply schema template %s: record %s in public.%s: %w", t.Name, f.Name, MarkerTable, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return d, fmt.Errorf("apply schema template %s: commit: %w", t.Name, err)
	}
	return d, nil
}

// describe adds the server's detail and position to an error from a
// template file, the first things a reader needs to fix it.
func describe(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	extra := ""
	if pgErr.Detail != "" {
		extra += "; detail: " + pgErr.Detail
	}
	if pgErr.Where != "" {
		extra += "; where: " + pgErr.Where
	}
	if pgErr.Position > 0 {
		extra += fmt.Sprintf("; at character %d", pgErr.Position)
	}
	if extra == "" {
		return err
	}
	return fmt.Errorf("%w%s", err, extra)
}
