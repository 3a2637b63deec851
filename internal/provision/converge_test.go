package provision

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// statementLog records every statement a run sends, through pgx's tracer.
type statementLog struct {
	mu   sync.Mutex
	sqls []string
	// batches holds the statements of each batch sent.
	batches [][]string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(data.SQL, ";\n") {
		l.sqls = append(l.sqls, strings.TrimSpace(s))
	}
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// The batch methods log a batch's statements, and count the batches.
func (l *statementLog) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sqls []string
	for _, q := range data.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	l.batches = append(l.batches, sqls)
	return ctx
}

func (l *statementLog) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sqls = append(l.sqls, strings.TrimSpace(data.SQL))
}

func (l *statementLog) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// changes lists the statements that change privileges or create objects.
func (l *statementLog) changes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.sqls {
		if ddl.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

var ddl = regexp.MustCompile(`(?i)^\s*(GRANT|REVOKE|CREATE|ALTER DEFAULT|ALTER DATABASE|DROP)\b`)

// as runs sql as user and returns its error.
func as(t *testing.T, user, password, db, sql string) error {
	t.Helper()
	conn, err := login(user, password, db)
	if err != nil {
		t.Fatalf("%s cannot log in to %s: %v", user, db, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql)
	return err
}

func mustRun(t *testing.T, f *fixture, mutate ...func(*Options)) outcome {
	t.Helper()
	out := f.run(mutate...)
	if out.err != nil {
		t.Fatalf("run: %v\n%s", out.err, out.log)
	}
	return out
}

// can asserts which statements a role may run.
func can(t *testing.T, who app, want map[string]bool) {
	t.Helper()
	for sql, ok := range want {
		err := as(t, who.user, who.password, who.db, sql)
		if (err == nil) != ok {
			t.Errorf("%s: %s: err = %v, want allowed=%v", who.user, sql, err, ok)
		}
	}
}

func TestAccessLevelTransitionsBothWays(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "transit")
	owner := app{key: "tr_owner", db: "tr_db", user: "tr_owner_user", password: "pw-o"}
	x := app{key: "tr_x", db: "tr_db", user: "tr_x_user", password: "pw-x", access: "editor"}
	f.seedApps(owner, x)
	mustRun(t, f)
	// Tables the owner creates after provisioning: default privileges.
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE t1 (id serial PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	can(t, x, map[string]bool{"INSERT INTO t1 (v) VALUES ('editor')": true, "SELECT nextval('t1_id_seq')": true})

	t.Run("editor to reader", func(t *testing.T) {
		x.access = "reader"
		f.writeTfvars(owner, x)
		out := mustRun(t, f)
		if diff := cmp.Diff([]string{"create_role:no_change", "create_database:no_change", "apply_grants:success"}, out.statuses(x.user)); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		want := "Converged tr_x_user to reader on tr_db: revoked INSERT, UPDATE, DELETE on 1 table, USAGE on 1 sequence, INSERT, UPDATE, DELETE on future tables, USAGE on future sequences"
		if got := out.message(x.user, "apply_grants"); got != want {
			t.Errorf("message = %q\nwant      %q", got, want)
		}
		if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE t2 (id serial PRIMARY KEY, v text)"); err != nil {
			t.Fatal(err)
		}
		can(t, x, map[string]bool{
			"SELECT count(*) FROM t1":               true,
			"SELECT count(*) FROM t2":               true,
			"INSERT INTO t1 (v) VALUES ('reader')":  false,
			"DELETE FROM t1":                        false,
			"INSERT INTO t2 (v) VALUES ('reader')":  false,
			"SELECT nextval('t1_id_seq')":           false,
			"SELECT nextval('t2_id_seq')":           false,
			"SELECT last_value FROM t2_id_seq":      true,
			"CREATE TABLE reader_made (id integer)": false,
			"UPDATE t2 SET v = 'x' WHERE id = 1":    false,
		})
		again := mustRun(t, f)
		if got := again.statuses(x.user); !cmp.Equal(got, []string{"create_role:no_change", "create_database:no_change", "apply_grants:no_change"}) {
			t.Errorf("rerun rows = %v, want no_change", got)
		}
	})

	t.Run("reader to editor", func(t *testing.T) {
		x.access = "editor"
		f.writeTfvars(owner, x)
		out := mustRun(t, f)
		want := "Converged tr_x_user to editor on tr_db: granted INSERT, UPDATE, DELETE on 2 tables, USAGE on 2 sequences, INSERT, UPDATE, DELETE on future tables, USAGE on future sequences"
		if got := out.message(x.user, "apply_grants"); got != want {
			t.Errorf("message = %q\nwant      %q", got, want)
		}
		if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE t3 (id serial PRIMARY KEY, v text)"); err != nil {
			t.Fatal(err)
		}
		can(t, x, map[string]bool{
			"INSERT INTO t1 (v) VALUES ('editor')": true,
			"INSERT INTO t2 (v) VALUES ('editor')": true,
			"INSERT INTO t3 (v) VALUES ('editor')": true,
			"TRUNCATE t1":                          false,
			"CREATE TABLE editor_made (id int)":    false,
		})
	})

	t.Run("owner entry set to reader is refused before any change", func(t *testing.T) {
		// An owner cannot be demoted (its role owns the database), and
		// without an owner entry the database is not the file's to share.
		o := owner
		o.access = "reader"
		f.writeTfvars(o, x)
		out := f.run()
		if out.err == nil || !strings.Contains(out.err.Error(), "access_level reader on database tr_db, which no owner entry of application_databases lists") {
			t.Errorf("err = %v", out.err)
		}
		if len(out.res.Rows) != 0 {
			t.Errorf("rows = %+v, want none: refused before any I/O", out.res.Rows)
		}
	})

	t.Run("ownership moved: editor to owner, owner to editor", func(t *testing.T) {
		// The runbook's remedy, run by a person: the database changes hands.
		adminExec(t, "ALTER DATABASE tr_db OWNER TO tr_x_user")
		newOwner, oldOwner := x, owner
		newOwner.access, oldOwner.access = "", "editor"
		f.writeTfvars(newOwner, oldOwner)
		out := mustRun(t, f)
		for _, u := range []string{newOwner.user, oldOwner.user} {
			if got := out.statuses(u); !cmp.Equal(got, []string{"create_role:no_change", "create_database:no_change", "apply_grants:success"}) {
				t.Errorf("%s rows = %v\n%s", u, got, out.log)
			}
		}
		can(t, newOwner, map[string]bool{"TRUNCATE t1": true, "CREATE TABLE owner_made (id int)": true})
		can(t, oldOwner, map[string]bool{"CREATE TABLE editor_made (id int)": false, "INSERT INTO owner_made VALUES (1)": true})
		again := mustRun(t, f)
		for _, u := range []string{newOwner.user, oldOwner.user} {
			if got := again.statuses(u); !cmp.Equal(got, []string{"create_role:no_change", "create_database:no_change", "apply_grants:no_change"}) {
				t.Errorf("%s rerun rows = %v\n%s", u, got, again.log)
			}
		}
	})
}

