package provision

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

func TestFirstRunCreatesThenSecondChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "first")
	f.seedApps(app{key: "first_app", db: "first_db", user: "first_user", password: "first-pw-1"})

	first := f.run()
	if first.err != nil {
		t.Fatalf("first run: %v\n%s", first.err, first.log)
	}
	want := []string{"create_role:success", "create_database:success", "apply_grants:success"}
	if diff := cmp.Diff(want, first.statuses("first_user")); diff != "" {
		t.Fatalf("first run rows (-want +got):\n%s\n%s", diff, first.log)
	}

	conn, err := login("first_user", "first-pw-1", "first_db")
	if err != nil {
		t.Fatalf("app user cannot log in with its Secrets Manager password: %v", err)
	}
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE TABLE items (id serial PRIMARY KEY, name text)",
		"INSERT INTO items (name) VALUES ('a')",
		"CREATE DATABASE first_db_plugin", // Backstage-style plugin database
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("app user: %s: %v", sql, err)
		}
	}
	conn.Close(ctx)

	second := f.run()
	if second.err != nil {
		t.Fatalf("second run: %v\n%s", second.err, second.log)
	}
	want = []string{"create_role:no_change", "create_database:no_change", "apply_grants:no_change"}
	if diff := cmp.Diff(want, second.statuses("first_user")); diff != "" {
		t.Fatalf("second run rows (-want +got):\n%s\n%s", diff, second.log)
	}
	if got := second.message("first_user", "create_role"); got != "Password updated for existing role: first_user" {
		t.Errorf("role message = %q", got)
	}
	if !strings.HasPrefix(second.csv, strings.Join(audit.Header, ",")+"\n") || strings.Count(second.csv, "\n") != 4 {
		t.Errorf("CSV is not the header and three rows:\n%s", second.csv)
	}
}

func TestPasswordChangeInSecretsManagerIsApplied(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "rotate")
	f.seedApps(app{key: "rotate_app", db: "rotate_db", user: "rotate_user", password: "old-password"})
	if out := f.run(); out.err != nil {
		t.Fatalf("first run: %v\n%s", out.err, out.log)
	}
	f.putSecret(f.appSecret("rotate_app"), map[string]any{"password": "new-password"})
	if out := f.run(); out.err != nil {
		t.Fatalf("second run: %v\n%s", out.err, out.log)
	}
	if _, err := login("rotate_user", "old-password", "rotate_db"); err == nil {
		t.Error("old password still works")
	}
	conn, err := login("rotate_user", "new-password", "rotate_db")
	if err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	conn.Close(context.Background())
}

func TestDatabaseWithOtherOwnerIsAWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "owner")
	adminExec(t, "CREATE DATABASE owner_db OWNER postgres")
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS owner_db") })
	f.seedApps(app{key: "owner_app", db: "owner_db", user: "owner_user", password: "pw"})
	out := f.run()
	if out.err != nil {
		t.Fatalf("a warning must not fail the run: %v\n%s", out.err, out.log)
	}
	want := "Database owner_db exists but owner is postgres, expected owner_user"
	if got := out.message("owner_user", "create_database"); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if !strings.Contains(out.log, "[WARNING] "+want) {
		t.Errorf("log lacks the runbook's warning line:\n%s", out.log)
	}
}

func TestMissingSecretFailsFast(t *testing.T) {
	t.Parallel()
	apps := []app{
		{key: "ff_one", db: "ff_one_db", user: "ff_one_user", password: "pw1"},
		{key: "ff_two", db: "ff_two_db", user: "ff_two_user"}, // no secret
		{key: "ff_three", db: "ff_three_db", user: "ff_three_user", password: "pw3"},
	}
	t.Run("fail-fast", func(t *testing.T) {
		f := newFixture(t, "failfast")
		f.seedApps(apps...)
		out := f.run()
		if !errors.Is(out.err, ErrActionsFailed) {
			t.Fatalf("err = %v, want ErrActionsFailed", out.err)
		}
		want := "Secret not found: goldenpath/failfast/ff_two/postgres"
		if got := out.message("ff_two_user", "fetch_secret"); !strings.HasPrefix(got, want) {
			t.Errorf("message = %q, want prefix %q", got, want)
		}
		if got := out.statuses("ff_three_user"); len(got) != 0 {
			t.Errorf("fail-fast went on to the next entry: %v", got)
		}
		if roleExists(t, "ff_three_user") {
			t.Error("role of a later entry was created")
		}
	})
	t.Run("no-fail-fast", func(t *testing.T) {
		f := newFixture(t, "nofailfast")
		apps := append([]app(nil), apps...)
		for i := range apps {
			apps[i].key += "_n"
			apps[i].db += "_n"
			apps[i].user += "_n"
		}
		f.seedApps(apps...)
		out := f.run(func(o *Options) { o.NoFailFast = true })
		if !errors.Is(out.err, ErrActionsFailed) {
			t.Fatalf("err = %v, want ErrActionsFailed", out.err)
		}
		if got := out.statuses("ff_three_user_n"); len(got) != 3 {
			t.Errorf("later entry rows = %v, want three", got)
		}
	})
}

func roleExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	err := adminConn(t, "postgres").QueryRow(context.Background(), "SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	err := adminConn(t, "postgres").QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestPrivilegedAndForeignRolesAreRefused(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE priv_super LOGIN SUPERUSER PASSWORD 'super-pw'")
	adminExec(t, "CREATE ROLE priv_creator LOGIN CREATEROLE PASSWORD 'creator-pw'")
	adminExec(t, "CREATE ROLE priv_member LOGIN PASSWORD 'member-pw' IN ROLE rds_superuser")
	adminExec(t, "CREATE ROLE priv_monitor LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor")
	adminExec(t, "CREATE ROLE priv_group NOLOGIN")
	adminExec(t, "CREATE ROLE priv_other LOGIN PASSWORD 'other-pw'")
	adminExec(t, "CREATE DATABASE priv_other_db OWNER priv_other")
	adminExec(t, "CREATE ROLE priv_tenant LOGIN PASSWORD 'tenant-pw'")
	// Members of another application's login, directly or through a group.
	adminExec(t, "CREATE ROLE priv_sneaky LOGIN PASSWORD 'sneaky-pw' IN ROLE priv_other")
	adminExec(t, "CREATE ROLE priv_grp NOLOGIN IN ROLE priv_other")
	adminExec(t, "CREATE ROLE priv_sneaky2 LOGIN PASSWORD 'sneaky-pw' IN ROLE priv_grp")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS priv_other_db")
		adminExec(t, "DROP ROLE IF EXISTS priv_sneaky, priv_sneaky2, priv_grp, priv_super, priv_creator, priv_member, priv_monitor, priv_group, priv_other, priv_tenant")
	})

	for _, tc := range []struct {
		user, want string
	}{
		{masterUser, "it is the RDS master user"},
		{"rds_superuser", `uses a reserved prefix`},
		{"pg_monitor", `uses a reserved prefix`},
		{"postgres", `"postgres" is reserved`},
		{"priv_super", "it is a superuser"},
		{"priv_creator", "it has CREATEROLE"},
		{"priv_member", "member of the privileged role rds_superuser"},
		{"priv_monitor", "member of the privileged role pg_monitor"},
		{"priv_sneaky", "it is a member of role priv_other, which can log in or owns a database"},
		{"priv_sneaky2", "it is a member of role priv_other, which can log in or owns a database"},
		{"priv_group", "NOLOGIN group role"},
		{"priv_other", "it owns database priv_other_db, which application_databases gives to priv_tenant"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			f := newFixture(t, "priv-"+strings.ReplaceAll(tc.user, "_", "-"))
			// The tfvars give priv_other_db to priv_tenant; the request's
			// entry names that database's owner as its own username.
			f.seedApps(app{key: "victim", db: "priv_target_db", user: tc.user, password: "attacker-pw"},
				app{key: "tenant", db: "priv_other_db", user: "priv_tenant"})
			out := f.run()
			if !errors.Is(out.err, ErrActionsFailed) {
				t.Fatalf("err = %v, want ErrActionsFailed\n%s", out.err, out.log)
			}
			var msgs []string
			for _, r := range out.res.Rows {
				if r.Username != tc.user {
					continue
				}
				if r.Status != audit.Error {
					t.Errorf("unexpected %s row: %+v", r.Status, r)
				}
				msgs = append(msgs, r.Message)
			}
			if len(msgs) != 1 || !strings.Contains(msgs[0], "Refusing to manage role "+tc.user) || !strings.Contains(msgs[0], tc.want) {
				t.Errorf("rows = %q, want one refusal containing %q", msgs, tc.want)
			}
			if tc.user != "postgres" && !strings.HasPrefix(tc.user, "rds_") && !strings.HasPrefix(tc.user, "pg_") {
				if conn, err := login(tc.user, "attacker-pw", "postgres"); err == nil {
					conn.Close(context.Background())
					t.Error("the request's password now logs in as the protected role")
				}
			}
		})
	}
	// The master and the superuser keep their passwords and powers.
	conn, err := login(masterUser, pg.MasterPassword, "postgres")
	if err != nil {
		t.Fatalf("master password changed: %v", err)
	}
	conn.Close(context.Background())
	var super bool
	adminConn(t, "postgres").QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = 'priv_super'").Scan(&super)
	if !super {
		t.Error("priv_super lost SUPERUSER")
	}
}

