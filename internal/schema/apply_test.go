package schema

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

// The package's tests share one PostgreSQL server with an RDS-like master;
// each test makes its own roles and database.
var pg *testenv.Postgres

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p, err := testenv.StartPostgres(ctx, testenv.MasterUser)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "schema tests need PostgreSQL:", err)
		os.Exit(1)
	}
	pg = p
	code := m.Run()
	p.Stop()
	os.Exit(code)
}

// database is one test's database as provision leaves it for an owner
// entry and two other entries on it: the owner role owns the database,
// the master is a member of it, and the owner's default privileges in
// public give the editor and the reader their level's rights.
type database struct {
	name, owner, editor, reader, password string
}

func newDatabase(t *testing.T, name string) *database {
	t.Helper()
	d := &database{name: name, owner: name + "_owner", editor: name + "_editor", reader: name + "_reader", password: "pw-" + name}
	id := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	pw := "'" + d.password + "'"
	master := d.connect(t, pg.MasterUser, pg.MasterPassword, pg.MasterDB)
	mustExec(t, master,
		"CREATE ROLE "+id(d.owner)+" LOGIN CREATEDB PASSWORD "+pw,
		"GRANT "+id(d.owner)+" TO "+id(pg.MasterUser),
		"CREATE ROLE "+id(d.editor)+" LOGIN PASSWORD "+pw,
		"CREATE ROLE "+id(d.reader)+" LOGIN PASSWORD "+pw,
		"CREATE DATABASE "+id(d.name)+" OWNER "+id(d.owner),
		"REVOKE ALL ON DATABASE "+id(d.name)+" FROM PUBLIC",
		"GRANT ALL PRIVILEGES ON DATABASE "+id(d.name)+" TO "+id(d.owner),
		"GRANT CONNECT ON DATABASE "+id(d.name)+" TO "+id(d.editor)+", "+id(d.reader),
	)
	o := id(d.owner)
	mustExec(t, d.master(t),
		"GRANT ALL ON SCHEMA public TO "+o,
		"GRANT USAGE ON SCHEMA public TO "+id(d.editor)+", "+id(d.reader),
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "+id(d.editor),
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "+id(d.editor),
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT SELECT ON TABLES TO "+id(d.reader),
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT SELECT ON SEQUENCES TO "+id(d.reader),
	)
	return d
}

