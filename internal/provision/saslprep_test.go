package provision

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestSASLprepPasswordsLogIn provisions roles whose passwords need SASLprep
// and logs in as each with libpq (psql) and, where pgx prepares the same
// way, with pgx.
func TestSASLprepPasswordsLogIn(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql (libpq) is needed to check logins: install postgresql-client: %v", err)
	}
	f := newFixture(t, "saslprep")
	apps := []struct {
		app
		pgx bool // pgx normalises with PRECIS OpaqueString (NFC, not NFKC): ligatures differ
	}{
		{app{key: "nbsp", db: "saslprep_nbsp", user: "saslprep_nbsp_user", password: "pass\u00a0word-1"}, true},
		{app{key: "ligature", db: "saslprep_lig", user: "saslprep_lig_user", password: "\ufb01sh-and-chips"}, false},
		{app{key: "accent", db: "saslprep_acc", user: "saslprep_acc_user", password: "cafe\u0301-au-lait"}, true},
	}
	var seeded []app
	for _, a := range apps {
		seeded = append(seeded, a.app)
	}
	f.seedApps(seeded...)
	t.Cleanup(func() {
		for _, a := range seeded {
			adminExec(t, "DROP DATABASE IF EXISTS "+a.db+" WITH (FORCE)")
			adminExec(t, "DROP ROLE IF EXISTS "+a.user)
		}
	})
	if out := f.run(); out.err != nil {
		t.Fatalf("provision: %v\n%s", out.err, out.log)
	}
	for _, a := range apps {
		t.Run(a.key, func(t *testing.T) {
			cmd := exec.Command(psql, "-X", "-A", "-t", "-w", "-h", pg.Host, "-p", fmt.Sprint(pg.Port), "-U", a.user, "-d", a.db, "-c", "SELECT current_user")
			cmd.Env = append(os.Environ(), "PGPASSWORD="+a.password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != a.user {
				t.Errorf("psql login as %s: %v\n%s", a.user, err, out)
			}
			if !a.pgx {
				return
			}
			conn, err := pgx.Connect(context.Background(), pg.URL(a.user, a.password, a.db))
			if err != nil {
				t.Errorf("pgx login as %s: %v", a.user, err)
				return
			}
			conn.Close(context.Background())
		})
	}
}
