package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// Provision alone redacts the secrets it reads: these tests run with no
// Options.Mask (no Actions runtime, no add-mask), so nothing but
// provision's own redaction stands between a secret and the CSV, the log
// and the error text.

// echoingSource is the real Secrets Manager (moto) behind a client that
// fails the read of one app secret with a text that echoes the master
// password, as a misbehaving proxy or credential helper could.
type echoingSource struct {
	SecretSource
	master, app string
}

func (s echoingSource) GetMany(ctx context.Context, paths []string) (map[string]secrets.Result, error) {
	got, err := s.SecretSource.GetMany(ctx, paths)
	if err != nil {
		return nil, err
	}
	var m struct{ Password string }
	json.Unmarshal([]byte(got[s.master].Value), &m)
	got[s.app] = secrets.Result{Err: fmt.Errorf("read %s through the proxy at postgres://admin:%s@proxy.internal failed: connection reset", s.app, m.Password)}
	return got, nil
}

// echoingRDS fails DescribeDBInstances with a text that echoes the master
// password.
type echoingRDS struct{ password string }

func (f echoingRDS) InstanceByMasterSecret(context.Context, string) (rdsapi.Instance, error) {
	return rdsapi.Instance{}, fmt.Errorf("DescribeDBInstances: signature mismatch for request signed with %s", f.password)
}

func (f echoingRDS) Instance(context.Context, string) (rdsapi.Instance, error) {
	return f.InstanceByMasterSecret(context.Background(), "")
}

func TestProvisionRedactsWhatItReads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture, o *Options)
		action string // the row that must carry the error, redacted
	}{
		{"an app secret's error echoes the master password", func(f *fixture, o *Options) {
			o.Secrets = echoingSource{SecretSource: o.Secrets, master: o.MasterSecret, app: f.appSecret("red_two")}
		}, "fetch_secret"},
		{"the RDS API's error echoes the master password", func(f *fixture, o *Options) {
			// An RDS-managed master secret (username and password only), no
			// endpoint in the tfvars: the run asks DescribeDBInstances.
			managed := "goldenpath/" + f.env + "/rds/managed"
			f.putSecret(managed, map[string]any{"username": masterUser, "password": pg.MasterPassword})
			o.MasterSecret, o.RDS = managed, echoingRDS{pg.MasterPassword}
		}, "fetch_secret"},
	} {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dry=%v", tc.name, dry), func(t *testing.T) {
				t.Parallel()
				env := fmt.Sprintf("redact-%d-%v", len(tc.name), dry)
				f := newFixture(t, env)
				f.seedApps(app{key: "red_one", db: "red_one_db_" + env[7:9], user: "red_one_u" + env[7:9], password: "red-one-pw"},
					app{key: "red_two", db: "red_two_db_" + env[7:9], user: "red_two_u" + env[7:9], password: "red-two-pw"})
				opts := f.options()
				opts.MasterSecret = "goldenpath/" + env + "/rds/master"
				opts.Secrets = secrets.New(servers.Secrets)
				opts.DryRun = dry
				tc.setup(f, &opts)
				out := runWith(t, opts)
				if out.err == nil {
					t.Fatalf("the run did not fail\n%s", out.log)
				}
				var found bool
				for _, r := range errorRows(out) {
					found = found || r.Action == tc.action && strings.Contains(r.Message, "[REDACTED]")
				}
				if !found {
					t.Errorf("no %s error row with the secret redacted:\n%s", tc.action, out.log)
				}
				for where, text := range map[string]string{"CSV": out.csv, "log": out.log, "error": out.err.Error(), "rows": fmt.Sprint(out.res.Rows)} {
					if strings.Contains(text, pg.MasterPassword) {
						t.Errorf("the master password is in the %s:\n%s", where, text)
					}
				}
			})
		}
	}
}