func TestConvergedRerunSendsOnlyThePasswordAlter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "stmtlog")
	owner := app{key: "sl_owner", db: "sl_db", user: "sl_owner_user", password: "pw-o"}
	f.seedApps(owner,
		app{key: "sl_ed", db: "sl_db", user: "sl_ed_user", password: "pw-e", access: "editor"},
		app{key: "sl_rd", db: "sl_db", user: "sl_rd_user", password: "pw-r", access: "reader"})
	mustRun(t, f)
	if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE items (id serial PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, f) // no-op for the grants: default privileges covered the table

	log := &statementLog{}
	out := mustRun(t, f, func(o *Options) { o.Tracer = log })
	if got := log.changes(); len(got) != 0 {
		t.Errorf("a converged rerun sent:\n%s", strings.Join(got, "\n"))
	}
	var alters int
	for _, s := range log.sqls {
		if strings.HasPrefix(s, "ALTER ROLE") {
			alters++
		}
	}
	if alters != 3 {
		t.Errorf("ALTER ROLE statements = %d, want one per role (3)", alters)
	}
	// All of them in one batch: one round trip on the master's session.
	var batched int
	for _, b := range log.batches {
		var n int
		for _, s := range b {
			if strings.HasPrefix(s, "ALTER ROLE") {
				n++
			}
		}
		if n > 0 && n != len(b) {
			t.Errorf("a batch mixes ALTER ROLE with other statements: %q", b)
		}
		if n > 0 {
			batched++
		}
	}
	if batched != 1 {
		t.Errorf("the ALTER ROLE statements went in %d batches, want 1: %q", batched, log.batches)
	}
	for _, r := range out.res.Rows {
		if r.Status != audit.NoChange {
			t.Errorf("converged rerun row: %+v", r)
		}
	}
}

var verifierRe = regexp.MustCompile(`SCRAM-SHA-256\$[^']*`)

// comparable drops what differs between two plans by design: the SCRAM
// salt, and the wording of the dry run.
func comparable(steps []Step) []planned {
	out := summarise(steps)
	for i := range out {
		for j, s := range out[i].SQL {
			out[i].SQL[j] = verifierRe.ReplaceAllString(s, "<verifier>")
		}
	}
	return out
}