func (d *database) connect(t *testing.T, user, password, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pg.URL(user, password, db))
	if err != nil {
		t.Fatalf("connect as %s to %s: %v", user, db, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// master connects as the RDS-like master to the test's database, as
// provision does.
func (d *database) master(t *testing.T) *pgx.Conn {
	return d.connect(t, pg.MasterUser, pg.MasterPassword, d.name)
}

func (d *database) as(t *testing.T, role string) *pgx.Conn {
	return d.connect(t, role, d.password, d.name)
}

func mustExec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// apply applies tmpl as provision does: in a session logged in as the
// owner role.
func apply(t *testing.T, d *database, tmpl Template) Decision {
	t.Helper()
	dec, err := Apply(context.Background(), d.as(t, d.owner), tmpl, d.owner)
	if err != nil {
		t.Fatalf("Apply %s: %v", tmpl.Name, err)
	}
	return dec
}

// owners lists "kind name owner" for everything in public.
func owners(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' ELSE c.relkind::text END || ' ' || c.relname || ' ' || pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'function ' || p.proname || ' ' || pg_get_userbyid(p.proowner)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// uncommented lists the tables, columns, standalone indexes, functions and
// triggers in public that have no COMMENT.
func uncommented(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
WITH rel AS (
  SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public'
)
SELECT 'table ' || relname FROM rel WHERE relkind = 'r' AND obj_description(oid, 'pg_class') IS NULL
UNION ALL
SELECT 'index ' || relname FROM rel WHERE relkind = 'i' AND obj_description(oid, 'pg_class') IS NULL
   AND oid NOT IN (SELECT conindid FROM pg_constraint)
UNION ALL
SELECT 'column ' || rel.relname || '.' || a.attname FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid
 WHERE rel.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND col_description(rel.oid, a.attnum) IS NULL
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT 'trigger ' || tg.tgname FROM pg_trigger tg JOIN rel ON rel.oid = tg.tgrelid
 WHERE NOT tg.tgisinternal AND obj_description(tg.oid, 'pg_trigger') IS NULL
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestApplyEventSourcing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	es := mustLookup(t, "event-sourcing")
	d := newDatabase(t, "es_store")

	dec := apply(t, d, es)
	if dec.Action != ActionApply || dec.From != 0 || dec.To != 1 || dec.Done(d.name) != "Applied schema template event-sourcing (v1) to es_store" {
		t.Fatalf("first apply: %+v", dec)
	}
	master := d.master(t)

	// Every object belongs to the app role, none to the master.
	for _, o := range owners(t, master) {
		if !strings.HasSuffix(o, " "+d.owner) {
			t.Errorf("%s: want owner %s", o, d.owner)
		}
	}
	for _, want := range []string{"table events ", "table projection_checkpoints ", "table snapshots ", "table rds_provision_schema ", "function events_notify "} {
		found := false
		for _, o := range owners(t, master) {
			found = found || strings.HasPrefix(o, want)
		}
		if !found {
			t.Errorf("no %q in public", want)
		}
	}
	if missing := uncommented(t, master); len(missing) > 0 {
		t.Errorf("objects without COMMENT: %v", missing)
	}

	owner := d.as(t, d.owner)
	listener := d.as(t, d.owner)
	mustExec(t, listener, "LISTEN events")

	// Append, then read the notification a projector would get.
	var pos int64
	err := owner.QueryRow(ctx, `INSERT INTO events (stream_id, stream_version, event_type, data, metadata)
VALUES ('order-42', 1, 'OrderPlaced', '{"total": 12}', '{"actor": "alice"}') RETURNING position`).Scan(&pos)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(waitCtx)
	if err != nil {
		t.Fatalf("no notification on channel events: %v", err)
	}
	if n.Channel != "events" || n.Payload != strconv.FormatInt(pos, 10) {
		t.Errorf("notification %s %q, want events %d", n.Channel, n.Payload, pos)
	}

	// Optimistic concurrency: the same stream version again is refused.
	_, err = owner.Exec(ctx, `INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('order-42', 1, 'OrderPaid', '{}')`)
	if sqlState(err) != "23505" || !strings.Contains(err.Error(), "events_stream_version_key") {
		t.Errorf("second event at version 1: %v, want unique_violation on events_stream_version_key", err)
	}

	// Append-only, for the owner and for an editor who has the privileges.
	editor := d.as(t, d.editor)
	for _, conn := range []*pgx.Conn{owner, editor} {
		for _, stmt := range []string{
			`UPDATE events SET data = '{}'`,
			`DELETE FROM events`,
			`DELETE FROM events WHERE false`,
			`TRUNCATE events, snapshots`,
			`TRUNCATE events CASCADE`,
			`INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('order-42', 1, 'X', '{}') ON CONFLICT (stream_id, stream_version) DO UPDATE SET data = excluded.data`,
		} {
			_, err := conn.Exec(ctx, stmt)
			wantState := "23001"
			if strings.HasPrefix(stmt, "TRUNCATE") && conn == editor {
				wantState = "42501" // editors have no TRUNCATE privilege at all
			}
			if sqlState(err) != wantState {
				t.Errorf("%s as %s: %v, want SQLSTATE %s", stmt, conn.Config().User, err, wantState)
			}
		}
	}
	if n := count(t, owner, `SELECT count(*) FROM events WHERE data = '{"total": 12}'`); n != 1 {
		t.Errorf("events after refused changes: %d, want the 1 appended", n)
	}

	// The editor appends and moves a checkpoint; the reader only reads.
	mustExec(t, editor,
		`INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('order-42', 2, 'OrderPaid', '{}')`,
		`INSERT INTO projection_checkpoints (name, last_position) VALUES ('order_summary', 1)`,
		`UPDATE projection_checkpoints SET last_position = 2 WHERE name = 'order_summary'`,
		`INSERT INTO snapshots (stream_id, stream_version, state) VALUES ('order-42', 2, '{"paid": true}')`,
	)
	reader := d.as(t, d.reader)
	if n := count(t, reader, `SELECT count(*) FROM events`); n != 2 {
		t.Errorf("reader sees %d events, want 2", n)
	}
	if _, err := reader.Exec(ctx, `INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('r', 1, 'X', '{}')`); sqlState(err) != "42501" {
		t.Errorf("reader append: %v, want insufficient_privilege", err)
	}

	// A rerun finds the marker: no change, data kept, nothing re-run.
	again := apply(t, d, es)
	if again.Action != ActionNoChange || again.Message != "Schema template event-sourcing (v1) already applied" {
		t.Errorf("rerun: %+v", again)
	}
	if n := count(t, master, `SELECT count(*) FROM events`); n != 2 {
		t.Errorf("events after rerun: %d, want 2", n)
	}
	if n := count(t, master, `SELECT count(*) FROM rds_provision_schema WHERE template = 'event-sourcing' AND version = 1 AND file_name = '0001_init.sql' AND applied_by = $1`, d.owner); n != 1 {
		t.Errorf("marker rows: %d, want 1", n)
	}
}

// TestAppendsAreSerialised checks the lock that makes positions visible in
// order: an open appending transaction holds the advisory lock keyed by
// the events table's OID.
func TestAppendsAreSerialised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDatabase(t, "es_lock")
	apply(t, d, mustLookup(t, "event-sourcing"))
	writer, observer := d.as(t, d.owner), d.as(t, d.owner)
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('s', 1, 'X', '{}')`); err != nil {
		t.Fatal(err)
	}
	held := count(t, observer, `SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND pid = $1
   AND classid = 0 AND objid = 'public.events'::regclass::oid AND objsubid = 1`, writer.PgConn().PID())
	if held != 1 {
		t.Errorf("appending transaction holds %d append locks, want 1", held)
	}
}

func TestApplyBasicApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDatabase(t, "basic_app")
	if dec := apply(t, d, mustLookup(t, "basic-app")); dec.Action != ActionApply {
		t.Fatalf("apply: %+v", dec)
	}
	master := d.master(t)
	for _, o := range owners(t, master) {
		if !strings.HasSuffix(o, " "+d.owner) {
			t.Errorf("%s: want owner %s", o, d.owner)
		}
	}
	if missing := uncommented(t, master); len(missing) > 0 {
		t.Errorf("objects without COMMENT: %v", missing)
	}

	editor := d.as(t, d.editor)
	mustExec(t, editor,
		`INSERT INTO users (email, display_name, updated_at) VALUES ('Alice@Example.com', 'Alice', '2000-01-01')`,
		`INSERT INTO settings (key, value) VALUES ('features.signup', 'true')`,
		`INSERT INTO audit_log (actor, action, entity, entity_id, details) VALUES ('system', 'user.created', 'users', '1', '{"via": "test"}')`,
	)
	if _, err := editor.Exec(ctx, `INSERT INTO users (email, display_name) VALUES ('alice@example.COM', 'Other')`); sqlState(err) != "23505" {
		t.Errorf("same email in another case: %v, want unique_violation", err)
	}
	for _, bad := range []string{
		`INSERT INTO users (email, display_name) VALUES ('not-an-email', 'X')`,
		`INSERT INTO users (email, display_name) VALUES ('x@y.z', '  ')`,
		`INSERT INTO settings (key, value) VALUES (' padded', '1')`,
		`INSERT INTO audit_log (actor, action, entity, details) VALUES ('a', 'b', 'c', '[]')`,
	} {
		if _, err := editor.Exec(ctx, bad); sqlState(err) != "23514" {
			t.Errorf("%s: %v, want check_violation", bad, err)
		}
	}
	// updated_at moves on a change, by trigger.
	mustExec(t, editor, `UPDATE users SET display_name = 'Alice B.' WHERE lower(email) = 'alice@example.com'`)
	if n := count(t, editor, `SELECT count(*) FROM users WHERE updated_at > '2000-01-01' AND updated_at > created_at - interval '1 minute'`); n != 1 {
		t.Errorf("updated_at was not maintained")
	}
	reader := d.as(t, d.reader)
	if n := count(t, reader, `SELECT count(*) FROM users`); n != 1 {
		t.Errorf("reader sees %d users", n)
	}
	if _, err := reader.Exec(ctx, `UPDATE settings SET value = 'false'`); sqlState(err) != "42501" {
		t.Errorf("reader update: %v, want insufficient_privilege", err)
	}

	// Another template on the same database is a warning, nothing applied.
	other := apply(t, d, mustLookup(t, "event-sourcing"))
	if other.Action != ActionWarning || !strings.Contains(other.Message, "basic-app (v1)") {
		t.Errorf("event-sourcing after basic-app: %+v", other)
	}
	if n := count(t, master, `SELECT count(*) FROM pg_class WHERE relname = 'events'`); n != 0 {
		t.Error("events was created in a basic-app database")
	}
}

func TestApplyLeavesForeignDatabaseAlone(t *testing.T) {
	t.Parallel()
	d := newDatabase(t, "own_users")
	owner := d.as(t, d.owner)
	mustExec(t, owner,
		`CREATE TABLE users (id integer PRIMARY KEY, name text)`,
		`INSERT INTO users VALUES (1, 'kept')`,
	)
	before := owners(t, owner)
	dec := apply(t, d, mustLookup(t, "basic-app"))
	want := "Database already has users, which schema template basic-app would create, and no rds_provision_schema marker: template not applied, data untouched"
	if dec.Action != ActionWarning || dec.Message != want {
		t.Errorf("apply on a database with its own users: %+v", dec)
	}
	if diff := cmp.Diff(before, owners(t, owner)); diff != "" {
		t.Errorf("objects changed (-before +after):\n%s", diff)
	}
	if n := count(t, owner, `SELECT count(*) FROM users WHERE id = 1 AND name = 'kept'`); n != 1 {
		t.Error("the database's own users row is gone")
	}
	// Inspect and Decide say the same without writing: a dry run.
	tx, err := owner.BeginTx(context.Background(), pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	s, err := Inspect(context.Background(), tx, d.owner)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(State{Existing: []string{"users"}}, s); diff != "" {
		t.Errorf("Inspect (-want +got):\n%s", diff)
	}
	if got := Decide(mustLookup(t, "basic-app"), s); got.Message != want {
		t.Errorf("Decide on the inspected state: %+v", got)
	}
}

// TestApplyIsAtomic: a failing file leaves nothing behind, not even the
// files before it or the marker.
func TestApplyIsAtomic(t *testing.T) {
	t.Parallel()
	d := newDatabase(t, "atomic")
	broken := mustLookup(t, "event-sourcing")
	broken.Files = append(broken.Files, File{Version: 2, Name: "0002_broken.sql", SQL: "CREATE TABLE public.extra (id integer); SELECT 1/0;"})
	_, err := Apply(context.Background(), d.as(t, d.owner), broken, d.owner)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("Apply of a broken file: %v", err)
	}
	if got := owners(t, d.master(t)); len(got) != 0 {
		t.Errorf("left behind after a failed apply: %v", got)
	}
}

// TestApplyUpgrade: a grown template runs only its new files.
func TestApplyUpgrade(t *testing.T) {
	t.Parallel()
	d := newDatabase(t, "upgrade")
	es := mustLookup(t, "event-sourcing")
	apply(t, d, es)
	owner := d.as(t, d.owner)
	mustExec(t, owner, `INSERT INTO events (stream_id, stream_version, event_type, data) VALUES ('s', 1, 'X', '{}')`)
	v2 := es
	v2.Files = append(append([]File(nil), es.Files...), File{Version: 2, Name: "0002_extra.sql", SQL: "CREATE TABLE public.extra (id integer)", SHA256: "00"})
	dec := apply(t, d, v2)
	if dec.Action != ActionApply || dec.From != 1 || dec.To != 2 || len(dec.Files) != 1 {
		t.Fatalf("upgrade: %+v", dec)
	}
	if n := count(t, owner, `SELECT count(*) FROM events`); n != 1 {
		t.Errorf("events after upgrade: %d", n)
	}
	if n := count(t, owner, `SELECT count(*) FROM pg_tables WHERE tablename = 'extra' AND tableowner = $1`, d.owner); n != 1 {
		t.Error("the new file did not run as the owner")
	}
	if n := count(t, owner, `SELECT count(*) FROM rds_provision_schema`); n != 2 {
		t.Errorf("marker rows %d, want 2", n)
	}
}

// TestApplyConcurrent: of two runs at once, one applies the template and
// the other fails at once, naming the first as the holder of the lock.
func TestApplyConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDatabase(t, "concurrent")
	es := mustLookup(t, "event-sourcing")
	first, second := d.as(t, d.owner), d.as(t, d.owner)
	// The first holds the lock as Apply takes it, inside its transaction.
	tx, err := first.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+lockKeySQL+")"); err != nil {
		t.Fatal(err)
	}
	// Bounded so that an Apply that waits for the lock fails the test
	// instead of hanging it.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = Apply(wctx, second, es, d.owner)
	var held *LockHeldError
	if !errors.As(err, &held) || held.PID != int(first.PgConn().PID()) || held.Role != d.owner || held.Database != d.name {
		t.Fatalf("Apply while another session holds the lock: %v, want a LockHeldError naming pid %d", err, first.PgConn().PID())
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("held by role %s (pid %d", d.owner, first.PgConn().PID())) {
		t.Errorf("message %q does not name the holder", err)
	}
	if n := count(t, second, `SELECT count(*) FROM pg_class WHERE relname = 'events'`); n != 0 {
		t.Error("the refused Apply created tables")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if dec := apply(t, d, es); dec.Action != ActionApply {
		t.Errorf("Apply once the lock is free: %+v", dec)
	}
}
