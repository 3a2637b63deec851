package rotate

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestRotateIgnoresTheTenantsSettings: the tenant sets, on its own role
// and database, what would break or steer a session that logs in as it (a
// library that does not exist, read-only transactions, 1 ms timeouts,
// public first in the search path, ending the session on an error).
// Rotation logs in as the role twice (setSecret's check and testSecret),
// in provision's hardened session (pgsession): none of it applies, and the
// rotation completes.
func TestRotateIgnoresTheTenantsSettings(t *testing.T) {
	a := app{key: "gucs_app", db: "rot_gucs_db", user: "rot_gucs_user", password: "gucs-old-password-1", risk: "high"}
	f := newFixture(t, "rotgucs", a)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL(a.user, a.password, a.db))
	if err != nil {
		t.Fatal(err)
	}
	var plant []string
	for _, target := range []string{"ROLE " + pgx.Identifier{a.user}.Sanitize(), "DATABASE " + pgx.Identifier{a.db}.Sanitize()} {
		for _, set := range []string{
			"local_preload_libraries = 'rdsp_missing_library'", "default_transaction_read_only = on",
			"statement_timeout = 1", "idle_in_transaction_session_timeout = 1", "lock_timeout = 1",
			"search_path = public, pg_catalog", "exit_on_error = on", "default_transaction_isolation = serializable",
		} {
			plant = append(plant, "ALTER "+target+" SET "+set)
		}
	}
	_, err = conn.Exec(ctx, strings.Join(plant, ";\n"))
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("plant: %v", err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, pg.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, "ALTER ROLE "+pgx.Identifier{a.user}.Sanitize()+" RESET ALL; ALTER DATABASE "+pgx.Identifier{a.db}.Sanitize()+" RESET ALL")
	})
	// The control: an ordinary session of the role does not even start.
	if logsIn(a.user, a.password, a.db) {
		t.Fatal("the planted settings do not stop an ordinary login: the test proves nothing")
	}
	out := f.rotate(func(o *Options) { o.App = a.key })
	if out.err != nil || !strings.Contains(out.log, "createSecret, setSecret, testSecret, finishSecret done") {
		t.Fatalf("rotate: %v\n%s", out.err, out.log)
	}
	admin, err := pgx.Connect(ctx, pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "ALTER ROLE "+pgx.Identifier{a.user}.Sanitize()+" RESET ALL; ALTER DATABASE "+pgx.Identifier{a.db}.Sanitize()+" RESET ALL"); err != nil {
		t.Fatal(err)
	}
	assertRotated(t, f, a)
}
