package rotate

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// assertRotated checks that the app logs in only with the new AWSCURRENT
// password, that AWSPREVIOUS holds the old one, and that no version is
// left AWSPENDING.
func assertRotated(t *testing.T, f *fixture, a app) {
	t.Helper()
	id := f.secret(a.key)
	curID, cur := version(t, id, secrets.StageCurrent)
	prevID, prev := version(t, id, secrets.StagePrevious)
	if cur == a.password || prev != a.password {
		t.Errorf("%s: AWSCURRENT is the old password %v, AWSPREVIOUS is it %v; want new and old", a.key, cur == a.password, prev == a.password)
	}
	want := map[string][]string{curID: {secrets.StageCurrent}, prevID: {secrets.StagePrevious}}
	if diff := cmp.Diff(want, stages(t, id)); diff != "" {
		t.Errorf("%s: labels (-want +got):\n%s", a.key, diff)
	}
	if !logsIn(a.user, cur, a.db) {
		t.Errorf("%s: the AWSCURRENT password does not log in", a.key)
	}
	if logsIn(a.user, a.password, a.db) {
		t.Errorf("%s: the old password still logs in", a.key)
	}
}

func TestRotateDueByRiskTierThenNothing(t *testing.T) {
	hi := app{key: "hi_app", db: "rot_hi_db", user: "rot_hi_user", password: "hi-old-password-1", risk: "high"}
	acc := app{key: "acc_app", db: "rot_acc_db", user: "rot_acc_user", password: "acc-old-password-1", risk: "access"}
	med := app{key: "med_app", db: "rot_med_db", user: "rot_med_user", password: "med-old-password-1", risk: "medium"}
	f := newFixture(t, "rotdue", hi, acc, med)

	// After 20 days only the 14-day tiers are due.
	advance(t, 20*Day)
	dry := f.rotate(func(o *Options) { o.Due, o.DryRun = true, true })
	if dry.err != nil {
		t.Fatalf("dry run: %v\n%s", dry.err, dry.log)
	}
	if diff := cmp.Diff([]string{"rot_hi_user:dry_run", "rot_acc_user:dry_run", "rot_med_user:no_change"}, dry.rows()); diff != "" {
		t.Fatalf("dry run rows (-want +got):\n%s\n%s", diff, dry.log)
	}
	for _, want := range []string{"Would rotate " + f.secret("hi_app") + ": due since ", "period 14 days (risk high)", "Not due: last rotated", "period 30 days (risk medium); next due "} {
		if !strings.Contains(dry.log, want) {
			t.Errorf("dry run log lacks %q:\n%s", want, dry.log)
		}
	}
	if _, p := version(t, f.secret("hi_app"), secrets.StageCurrent); p != hi.password || len(stages(t, f.secret("hi_app"))) != 1 {
		t.Fatal("the dry run changed the secret")
	}
	if !logsIn(hi.user, hi.password, hi.db) {
		t.Fatal("the dry run changed the role")
	}

	first := f.rotate(func(o *Options) { o.Due = true })
	if first.err != nil {
		t.Fatalf("rotate --due: %v\n%s", first.err, first.log)
	}
	if diff := cmp.Diff([]string{"rot_hi_user:success", "rot_acc_user:success", "rot_med_user:no_change"}, first.rows()); diff != "" {
		t.Fatalf("rows (-want +got):\n%s\n%s", diff, first.log)
	}
	if !strings.Contains(first.log, "createSecret, setSecret, testSecret, finishSecret done") {
		t.Errorf("log does not name the steps reached:\n%s", first.log)
	}
	assertRotated(t, f, hi)
	assertRotated(t, f, acc)
	if _, p := version(t, f.secret("med_app"), secrets.StageCurrent); p != med.password || !logsIn(med.user, med.password, med.db) {
		t.Error("the entry that was not due changed")
	}

	// The next day's run rotates nothing.
	advance(t, Day)
	second := f.rotate(func(o *Options) { o.Due = true })
	if second.err != nil {
		t.Fatalf("second rotate --due: %v\n%s", second.err, second.log)
	}
	if diff := cmp.Diff([]string{"rot_hi_user:no_change", "rot_acc_user:no_change", "rot_med_user:no_change"}, second.rows()); diff != "" {
		t.Errorf("second run rows (-want +got):\n%s\n%s", diff, second.log)
	}

	// Ten days later the medium entry is due (31 days), the others not.
	advance(t, 10*Day)
	third := f.rotate(func(o *Options) { o.Due = true })
	if diff := cmp.Diff([]string{"rot_hi_user:no_change", "rot_acc_user:no_change", "rot_med_user:success"}, third.rows()); diff != "" {
		t.Errorf("third run rows (-want +got):\n%s\n%s", diff, third.log)
	}
	assertRotated(t, f, med)

	for _, o := range []outcome{dry, first, second, third} {
		assertNoLeak(t, o, f)
	}
}

