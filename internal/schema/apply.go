package schema

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier runs a query: *pgx.Conn and pgx.Tx both are one.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Beginner starts a transaction: *pgx.Conn (and a pool) is one.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// existingSQL finds which of $1 exist in schema public, as relations
// (tables, indexes, views, sequences...) or functions.
const existingSQL = `SELECT c.relname::text FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
UNION
SELECT p.proname::text FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname = ANY($1::text[])
ORDER BY 1`

// markerSQL reads the marker; it runs only when the table exists.
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
COMMENT ON COLUMN public.` + MarkerTable + `.applied_by IS 'The session user that applied it (the RDS master); objects belong to the owner role.'`

const insertMarkerSQL = `INSERT INTO public.` + MarkerTable + ` (template, version, file_name, sha256) VALUES ($1, $2, $3, $4)`

// applyLockSQL serialises concurrent Apply calls on one database.
const applyLockSQL = `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('rds-provision initial_schema', 0))`

// Inspect reads what Decide needs: the marker rows and which names of any
// template already exist in schema public. It only reads, so dry runs use
// it; the marker is read only when the catalog query found it.
func Inspect(ctx context.Context, q Querier) (State, error) {
	var s State
	names, err := allObjects()
	if err != nil {
		return s, err
	}
	rows, err := q.Query(ctx, existingSQL, names)
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
	rows, err = q.Query(ctx, markerSQL)
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
// what it did. Under a transaction-scoped advisory lock it inspects again
// and decides (so a concurrent run or a change since the plan is seen);
// on Apply it switches to the owner role with SET LOCAL ROLE, so every
// object belongs to the application and the owner's default privileges
// give editors and readers their rights, then runs the files and records
// each in the marker table. Any error rolls everything back.
//
// db must be connected to the target database as a role that is a member
// of owner (the RDS master is: provision grants it every app role).
func Apply(ctx context.Context, db Beginner, t Template, owner string) (Decision, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: begin: %w", t.Name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, applyLockSQL); err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: lock: %w", t.Name, err)
	}
	s, err := Inspect(ctx, tx)
	if err != nil {
		return Decision{}, fmt.Errorf("apply schema template %s: %w", t.Name, err)
	}
	d := Decide(t, s)
	if d.Action != ActionApply {
		return d, tx.Commit(ctx)
	}
	// Unqualified names resolve in pg_catalog first: nothing in the
	// caller's search_path can stand in for a built-in.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = pg_catalog, public"); err != nil {
		return d, fmt.Errorf("apply schema template %s: %w", t.Name, err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{owner}.Sanitize()); err != nil {
		return d, fmt.Errorf("apply schema template %s: SET ROLE %s: %w (the connecting role must be a member of %s; provision grants it when it creates the role)", t.Name, owner, err, owner)
	}
	if _, err := tx.Exec(ctx, createMarkerSQL); err != nil {
		return d, fmt.Errorf("apply schema template %s: create marker public.%s as %s: %w", t.Name, MarkerTable, owner, err)
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
