package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/secrets/secretstest"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func TestInvalidTfvarsRefusedBeforeAnyNetwork(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		is        error  // errors.Is target, or nil
		want      string // substring of the error
	}{
		{"another environment's file", "environment = \"prod\"\napplication_databases = {\n  shop = { database_name = \"shop\", username = \"shop_user\" }\n}\n",
			tfvars.ErrEnvironmentMismatch, `sets environment = "prod" but the run is for --env dev`},
		{"two owner entries", "application_databases = {\n  shop = { database_name = \"shop\", username = \"shop_user\" }\n  shop2 = { database_name = \"shop\", username = \"shop2_user\" }\n}\n",
			nil, "application_databases.shop (line 2) and application_databases.shop2 (line 3) are both owner entries of database shop"},
		{"nested brackets", "application_databases = " + strings.Repeat("{", 120<<10) + "\n", nil, "the limit is 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "terraform.tfvars")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := runWith(t, Options{
				Env: "dev", TfvarsPath: path, RequireApproval: true, SSLMode: "disable",
				Getenv: func(string) string { return "" }, Secrets: secretstest.Forbidden{T: t, Why: "though the inputs are refused before any network"},
			})
			if out.err == nil || !strings.Contains(out.err.Error(), tc.want) || tc.is != nil && !errors.Is(out.err, tc.is) {
				t.Fatalf("err = %v, want it to contain %q", out.err, tc.want)
			}
			if len(out.res.Rows) != 0 {
				t.Errorf("rows recorded: %v", out.res.Rows)
			}
		})
	}
}

// TestRoleKeywordsRefused: names PostgreSQL reserves or reads as the
// caller get an error row and no role is made.
func TestRoleKeywordsRefused(t *testing.T) {
	f := newFixture(t, "rolekeywords")
	f.seedApps(
		app{key: "pub", db: "rolekw_pub", user: "public", password: "pw-1"},
		app{key: "cur", db: "rolekw_cur", user: "current_user", password: "pw-2"},
	)
	out := f.run(func(o *Options) { o.NoFailFast = true })
	if !errors.Is(out.err, ErrActionsFailed) {
		t.Fatalf("err = %v, want ErrActionsFailed\n%s", out.err, out.log)
	}
	for _, want := range []string{
		"Refusing to manage role public: application_databases.pub",
		`username "public" is reserved by PostgreSQL`,
		"Refusing to manage role current_user: application_databases.cur",
		`username "current_user" is reserved by PostgreSQL (PUBLIC, NONE) or stands for the caller`,
	} {
		if !strings.Contains(out.log, want) {
			t.Errorf("log lacks %q:\n%s", want, out.log)
		}
	}
	var n int
	if err := adminConn(t, "postgres").QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname LIKE 'rolekw_%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("databases made: %d, %v", n, err)
	}
}
