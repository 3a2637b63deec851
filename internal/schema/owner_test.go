package schema

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

// TestApplyAndInspectNeedTheOwnersSession: the marker and the template's
// objects are the tenant's, so a session of any other role is refused,
// the master's included, and so is the master's session under SET ROLE
// (which a tenant's trigger undoes with RESET ROLE). Nothing is created.
func TestApplyAndInspectNeedTheOwnersSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDatabase(t, "not_owner")
	es := mustLookup(t, "event-sourcing")
	setRole := d.master(t)
	mustExec(t, setRole, "SET ROLE "+pgx.Identifier{d.owner}.Sanitize())
	for label, conn := range map[string]*pgx.Conn{"master": d.master(t), "master under SET ROLE": setRole, "editor": d.as(t, d.editor)} {
		if _, err := Apply(ctx, conn, es, d.owner); !errors.Is(err, ErrNotOwnerSession) {
			t.Errorf("Apply in the %s's session: %v, want ErrNotOwnerSession", label, err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Inspect(ctx, tx, d.owner); !errors.Is(err, ErrNotOwnerSession) {
			t.Errorf("Inspect in the %s's session: %v, want ErrNotOwnerSession", label, err)
		}
		tx.Rollback(ctx)
	}
	// The owner's own session under SET ROLE to a group it belongs to:
	// the objects would be the group's.
	group := d.name + "_group"
	mustExec(t, d.master(t), "CREATE ROLE "+group+" NOLOGIN", "GRANT "+group+" TO "+pgx.Identifier{d.owner}.Sanitize())
	t.Cleanup(func() {
		mustExec(t, d.connect(t, pg.MasterUser, pg.MasterPassword, pg.MasterDB), "DROP ROLE IF EXISTS "+group)
	})
	asGroup := d.as(t, d.owner)
	mustExec(t, asGroup, "SET ROLE "+group)
	if _, err := Apply(ctx, asGroup, es, d.owner); !errors.Is(err, ErrNotOwnerSession) {
		t.Errorf("Apply in the owner's session under SET ROLE %s: %v, want ErrNotOwnerSession", group, err)
	}
	if got := owners(t, d.master(t)); len(got) != 0 {
		t.Errorf("created by refused calls: %v", got)
	}
}

// TestMarkerIsTheOwnersToWrite: the owner's default privileges give the
// editor INSERT, UPDATE and DELETE on new tables; on the marker they are
// revoked as it is created, so no other role can add a row (a v99 row
// would make every later run demand an upgrade).
func TestMarkerIsTheOwnersToWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDatabase(t, "marker_acl")
	apply(t, d, mustLookup(t, "basic-app"))
	for _, role := range []string{d.editor, d.reader} {
		conn := d.as(t, role)
		if n := count(t, conn, "SELECT count(*) FROM rds_provision_schema"); n != 1 {
			t.Errorf("%s reads %d marker rows, want 1", role, n)
		}
		for _, stmt := range []string{
			"INSERT INTO rds_provision_schema (template, version, file_name, sha256) VALUES ('basic-app', 99, 'x', 'x')",
			"UPDATE rds_provision_schema SET version = 99",
			"DELETE FROM rds_provision_schema",
		} {
			if _, err := conn.Exec(ctx, stmt); sqlState(err) != "42501" {
				t.Errorf("%s: %s: %v, want insufficient_privilege", role, stmt, err)
			}
		}
	}
	// The editor keeps its level on the template's own tables.
	mustExec(t, d.as(t, d.editor), "INSERT INTO settings (key, value) VALUES ('k', '1')")
}

// TestMarkerTriggerRunsAsTheOwner: a trigger the tenant put on the marker
// runs RESET ROLE and then tries what only the master could; in the
// owner's session it stays the owner.
func TestMarkerTriggerRunsAsTheOwner(t *testing.T) {
	t.Parallel()
	d := newDatabase(t, "marker_trigger")
	mustExec(t, d.as(t, d.owner),
		`CREATE TABLE public.rds_provision_schema (template text NOT NULL, version integer NOT NULL, file_name text NOT NULL,
		   sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT session_user,
		   PRIMARY KEY (template, version))`,
		`CREATE TABLE public.seen (who text)`,
		`CREATE FUNCTION public.reset_and_grab() RETURNS trigger LANGUAGE plpgsql AS $f$
		 BEGIN
		   RESET ROLE;
		   INSERT INTO public.seen VALUES (session_user || ' ' || current_user);
		   BEGIN EXECUTE 'GRANT pg_read_all_data TO `+pgx.Identifier{d.owner}.Sanitize()+`'; EXCEPTION WHEN OTHERS THEN NULL; END;
		   RETURN NEW;
		 END $f$`,
		`CREATE TRIGGER reset_and_grab BEFORE INSERT ON public.rds_provision_schema FOR EACH ROW EXECUTE FUNCTION public.reset_and_grab()`,
	)
	if dec := apply(t, d, mustLookup(t, "basic-app")); dec.Action != ActionApply {
		t.Fatalf("apply: %+v", dec)
	}
	master := d.master(t)
	if n := count(t, master, "SELECT count(*) FROM seen WHERE who = $1", d.owner+" "+d.owner); n != 1 {
		t.Errorf("the trigger ran %d times as the owner, want once", n)
	}
	if n := count(t, master, "SELECT count(*) FROM seen WHERE who <> $1", d.owner+" "+d.owner); n != 0 {
		t.Errorf("the trigger ran %d times as another role", n)
	}
	if n := count(t, master, "SELECT count(*) FROM pg_roles WHERE pg_has_role($1, oid, 'MEMBER') AND rolname = 'pg_read_all_data'", d.owner); n != 0 {
		t.Error("the trigger granted itself pg_read_all_data")
	}
}

// TestQueriesNamePgCatalog: every function, operator and type of the
// package's own SQL is named in pg_catalog.
func TestQueriesNamePgCatalog(t *testing.T) {
	for name, sql := range map[string]string{
		"existingSQL": existingSQL, "tryLockSQL": tryLockSQL, "lockHolderSQL": lockHolderSQL, "restrictMarkerSQL": restrictMarkerSQL,
	} {
		if got := testenv.Unqualified(sql); len(got) > 0 {
			t.Errorf("%s resolves by the search path: %v", name, got)
		}
	}
}
