package provision

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSessionSettingsValues(t *testing.T) {
	for _, tc := range []struct {
		name      string
		statement time.Duration
		readOnly  bool
		major     int
		want      map[string]string // a subset
		absent    []string
	}{
		{"apply on 15", 5 * time.Minute, false, 15,
			map[string]string{"search_path": "pg_catalog, pg_temp", "role": "none", "statement_timeout": "300000", "lock_timeout": "30000",
				"idle_in_transaction_session_timeout": "300000", "default_transaction_read_only": "off", "local_preload_libraries": ""},
			[]string{"transaction_timeout"}},
		{"dry run on 17", 5 * time.Minute, true, 17,
			map[string]string{"default_transaction_read_only": "on", "transaction_timeout": "0"}, nil},
		{"version not known yet", time.Minute, false, 0, map[string]string{}, []string{"transaction_timeout"}},
		{"a short --statement-timeout bounds lock waits too", 3 * time.Second, false, 18,
			map[string]string{"statement_timeout": "3000", "lock_timeout": "3000"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sessionSettings(tc.statement, sessionLockTimeout, tc.readOnly, tc.major)
			for k, v := range tc.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %q (set %v), want %q", k, g, ok, v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s is set: an unknown parameter refuses the session before PostgreSQL 17", k)
				}
			}
		})
	}
	for v, want := range map[string]int{"15.8": 15, "18.1 (Debian 18.1-1.pgdg13+2)": 18, "18beta1": 18, "": 0, "x": 0} {
		if got := serverMajor(v); got != want {
			t.Errorf("serverMajor(%q) = %d, want %d", v, got, want)
		}
	}
}

// TestSessionsIgnoreTheTenantsSettings connects, as the master and as the
// tenant, to a database whose owner set everything it can on it and on its
// own role: the startup packet's values win in both sessions.
func TestSessionsIgnoreTheTenantsSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	adminExec(t, "CREATE ROLE iso_sess_owner LOGIN PASSWORD 'pw-sess'")
	adminExec(t, "GRANT iso_sess_owner TO "+ident(masterUser))
	adminExec(t, "CREATE DATABASE iso_sess_db OWNER iso_sess_owner")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS iso_sess_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS iso_sess_owner")
	})
	var plant []string
	for _, target := range []string{"DATABASE iso_sess_db", "ROLE iso_sess_owner"} {
		plant = append(plant, hostileSettings(target)...)
	}
	plant = append(plant, "ALTER DATABASE iso_sess_db SET role = 'iso_sess_owner'")
	var version int
	if err := adminConn(t, "postgres").QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version >= 170000 {
		plant = append(plant, "ALTER DATABASE iso_sess_db SET transaction_timeout = 1", "ALTER ROLE iso_sess_owner SET transaction_timeout = 1")
	}
	// One session: the role's settings would refuse the next.
	if err := as(t, "iso_sess_owner", "pw-sess", pg.MasterDB, strings.Join(plant, ";\n")); err != nil {
		t.Fatal(err)
	}
	r := &run{opts: Options{SSLMode: "disable", StatementTimeout: time.Minute, LockTimeout: time.Minute, lockWait: sessionLockTimeout}, master: pgMaster(t)}
	// The first session learns the server's version (transaction_timeout).
	first, err := r.connect(ctx, pg.MasterDB)
	if err != nil {
		t.Fatal(err)
	}
	first.Close(ctx)
	master, err := r.connect(ctx, "iso_sess_db")
	if err != nil {
		t.Fatalf("the master's session into the tenant's database: %v", err)
	}
	defer master.Close(ctx)
	owner, err := r.connectAs(ctx, "iso_sess_db", "iso_sess_owner", "pw-sess")
	if err != nil {
		t.Fatalf("the owner's session: %v", err)
	}
	defer owner.Close(ctx)
	want := map[string]string{
		"search_path": "pg_catalog, pg_temp", "statement_timeout": "1min", "lock_timeout": "30s",
		"idle_in_transaction_session_timeout": "1min", "idle_session_timeout": "0",
		"default_transaction_read_only": "off", "default_transaction_isolation": "read committed",
		"default_transaction_deferrable": "off", "exit_on_error": "off", "local_preload_libraries": "",
		"standard_conforming_strings": "on", "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
	}
	for session, c := range map[string]string{masterUser: "master", "iso_sess_owner": "owner"} {
		conn := master
		if c == "owner" {
			conn = owner
		}
		got := map[string]string{}
		for k := range want {
			var v string
			if err := conn.QueryRow(ctx, "SELECT pg_catalog.current_setting($1)", k).Scan(&v); err != nil {
				t.Fatalf("%s session: %s: %v", c, k, err)
			}
			got[k] = v
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s session settings (-want +got):\n%s", c, diff)
		}
		var current, sessionUser string
		if err := conn.QueryRow(ctx, "SELECT CURRENT_USER::text, SESSION_USER::text").Scan(&current, &sessionUser); err != nil {
			t.Fatal(err)
		}
		if current != session || sessionUser != session {
			t.Errorf("%s session runs as %s (session user %s), want %s", c, current, sessionUser, session)
		}
		if version >= 170000 {
			var tt string
			conn.QueryRow(ctx, "SELECT pg_catalog.current_setting('transaction_timeout')").Scan(&tt)
			if tt != "0" {
				t.Errorf("%s session: transaction_timeout = %s, want 0", c, tt)
			}
		}
	}
}