// assertNoLeak: no password of any version, nor the master's, in the CSV or
// the log; every one read was handed to the mask.
func assertNoLeak(t *testing.T, o outcome, f *fixture) {
	t.Helper()
	pws := []string{pg.MasterPassword}
	for _, a := range f.apps {
		pws = append(pws, a.password)
		for _, stage := range []string{secrets.StageCurrent, secrets.StagePrevious} {
			if _, p := versionIfAny(t, f.secret(a.key), stage); p != "" {
				pws = append(pws, p)
			}
		}
	}
	for _, p := range pws {
		if strings.Contains(o.csv, p) || strings.Contains(o.log, p) {
			t.Errorf("a password leaked into the CSV or log")
		}
	}
	for _, r := range o.res.Rows {
		for _, p := range pws {
			if strings.Contains(r.Message, p) {
				t.Errorf("a password leaked into an audit row")
			}
		}
	}
}

func versionIfAny(t *testing.T, id, stage string) (string, string) {
	t.Helper()
	for _, labels := range stages(t, id) {
		if slices.Contains(labels, stage) {
			return version(t, id, stage)
		}
	}
	return "", ""
}

func TestRotateAppRotatesEvenWhenNotDue(t *testing.T) {
	a := app{key: "one_app", db: "rot_one_db", user: "rot_one_user", password: "one-old-password-1", risk: "low"}
	other := app{key: "two_app", db: "rot_two_db", user: "rot_two_user", password: "two-old-password-1", risk: "high"}
	f := newFixture(t, "rotapp", a, other)
	out := f.rotate(func(o *Options) { o.App = "one_app" })
	if out.err != nil {
		t.Fatalf("rotate --app: %v\n%s", out.err, out.log)
	}
	if diff := cmp.Diff([]string{"rot_one_user:success"}, out.rows()); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	assertRotated(t, f, a)
	if !logsIn(other.user, other.password, other.db) {
		t.Error("another entry's role changed")
	}
	assertNoLeak(t, out, f)
	if len(out.masked) == 0 {
		t.Error("no secret value was handed to the mask")
	}

	unknown := f.rotate(func(o *Options) { o.App = "nope" })
	if unknown.err == nil || !strings.Contains(unknown.err.Error(), "--app nope: no application_databases entry has that key") || !strings.Contains(unknown.err.Error(), "one_app, two_app") {
		t.Errorf("unknown key: err = %v", unknown.err)
	}
}