func TestPlainExistingLoginRoleIsAdopted(t *testing.T) {
	t.Parallel()
	adminExec(t, "CREATE ROLE adopt_user LOGIN PASSWORD 'before'")
	// As on RDS, where the master made the role: PostgreSQL 16+ then gives
	// it ADMIN OPTION, without which it may not alter the role.
	adminExec(t, "GRANT adopt_user TO platform_admin WITH ADMIN OPTION")
	t.Cleanup(func() {
		adminExec(t, "DROP DATABASE IF EXISTS adopt_db WITH (FORCE)")
		adminExec(t, "DROP ROLE IF EXISTS adopt_user")
	})
	f := newFixture(t, "adopt")
	f.seedApps(app{key: "adopt_app", db: "adopt_db", user: "adopt_user", password: "after"})
	out := f.run()
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	// Adopting a role made elsewhere is a change (issue 15), not no_change.
	if diff := cmp.Diff([]string{"create_role:success", "create_database:success", "apply_grants:success"}, out.statuses("adopt_user")); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got, want := out.message("adopt_user", "create_role"), "Adopted existing role adopt_user: its password is now set from goldenpath/adopt/adopt_app/postgres"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	conn, err := login("adopt_user", "after", "adopt_db")
	if err != nil {
		t.Fatalf("adopted role cannot log in with the secret's password: %v", err)
	}
	conn.Close(context.Background())
}

func TestTenantsCannotConnectToEachOther(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tenants")
	f.seedApps(
		app{key: "tenant_a", db: "tenant_a_db", user: "tenant_a_user", password: "pw-a"},
		app{key: "tenant_b", db: "tenant_b_db", user: "tenant_b_user", password: "pw-b"},
	)
	if out := f.run(); out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	_, err := login("tenant_a_user", "pw-a", "tenant_b_db")
	if err == nil || !strings.Contains(err.Error(), "permission denied for database") {
		t.Fatalf("user A connecting to B's database: err = %v, want permission denied", err)
	}
}

func TestAccessLevels(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "levels")
	f.seedApps(
		app{key: "lv_owner", db: "lv_db", user: "lv_owner_user", password: "pw-o"},
		app{key: "lv_editor", db: "lv_db", user: "lv_editor_user", password: "pw-e", access: "editor"},
		app{key: "lv_reader", db: "lv_db", user: "lv_reader_user", password: "pw-r", access: "reader"},
	)
	if out := f.run(); out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	ctx := context.Background()
	owner, err := login("lv_owner_user", "pw-o", "lv_db")
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "CREATE TABLE things (id serial PRIMARY KEY, v text); INSERT INTO things (v) VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, password, sql string
		ok                  bool
	}{
		{"lv_editor_user", "pw-e", "INSERT INTO things (v) VALUES ('y')", true},
		{"lv_editor_user", "pw-e", "CREATE TABLE nope (id int)", false},
		{"lv_reader_user", "pw-r", "SELECT count(*) FROM things", true},
		{"lv_reader_user", "pw-r", "INSERT INTO things (v) VALUES ('z')", false},
	} {
		t.Run(tc.user+"/"+tc.sql, func(t *testing.T) {
			conn, err := login(tc.user, tc.password, "lv_db")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, tc.sql)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestConcurrentRunsSerialise(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "concurrent")
	f.seedApps(
		app{key: "cc_one", db: "cc_one_db", user: "cc_one_user", password: "pw1"},
		app{key: "cc_two", db: "cc_two_db", user: "cc_two_user", password: "pw2"},
	)
	outs := make([]outcome, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = runWith(t, f.options())
		}()
	}
	wg.Wait()
	created := map[string]int{}
	for i, out := range outs {
		if out.err != nil {
			t.Fatalf("run %d: %v\n%s", i, out.err, out.log)
		}
		for _, r := range out.res.Rows {
			if r.Status == audit.Success && r.Action != audit.ActionApplyGrants {
				created[r.Action+" "+r.Username]++
			}
		}
	}
	want := map[string]int{
		"create_role cc_one_user": 1, "create_database cc_one_user": 1,
		"create_role cc_two_user": 1, "create_database cc_two_user": 1,
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("objects created (-want +got):\n%s", diff)
	}
}

