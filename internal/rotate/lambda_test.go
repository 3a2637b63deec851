package rotate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// lambdaFixture is a fixture whose app secrets carry username and dbname,
// as the rotation function needs, and a handler configured from an
// environment as the function's would be.
func lambdaFixture(t *testing.T, env string, a app) (*fixture, *Handler, *bytes.Buffer) {
	t.Helper()
	f := newFixture(t, env, a)
	f.put(f.secret(a.key), map[string]any{"username": a.user, "password": a.password, "dbname": a.db})
	cfg, err := LambdaConfigFromEnv(func(k string) string {
		return map[string]string{"RDSP_MASTER_SECRET": "goldenpath/" + env + "/rds/master", "RDSP_SSLMODE": "disable"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		t.Fatal(err)
	}
	r, err := rdsapi.NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	return f, &Handler{Config: cfg, Secrets: c, RDS: r, Log: &log}, &log
}

func events(id, token string, steps ...Step) []Event {
	var evs []Event
	for _, s := range steps {
		evs = append(evs, Event{Step: string(s), SecretID: id, ClientRequestToken: token})
	}
	return evs
}

// assertLambdaRotated is assertRotated for the function: RotateSecret,
// not the function, removes AWSPENDING from the new version afterwards.
func assertLambdaRotated(t *testing.T, f *fixture, a app, token string) {
	t.Helper()
	id := f.secret(a.key)
	curID, cur := version(t, id, secrets.StageCurrent)
	prevID, prev := version(t, id, secrets.StagePrevious)
	if curID != token || prev != a.password {
		t.Errorf("AWSCURRENT is version %s (want %s), AWSPREVIOUS holds the old password: %v", curID, token, prev == a.password)
	}
	want := map[string][]string{curID: {secrets.StagePending, secrets.StageCurrent}, prevID: {secrets.StagePrevious}}
	got := stages(t, id)
	for v, labels := range got {
		if len(labels) == 0 {
			delete(got, v) // the fixture's first version, deprecated
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if !logsIn(a.user, cur, a.db) || logsIn(a.user, a.password, a.db) {
		t.Error("the app does not log in with the new AWSCURRENT password only")
	}
}

func TestLambdaRotatesDrivenByEvents(t *testing.T) {
	a := app{key: "fn_app", db: "rot_fn_db", user: "rot_fn_user", password: "fn-old-password-1"}
	f, h, log := lambdaFixture(t, "rotfn", a)
	const token = "7d1f3c2a-0000-4000-8000-00000000f001"
	for _, ev := range events(f.secret(a.key), token, Steps...) {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("%s: %v\n%s", ev.Step, err, log)
		}
	}
	assertLambdaRotated(t, f, a, token)
	// Secrets Manager may deliver an event again: nothing changes.
	for _, ev := range events(f.secret(a.key), token, Steps...) {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("again %s: %v", ev.Step, err)
		}
	}
	assertLambdaRotated(t, f, a, token)
	assertLogClean(t, log.String(), f, a)
}

// The function killed after each step: Secrets Manager retries the
// rotation with the same token, and it completes.
func TestLambdaKilledAfterEachStepIsCompletedByTheRetry(t *testing.T) {
	for i, stop := range Steps {
		t.Run(string(stop), func(t *testing.T) {
			n := string(rune('a' + i))
			a := app{key: "fnk_app", db: "rot_fnk" + n + "_db", user: "rot_fnk" + n + "_user", password: "fnk-old-password-1"}
			f, h, log := lambdaFixture(t, "rotfnk"+n, a)
			token := "7d1f3c2a-0000-4000-8000-00000000f10" + n
			for _, ev := range events(f.secret(a.key), token, Steps[:i+1]...) {
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatalf("%s: %v\n%s", ev.Step, err, log)
				}
			}
			_, cur := version(t, f.secret(a.key), secrets.StageCurrent)
			if (stop == StepCreate || stop == StepFinish) && !logsIn(a.user, cur, a.db) {
				t.Errorf("killed after %s: the AWSCURRENT password does not log in", stop)
			}
			for _, ev := range events(f.secret(a.key), token, Steps...) {
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatalf("retry %s: %v\n%s", ev.Step, err, log)
				}
			}
			assertLambdaRotated(t, f, a, token)
			assertLogClean(t, log.String(), f, a)
		})
	}
}