// A run killed after each step leaves a state the next run completes; at
// the points where the role and AWSCURRENT agree (after createSecret and
// after finishSecret) the AWSCURRENT password logs in. Between setSecret
// and finishSecret, the window every single-user rotation has, the
// AWSPENDING password logs in and AWSCURRENT does not, until the next run.
func TestRotateKilledAfterEachStepIsCompletedByTheNextRun(t *testing.T) {
	for i, stop := range Steps {
		t.Run(string(stop), func(t *testing.T) {
			a := app{key: "kill_app", db: "rot_kill" + string(rune('a'+i)) + "_db", user: "rot_kill" + string(rune('a'+i)) + "_user", password: "kill-old-password-1", risk: "high"}
			f := newFixture(t, "rotkill"+string(rune('a'+i)), a)
			rot, db := rotator(t)
			target := Target{SecretID: f.secret(a.key), Username: a.user, Database: a.db}
			const token = "0b6a1c1e-5f5e-4c3e-9d7a-000000000001"
			runSteps(t, rot, db, target, token, stop, false)

			_, cur := version(t, target.SecretID, secrets.StageCurrent)
			switch stop {
			case StepCreate, StepFinish:
				if !logsIn(a.user, cur, a.db) {
					t.Errorf("killed after %s: the AWSCURRENT password does not log in", stop)
				}
			default:
				_, pending := version(t, target.SecretID, secrets.StagePending)
				if !logsIn(a.user, pending, a.db) {
					t.Errorf("killed after %s: the AWSPENDING password does not log in", stop)
				}
			}

			out := f.rotate(func(o *Options) { o.Due = true })
			if out.err != nil {
				t.Fatalf("next run: %v\n%s", out.err, out.log)
			}
			if stop == StepFinish {
				// Finished: the next run finds it rotated, and not due.
				if diff := cmp.Diff([]string{"rot_kill" + string(rune('a'+i)) + "_user:no_change"}, out.rows()); diff != "" {
					t.Errorf("rows (-want +got):\n%s\n%s", diff, out.log)
				}
			} else if !strings.Contains(out.log, "Finished the rotation an earlier run began") {
				t.Errorf("the next run did not resume the rotation:\n%s", out.log)
			}
			curID, cur := version(t, target.SecretID, secrets.StageCurrent)
			if stop != StepFinish && curID != token {
				t.Errorf("AWSCURRENT is version %s, want the killed run's %s", curID, token)
			}
			if !logsIn(a.user, cur, a.db) || logsIn(a.user, a.password, a.db) {
				t.Error("after the next run the app does not log in with AWSCURRENT only")
			}
			assertNoLeak(t, out, f)
		})
	}
}

// runSteps runs the steps up to and including stop, as a run killed right
// after it would have: nothing after it, and the session ends.
func runSteps(t *testing.T, rot *Rotator, db *DB, target Target, token string, stop Step, lambda bool) {
	t.Helper()
	ctx := context.Background()
	s, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, step := range Steps {
		var err error
		switch step {
		case StepCreate:
			err = rot.Create(ctx, target, token)
		case StepSet:
			err = rot.Set(ctx, s, target, token)
		case StepTest:
			err = rot.Test(ctx, target, token)
		case StepFinish:
			err = rot.Finish(ctx, s, target, token, !lambda)
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if step == stop {
			return
		}
	}
}

// Every step run twice changes nothing the second time.
func TestStepsAreIdempotent(t *testing.T) {
	a := app{key: "idem_app", db: "rot_idem_db", user: "rot_idem_user", password: "idem-old-password-1", risk: "high"}
	f := newFixture(t, "rotidem", a)
	rot, db := rotator(t)
	target := Target{SecretID: f.secret(a.key), Username: a.user, Database: a.db}
	const token = "0b6a1c1e-5f5e-4c3e-9d7a-000000000002"
	ctx := context.Background()
	s, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := rot.Create(ctx, target, token); err != nil {
		t.Fatal(err)
	}
	_, pending := version(t, target.SecretID, secrets.StagePending)
	if err := rot.Create(ctx, target, token); err != nil {
		t.Fatal(err)
	}
	if _, again := version(t, target.SecretID, secrets.StagePending); again != pending || len(stages(t, target.SecretID)) != 2 {
		t.Error("a second createSecret made another password or version")
	}
	for range 2 {
		if err := rot.Set(ctx, s, target, token); err != nil {
			t.Fatal(err)
		}
		if err := rot.Test(ctx, target, token); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := rot.Finish(ctx, s, target, token, true); err != nil {
			t.Fatal(err)
		}
	}
	assertRotated(t, f, a)
}

// finishSecret never moves AWSCURRENT to a password the role refuses: here
// setSecret never ran (or a provision run set AWSCURRENT back).
func TestFinishRefusesAPasswordTheRoleDoesNotAccept(t *testing.T) {
	a := app{key: "nofin_app", db: "rot_nofin_db", user: "rot_nofin_user", password: "nofin-old-password-1", risk: "high"}
	f := newFixture(t, "rotnofin", a)
	rot, db := rotator(t)
	target := Target{SecretID: f.secret(a.key), Username: a.user, Database: a.db}
	const token = "0b6a1c1e-5f5e-4c3e-9d7a-000000000003"
	ctx := context.Background()
	s, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := rot.Create(ctx, target, token); err != nil {
		t.Fatal(err)
	}
	err = rot.Finish(ctx, s, target, token, true)
	if err == nil || !strings.Contains(err.Error(), "AWSCURRENT not moved") {
		t.Fatalf("err = %v, want AWSCURRENT not moved", err)
	}
	if curID, cur := version(t, target.SecretID, secrets.StageCurrent); curID == token || cur != a.password || !logsIn(a.user, cur, a.db) {
		t.Error("AWSCURRENT moved to a password the role does not accept")
	}
}

// cancelAfter cancels the run once a query starting with prefix is done.
type cancelAfter struct {
	prefix string
	cancel context.CancelFunc
}

func (c *cancelAfter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, c.prefix) {
		return context.WithValue(ctx, c, true)
	}
	return ctx
}

