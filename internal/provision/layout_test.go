package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/testenv"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func TestCoupledLayoutFromRepoRoot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "coupled")
	pg.DropOnCleanup(t, []string{"cpl_db"}, []string{"cpl_user"})
	f.putSecret(f.appSecret("cpl_app"), map[string]any{"password": "cpl-pw"})
	root := t.TempDir()
	path := tfvars.CoupledPath(root, "coupled")
	os.MkdirAll(filepath.Dir(path), 0o755)
	src := `cluster_name = "c"
rds_config = {
  enabled = true
  application_databases = {
    "cpl_app" = { database_name = "cpl_db", username = "cpl_user" }
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := f.run(func(o *Options) { o.TfvarsPath, o.RepoRoot, o.Mode = "", root, tfvars.ModeAuto })
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	if out.res.Mode != tfvars.ModeCoupled || len(out.statuses("cpl_user")) != 3 {
		t.Fatalf("mode %s rows %v", out.res.Mode, out.statuses("cpl_user"))
	}
}

func TestPreflightNamesTheRemedy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, host string
		port       int
		want       string
	}{
		{"unknown host", "rds-provision-test.invalid", 5432, "Failed to connect to RDS: DNS lookup of rds-provision-test.invalid failed: check the RDS endpoint (host) in goldenpath/preflight"},
		{"closed port", "127.0.0.1", closedPort(t), "Failed to connect to RDS: cannot reach 127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := "preflight-" + strings.ReplaceAll(tc.name, " ", "-")
			f := newFixture(t, env)
			f.putSecret("goldenpath/"+env+"/rds/master", map[string]any{
				"host": tc.host, "port": tc.port, "username": "admin", "password": "preflight-master-pw", "dbname": "platform",
			})
			f.seedApps(app{key: "pf_app", db: "pf_db", user: "pf_user", password: "pw"})
			out := f.run()
			if out.err == nil || !strings.Contains(out.log, tc.want) {
				t.Fatalf("err %v, log lacks %q:\n%s", out.err, tc.want, out.log)
			}
			if len(out.res.Rows) != 1 || out.res.Rows[0].Action != "connect" {
				t.Errorf("rows: %+v", out.res.Rows)
			}
		})
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
