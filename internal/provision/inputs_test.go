package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// noSecrets fails the test on any Secrets Manager call: the inputs below
// must be refused before any network.
type noSecrets struct{ t *testing.T }

func (n noSecrets) Get(context.Context, string) (string, error) {
	n.t.Error("Secrets Manager was called")
	return "", errors.New("no network in this test")
}

func (n noSecrets) GetMany(context.Context, []string) (map[string]secrets.Result, error) {
	n.t.Error("Secrets Manager was called")
	return nil, errors.New("no network in this test")
}

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
				Getenv: func(string) string { return "" }, Secrets: noSecrets{t},
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