// A secret that names a role it does not hold the password of (another
// tenant's, or the master) is refused before anything changes.
func TestLambdaRefusesARoleTheSecretDoesNotHold(t *testing.T) {
	victim := app{key: "victim_app", db: "rot_victim_db", user: "rot_victim_user", password: "victim-password-1"}
	f := newFixture(t, "rotvictim", victim)
	attacker := app{key: "evil_app", db: "rot_evil_db", user: "rot_evil_user", password: "evil-password-1"}
	g, h, log := lambdaFixture(t, "rotevil", attacker)
	for _, tc := range []struct{ name, username, want string }{
		{"another tenant's role", victim.user, "accepts neither the AWSCURRENT nor the AWSPENDING password"},
		{"the master", pg.MasterUser, "it is the RDS master user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The attacker's secret, pointed at the other role.
			g.put(g.secret(attacker.key), map[string]any{"username": tc.username, "password": attacker.password, "dbname": victim.db})
			token := "7d1f3c2a-0000-4000-8000-0000000e" + map[bool]string{true: "0001", false: "0002"}[tc.username == victim.user]
			evs := events(g.secret(attacker.key), token, StepCreate, StepSet)
			if err := h.Handle(context.Background(), evs[0]); err != nil {
				t.Fatalf("createSecret: %v", err)
			}
			err := h.Handle(context.Background(), evs[1])
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("setSecret: err = %v, want %q\n%s", err, tc.want, log)
			}
		})
	}
	if !logsIn(victim.user, victim.password, victim.db) || !logsIn(pg.MasterUser, pg.MasterPassword, pg.MasterDB) {
		t.Error("a role the secret did not hold had its password changed")
	}
	if _, cur := version(t, f.secret(victim.key), secrets.StageCurrent); cur != victim.password {
		t.Error("the victim's secret changed")
	}
}

func TestLambdaConfigFromEnv(t *testing.T) {
	env := map[string]string{"RDSP_MASTER_SECRET": "rds!db-1234", "RDSP_DB_HOST": "db.internal", "RDSP_DB_PORT": "5433", "RDSP_DB_NAME": "platform", "RDSP_DB_INSTANCE": "goldenpath-platform-db-dev", "RDSP_LOCK_TIMEOUT": "90s"}
	got, err := LambdaConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := LambdaConfig{MasterSecret: "rds!db-1234", MasterEndpoint: secrets.Endpoint{Host: "db.internal", Port: 5433, DBName: "platform"}, Identifier: "goldenpath-platform-db-dev",
		SSLMode: "verify-full", SSLRootCert: RDSBundle, LockTimeout: 90e9, StatementTimeout: 30e9}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	env["LAMBDA_TASK_ROOT"] = "/var/task"
	if got, _ := LambdaConfigFromEnv(func(k string) string { return env[k] }); got.SSLRootCert != "/var/task/rds-global-bundle.pem" {
		t.Errorf("on Lambda SSLRootCert = %q, want the bundle beside bootstrap", got.SSLRootCert)
	}
	for k, v := range map[string]string{"RDSP_MASTER_SECRET": "", "RDSP_DB_PORT": "0", "RDSP_LOCK_TIMEOUT": "soon"} {
		bad := map[string]string{"RDSP_MASTER_SECRET": "m"}
		bad[k] = v
		if _, err := LambdaConfigFromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want one naming the variable", k, v, err)
		}
	}
}

func assertLogClean(t *testing.T, log string, f *fixture, a app) {
	t.Helper()
	pws := []string{pg.MasterPassword, a.password}
	if _, p := versionIfAny(t, f.secret(a.key), secrets.StageCurrent); p != "" {
		pws = append(pws, p)
	}
	for _, p := range pws {
		if strings.Contains(log, p) {
			t.Error("a password leaked into the function's log")
		}
	}
}
