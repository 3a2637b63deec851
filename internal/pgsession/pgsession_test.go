package pgsession

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConnConfig(t *testing.T) {
	c := Config{
		Host: "db.example", Port: 5432, User: `o'brien\user`, Password: "s3cret 'pw'", Database: "shop db",
		SSLMode: "verify-full", ApplicationName: "rds-provision",
		StatementTimeout: time.Minute, LockTimeout: 2 * time.Minute, ReadOnly: true, Major: 17,
	}
	cfg, err := c.ConnConfig()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"host": cfg.Host, "port": int(cfg.Port), "user": cfg.User, "password": cfg.Password, "database": cfg.Database,
		"connect_timeout": cfg.ConnectTimeout, "dial": cfg.DialFunc != nil,
	}
	want := map[string]any{
		"host": "db.example", "port": 5432, "user": `o'brien\user`, "password": "s3cret 'pw'", "database": "shop db",
		"connect_timeout": ConnectTimeout, "dial": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// The password is on the config only, never in the connection string
	// (which a driver error could echo).
	if strings.Contains(cfg.ConnString(), "s3cret") {
		t.Errorf("the password is in the connection string: %s", cfg.ConnString())
	}
	wantParams := Settings(time.Minute, 2*time.Minute, true, 17)
	wantParams["application_name"] = "rds-provision"
	if diff := cmp.Diff(wantParams, cfg.RuntimeParams); diff != "" {
		t.Errorf("startup parameters (-want +got):\n%s", diff)
	}
	if cfg.RuntimeParams["lock_timeout"] != "60000" {
		t.Errorf("lock_timeout = %s, want the statement timeout (the smaller)", cfg.RuntimeParams["lock_timeout"])
	}
}

func TestConnConfigRefusesNothingQuietly(t *testing.T) {
	if _, err := (Config{Host: "h", Port: 5432, User: "u", Database: "d", SSLMode: "sometimes"}).ConnConfig(); err == nil || !strings.Contains(err.Error(), "connection settings for d") {
		t.Errorf("err = %v, want the bad sslmode refused", err)
	}
	if err := CheckSSLMode("sometimes"); err == nil || !strings.Contains(err.Error(), "disable, allow, prefer, require, verify-ca, verify-full") {
		t.Errorf("CheckSSLMode = %v", err)
	}
	for _, m := range SSLModes {
		if err := CheckSSLMode(m); err != nil {
			t.Errorf("CheckSSLMode(%s) = %v", m, err)
		}
	}
}