func TestPlaintextPasswordNeverReachesServerLog(t *testing.T) {
	t.Parallel()
	const password = "Plaintext-Must-Not-Leak-7f3a"
	f := newFixture(t, "leak")
	f.seedApps(app{key: "leak_app", db: "leak_db", user: "leak_user", password: password})
	out := f.run()
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	f.run() // the ALTER ROLE path too
	serverLog, err := pg.ServerLog()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(serverLog, `CREATE ROLE "leak_user"`) {
		t.Fatal("log_statement = all is not logging statements; the check below would prove nothing")
	}
	if strings.Contains(serverLog, password) {
		t.Error("the plaintext password is in the PostgreSQL server log")
	}
	for _, where := range []string{out.csv, out.log} {
		if strings.Contains(where, password) || strings.Contains(where, pg.MasterPassword) {
			t.Error("a secret is in the CSV or the log")
		}
	}
	if !contains(out.masked, password) || !contains(out.masked, pg.MasterPassword) {
		t.Errorf("secrets were not masked: %d values masked", len(out.masked))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestDryRunPrintsTheRunbookLinesAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "dryrun")
	f.seedApps(app{key: "keycloak", db: "dry_keycloak", user: "dry_keycloak_user", password: "pw"})
	out := f.run(func(o *Options) { o.DryRun = true })
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	want := "[DRY-RUN] Would create/update role: dry_keycloak_user\n" +
		"[DRY-RUN] Would create database: dry_keycloak with owner dry_keycloak_user\n" +
		"[DRY-RUN] Would grant ALL on dry_keycloak to dry_keycloak_user\n"
	if !strings.Contains(out.log, want) {
		t.Errorf("log lacks the runbook's dry-run lines:\n%s", out.log)
	}
	if roleExists(t, "dry_keycloak_user") {
		t.Error("dry run created a role")
	}
	for _, r := range out.res.Rows {
		if r.Status != audit.DryRun {
			t.Errorf("row status %s in dry run", r.Status)
		}
	}
}

// refusingSource fails the test on any Secrets Manager call.
type refusingSource struct{ t *testing.T }

func (s refusingSource) Get(context.Context, string) (string, error) {
	s.t.Error("Secrets Manager was called")
	return "", errors.New("refused")
}

func (s refusingSource) GetMany(context.Context, []string) (map[string]secrets.Result, error) {
	s.t.Error("Secrets Manager was called")
	return nil, errors.New("refused")
}

func TestApprovalGateComesBeforeAnyNetworkCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, env, allow string
		blocked          bool
	}{
		{"prod without approval", "prod", "", true},
		{"staging with false", "staging", "false", true},
		{"dev needs none", "dev", "", false},
		{"prod approved", "prod", "true", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{
				Env:             tc.env,
				TfvarsPath:      "/nonexistent/terraform.tfvars",
				RequireApproval: true,
				Secrets:         refusingSource{t},
				Getenv: func(k string) string {
					if k == "ALLOW_DB_PROVISION" {
						return tc.allow
					}
					return ""
				},
			}
			out := runWith(t, opts)
			if tc.blocked {
				want := "ALLOW_DB_PROVISION=true required for " + tc.env + " environment"
				if !errors.Is(out.err, ErrApproval) || !strings.Contains(out.err.Error(), want) {
					t.Fatalf("err = %v, want %q", out.err, want)
				}
				return
			}
			// Past the gate the run reads the tfvars, which do not exist.
			if out.err == nil || errors.Is(out.err, ErrApproval) || !strings.Contains(out.err.Error(), "read tfvars") {
				t.Fatalf("err = %v, want the tfvars read error", out.err)
			}
		})
	}
}