func TestDryRunReportsTheStepsTheRealRunExecutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dryeq")
	owner := app{key: "de_owner", db: "de_db", user: "de_owner_user", password: "pw-o"}
	ed := app{key: "de_ed", db: "de_db", user: "de_ed_user", password: "pw-e", access: "editor"}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"empty instance", func(t *testing.T) { f.seedApps(owner, ed) }},
		{"converged", func(t *testing.T) {}},
		{"owner made tables", func(t *testing.T) {
			if err := as(t, owner.user, owner.password, owner.db, "CREATE TABLE a (id serial PRIMARY KEY); CREATE TABLE b (id int)"); err != nil {
				t.Fatal(err)
			}
		}},
		{"editor to reader", func(t *testing.T) {
			ed.access = "reader"
			f.writeTfvars(owner, ed)
		}},
		{"someone granted extra", func(t *testing.T) {
			if err := as(t, owner.user, owner.password, owner.db, "GRANT TRUNCATE ON a TO de_ed_user; GRANT CREATE ON SCHEMA public TO de_ed_user"); err != nil {
				t.Fatal(err)
			}
		}},
		{"new entry on a database with another owner", func(t *testing.T) {
			adminExec(t, "CREATE DATABASE de_foreign_db OWNER postgres")
			pg.DropOnCleanup(t, []string{"de_foreign_db"}, nil)
			f.seedApps(owner, ed, app{key: "de_foreign", db: "de_foreign_db", user: "de_foreign_user", password: "pw-f"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			dry := mustRun(t, f, func(o *Options) { o.DryRun = true })
			dry2 := mustRun(t, f, func(o *Options) { o.DryRun = true })
			if diff := cmp.Diff(comparable(dry.res.Steps), comparable(dry2.res.Steps)); diff != "" {
				t.Fatalf("the dry run changed the instance (-first +second):\n%s", diff)
			}
			real := mustRun(t, f)
			if diff := cmp.Diff(comparable(dry.res.Steps), comparable(real.res.Steps)); diff != "" {
				t.Errorf("dry run plan vs executed plan (-dry +real):\n%s", diff)
			}
			// Row by row: dry_run where the real run succeeded, else the same.
			if len(dry.res.Rows) != len(real.res.Rows) {
				t.Fatalf("rows: dry %d, real %d\n%s\n%s", len(dry.res.Rows), len(real.res.Rows), dry.log, real.log)
			}
			for i, d := range dry.res.Rows {
				r := real.res.Rows[i]
				want := r.Status
				if want == audit.Success {
					want = audit.DryRun
				}
				if d.Action != r.Action || d.Status != want || d.Username != r.Username {
					t.Errorf("row %d: dry %s %s %s, real %s %s %s", i, d.Username, d.Action, d.Status, r.Username, r.Action, r.Status)
				}
			}
		})
	}
}

func TestInitialSchemaIsPlannedAppliedOnceAndGrantsItsTables(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "schema")
	owner := app{key: "sc_owner", db: "sc_db", user: "sc_owner_user", password: "pw-o", schema: "basic-app"}
	ed := app{key: "sc_ed", db: "sc_db", user: "sc_ed_user", password: "pw-e", access: "editor"}
	rd := app{key: "sc_rd", db: "sc_db", user: "sc_rd_user", password: "pw-r", access: "reader"}
	f.seedApps(owner, ed, rd)

	dry := mustRun(t, f, dryRun)
	if !strings.Contains(dry.log, "[DRY-RUN] Would apply schema template basic-app (v1) to sc_db\n") {
		t.Errorf("dry run lacks the template line:\n%s", dry.log)
	}
	real := mustRun(t, f)
	if diff := cmp.Diff(comparable(dry.res.Steps), comparable(real.res.Steps)); diff != "" {
		t.Errorf("dry run plan vs executed plan (-dry +real):\n%s", diff)
	}
	if got := real.message(owner.user, "apply_schema"); got != "Applied schema template basic-app (v1) to sc_db" {
		t.Errorf("apply_schema = %q\n%s", got, real.log)
	}
	// The template ran after the editor's and reader's default privileges,
	// so its tables carry their levels from the first run.
	can(t, ed, map[string]bool{"INSERT INTO users (email, display_name) VALUES ('a@example.com', 'A')": true})
	can(t, rd, map[string]bool{"SELECT count(*) FROM users": true, "DELETE FROM users": false})

	log := &statementLog{}
	again := mustRun(t, f, func(o *Options) { o.Tracer = log })
	if got := again.message(owner.user, "apply_schema"); !strings.Contains(got, "already applied") {
		t.Errorf("rerun apply_schema = %q", got)
	}
	if got := log.changes(); len(got) != 0 {
		t.Errorf("a converged rerun with a template sent:\n%s", strings.Join(got, "\n"))
	}
}
