package provision

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func TestOptionsValidateDefaults(t *testing.T) {
	o := Options{Env: "staging"}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Options{
		Env: "staging", RepoRoot: ".", Mode: tfvars.ModeAuto, SecretPrefix: "goldenpath", MasterSecret: "goldenpath/staging/rds/master",
		BuildID: "manual", RunID: "local", SSLMode: "verify-full", LockTimeout: DefaultLockTimeout,
		StatementTimeout: DefaultStatementTimeout, Parallel: DefaultParallel, lockWait: sessionLockTimeout,
	}
	seams := cmpopts.IgnoreFields(Options{}, "Getenv", "Now", "Random", "Audit", "Log", "Mask")
	if diff := cmp.Diff(want, o, seams, cmp.AllowUnexported(Options{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if o.Getenv == nil || o.Now == nil || o.Random == nil || o.Audit == nil || o.Log == nil || o.Mask == nil {
		t.Error("a seam was left nil")
	}
	again := o
	if err := again.Validate(); err != nil || !cmp.Equal(o, again, seams, cmp.AllowUnexported(Options{})) {
		t.Errorf("Validate twice changed the options (%v)", err)
	}
	// What is given is kept.
	given := Options{Env: "prod", SecretPrefix: "acme", MasterSecret: "rds!db-1", BuildID: "b", RunID: "r", Parallel: 1, LockTimeout: time.Second}
	if err := given.Validate(); err != nil || given.MasterSecret != "rds!db-1" || given.Parallel != 1 || given.LockTimeout != time.Second || given.BuildID != "b" {
		t.Errorf("given options changed: %+v (%v)", given, err)
	}
	if o := (Options{Env: "prod", SecretPrefix: "acme"}); o.Validate() != nil || o.MasterSecret != "acme/prod/rds/master" {
		t.Errorf("master secret = %q, want the prefix's path", o.MasterSecret)
	}
}

func TestOptionsValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		fields []string // every refused field, in order
		text   string   // the first error's text
	}{
		{"no environment", Options{}, []string{"Env"}, "--env is required: dev, test, staging or prod"},
		{"environment with a path", Options{Env: "../prod"}, []string{"Env"}, `invalid --env "../prod": must match ^[a-z0-9][a-z0-9-]{0,30}$`},
		{"mode", Options{Env: "dev", Mode: "both"}, []string{"Mode"}, `invalid --rds-mode "both": want auto, coupled or standalone`},
		{"sslmode", Options{Env: "dev", SSLMode: "none"}, []string{"SSLMode"}, `invalid --sslmode "none": want one of disable, allow, prefer, require, verify-ca, verify-full`},
		{"parallel", Options{Env: "dev", Parallel: MaxParallel + 1}, []string{"Parallel"}, "invalid --parallel 65: want a number from 1 (serial) to 64"},
		{"negative parallel", Options{Env: "dev", Parallel: -1}, []string{"Parallel"}, "invalid --parallel -1"},
		{"timeouts", Options{Env: "dev", LockTimeout: -time.Second, StatementTimeout: -time.Minute}, []string{"LockTimeout", "StatementTimeout"}, "invalid --lock-timeout -1s: must be positive, e.g. 10m"},
		{"port", Options{Env: "dev", MasterEndpoint: secrets.Endpoint{Port: 70000}}, []string{"MasterEndpoint.Port"}, "invalid --db-port 70000: want a port from 1 to 65535"},
		{"everything at once", Options{SSLMode: "none", Parallel: 99}, []string{"Env", "SSLMode", "Parallel"}, "--env is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			var fields []string
			var first string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var oe *OptionError
				if !errors.As(e, &oe) {
					t.Fatalf("%v is not an *OptionError", e)
				}
				if first == "" {
					first = oe.Error()
				}
				fields = append(fields, oe.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("refused fields (-want +got):\n%s", diff)
			}
			if len(first) < len(tc.text) || first[:len(tc.text)] != tc.text {
				t.Errorf("first error %q, want it to start %q", first, tc.text)
			}
		})
	}
	// A typed 0 is refused by the rules the front ends apply to it.
	if err := CheckParallel(0); err == nil {
		t.Error("CheckParallel(0) passed")
	}
	if err := checkTimeout("StatementTimeout", 0); err == nil || err.Error() != "invalid --statement-timeout 0s: must be positive, e.g. 10m" {
		t.Errorf("CheckTimeout = %v", err)
	}
}