func (c *cancelAfter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ctx.Value(c) != nil {
		c.cancel()
	}
}

// SIGTERM right after setSecret: stopping there would leave the role with
// a password AWSCURRENT does not hold, so the run finishes the rotation.
// The plaintext never reaches the server's statement log.
func TestRotateCancelledAfterSetSecretStillFinishes(t *testing.T) {
	a := app{key: "term_app", db: "rot_term_db", user: "rot_term_user", password: "term-old-password-1", risk: "high"}
	f := newFixture(t, "rotterm", a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := f.options()
	opts.App = a.key
	opts.Tracer = &cancelAfter{prefix: "ALTER ROLE", cancel: cancel}
	res, err := Run(ctx, opts)
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Status != "success" {
		t.Fatalf("rows %+v, err %v; want the rotation finished", res.Rows, err)
	}
	if ctx.Err() == nil {
		t.Fatal("the run was not cancelled: the test proves nothing")
	}
	assertRotated(t, f, a)

	_, cur := version(t, f.secret(a.key), secrets.StageCurrent)
	serverLog, err := os.ReadFile(pg.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(serverLog), `ALTER ROLE "rot_term_user" PASSWORD 'SCRAM-SHA-256$4096:`) {
		t.Error("the server log has no verifier ALTER ROLE: log_statement is not on, the test proves nothing")
	}
	if strings.Contains(string(serverLog), cur) {
		t.Error("the new plaintext password reached the server's statement log")
	}
}

// A provisioning run holding the instance lock keeps rotation out: after
// --lock-timeout the row says so and nothing was written, not even the
// pending version.
func TestRotateWaitsForProvisionsLock(t *testing.T) {
	a := app{key: "lk_app", db: "rot_lk_db", user: "rot_lk_user", password: "lk-old-password-1", risk: "high"}
	f := newFixture(t, "rotlock", a)
	holder, err := pgx.Connect(context.Background(), pg.MasterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_lock($1)", int64(0x72647370)); err != nil {
		t.Fatal(err)
	}
	before := stages(t, f.secret(a.key))
	out := f.rotate(func(o *Options) { o.App, o.LockTimeout = a.key, 300*time.Millisecond })
	if out.err == nil || len(out.res.Rows) != 1 || !strings.Contains(out.res.Rows[0].Message, "still held the advisory lock after --lock-timeout 300ms") {
		t.Fatalf("rows %+v, err %v; want an error row naming the lock", out.res.Rows, out.err)
	}
	if diff := cmp.Diff(before, stages(t, f.secret(a.key))); diff != "" || !logsIn(a.user, a.password, a.db) {
		t.Errorf("the run wrote something without the lock (labels -before +after):\n%s", diff)
	}
}
