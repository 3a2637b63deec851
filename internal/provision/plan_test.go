package provision

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The plan is a pure function: these tests need no PostgreSQL.
func planEntry(key, db, user, level string) *entry {
	if level == "" {
		level = tfvars.AccessOwner
	}
	return &entry{
		Entry:      tfvars.Entry{Key: key, DatabaseName: db, Username: user, AccessLevel: level},
		SecretPath: "goldenpath/dev/" + key + "/postgres",
		password:   "pw", verifier: "V",
	}
}

// states built from a few facts.
type fakeState struct{ st *instance }

func newFakeState() *fakeState {
	return &fakeState{st: &instance{roles: map[string]*role{}, databases: map[string]*database{}, all: defaultAllPrivileges()}}
}

// app adds a login role the master manages: provisioned here, with the
// record of the secret planEntry gives its entry (key: the name without
// "_user").
func (f *fakeState) app(name string, owns ...string) *role {
	r := &role{canLogin: true, masterIsMember: true, masterActs: true, owns: owns, connLimit: -1,
		record: &roleRecord{Secret: "goldenpath/dev/" + strings.TrimSuffix(name, "_user") + "/postgres", version: 1}}
	f.st.roles[name] = r
	return r
}

// foreign adds a login role made elsewhere: no record, the master no member.
func (f *fakeState) foreign(name string, owns ...string) *role {
	r := f.app(name, owns...)
	r.record, r.masterIsMember, r.masterActs = nil, false, false
	return r
}

// db adds a database as CREATE DATABASE makes it, PUBLIC already revoked.
func (f *fakeState) db(name, owner string) *database {
	d := newDatabase(owner, f.st.all)
	d.created = false
	d.objects[0].acl[""] = privs{}
	f.st.databases[name] = d
	return d
}

func (d *database) grant(k kind, name, owner, grantee string, p ...string) *database {
	for _, o := range d.objects {
		if o.kind == k && o.name == name {
			o.acl[grantee] = privsOf(p...)
			return d
		}
	}
	d.objects = append(d.objects, &object{kind: k, name: name, owner: owner, manageable: true, acl: map[string]privs{grantee: privsOf(p...)}})
	return d
}

// editorGrants are what an editor holds after provisioning, with one table
// and one sequence made by the owner.
func editorGrants(d *database, owner, user string) {
	d.grant(kindDatabase, "", owner, user, "CONNECT").
		grant(kindSchema, "public", owner, user, "USAGE").
		grant(kindTable, "orders", owner, user, "SELECT", "INSERT", "UPDATE", "DELETE").
		grant(kindSequence, "orders_id_seq", owner, user, "USAGE", "SELECT").
		grant(kindDefaultTable, "", owner, user, "SELECT", "INSERT", "UPDATE", "DELETE").
		grant(kindDefaultSequence, "", owner, user, "USAGE", "SELECT")
}

func readerGrants(d *database, owner, user string) {
	d.grant(kindDatabase, "", owner, user, "CONNECT").
		grant(kindSchema, "public", owner, user, "USAGE").
		grant(kindTable, "orders", owner, user, "SELECT").
		grant(kindSequence, "orders_id_seq", owner, user, "SELECT").
		grant(kindDefaultTable, "", owner, user, "SELECT").
		grant(kindDefaultSequence, "", owner, user, "SELECT")
}

// planned is the part of a step the tests compare.
type planned struct {
	Action, Status, Message string
	SQL                     []string
}

func summarise(steps []Step) []planned {
	out := make([]planned, len(steps))
	for i, s := range steps {
		status, msg := planRow(s)
		out[i] = planned{s.Action, string(status), msg, s.SQL}
	}
	return out
}

func runPlan(st *instance, dryRun bool, entries ...*entry) []Step {
	return planOf(st, dryRun, entries...).Steps
}

func planOf(st *instance, dryRun bool, entries ...*entry) Plan {
	return plan(planInput{entries: entries, state: st, masterUser: "platform_admin", masterDB: "postgres",
		tfvarsDB: "platform", masterSecret: "goldenpath/dev/rds/master", env: "dev", dryRun: dryRun})
}

// target is what a step is planned to be, without its words: the kind,
// the audit action and columns, the planned status, where it runs.
type target struct {
	Kind             Kind
	Action, Username string
	Status           string
	On               string
}

func targets(steps []Step) []target {
	out := make([]target, len(steps))
	for i, s := range steps {
		out[i] = target{s.Kind, s.Action, s.Username, string(s.Status), s.On}
	}
	return out
}

const (
	alterShop = `ALTER ROLE "shop_user" LOGIN CREATEDB PASSWORD 'V'`
	alterApp  = `ALTER ROLE "shop_app" LOGIN CREATEDB PASSWORD 'V'`
)

func TestPlanOwnerEntry(t *testing.T) {
	converged := newFakeState()
	converged.app("shop_user", "shop")
	converged.db("shop", "shop_user").grant(kindSchema, "public", "pg_database_owner", "shop_user", "USAGE", "CREATE").
		// The owner's defaults for an editor say nothing of the owner.
		grant(kindDefaultTable, "", "shop_user", "shop_app", "SELECT")

	for _, tc := range []struct {
		name  string
		state *instance
		want  []planned
	}{
		{"empty instance", newFakeState().st, []planned{
			{"create_role", "success", "Role created", []string{`CREATE ROLE "shop_user" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_user" TO "platform_admin"`, `COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}'`}},
			{"create_database", "success", "Database created: shop with owner shop_user", []string{`CREATE DATABASE "shop" OWNER "shop_user"`}},
			{"apply_grants", "success", "Granted ALL on shop to shop_user", []string{`REVOKE ALL ON DATABASE "shop" FROM PUBLIC`, `GRANT USAGE, CREATE ON SCHEMA public TO "shop_user"`}},
		}},
		{"converged: only the password", converged.st, []planned{
			{"create_role", "no_change", "Password updated for existing role: shop_user", []string{alterShop}},
			{"create_database", "no_change", "Database shop exists with owner shop_user", nil},
			{"apply_grants", "no_change", "Grants already in place: ALL on shop to shop_user", nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarise(runPlan(tc.state, false, planEntry("shop", "shop", "shop_user", "")))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanEntriesSeeEarlierSteps(t *testing.T) {
	// The owner entry creates the database the editor entry then uses.
	steps := summarise(runPlan(newFakeState().st, false,
		planEntry("shop", "shop", "shop_user", ""), planEntry("shop_app", "shop", "shop_app", "editor")))
	want := []planned{
		{"create_role", "success", "Role created", []string{`CREATE ROLE "shop_app" LOGIN CREATEDB PASSWORD 'V'`, `GRANT "shop_app" TO "platform_admin"`, `COMMENT ON ROLE "shop_app" IS 'rds-provision: {"secret":"goldenpath/dev/shop_app/postgres","v":1}'`}},
		{"create_database", "no_change", "Database shop is created by this run with owner shop_user (access_level editor)", nil},
		{"apply_grants", "success", "Granted SELECT, INSERT, UPDATE, DELETE on shop to shop_app", []string{
			`GRANT CONNECT ON DATABASE "shop" TO "shop_app"`,
			`GRANT USAGE ON SCHEMA public TO "shop_app"`,
			`ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "shop_app"`,
			`ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "shop_app"`,
		}},
	}
	if diff := cmp.Diff(want, steps[3:]); diff != "" {
		t.Errorf("editor steps (-want +got):\n%s", diff)
	}
}

func TestPlanMissingAppSecret(t *testing.T) {
	missing := func() *entry {
		e := planEntry("shop", "shop", "shop_user", "")
		e.password, e.verifier = "", ""
		e.secretErr = fmt.Errorf("%w: goldenpath/dev/shop/postgres", secrets.ErrNotFound)
		return e
	}
	t.Run("real run refuses", func(t *testing.T) {
		want := []target{{Kind: SecretUnreadable, Action: "fetch_secret", Username: "shop_user", Status: "error"}}
		if diff := cmp.Diff(want, targets(runPlan(newFakeState().st, false, missing()))); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
	})
	t.Run("dry run warns and plans on", func(t *testing.T) {
		steps := runPlan(newFakeState().st, true, missing())
		got := summarise(steps)
		if steps[0].Kind != SecretNotYet || got[0].Status != "warning" || got[0].Message != "Secret goldenpath/dev/shop/postgres does not exist yet: terraform apply creates it (make rds-apply ENV=dev); planning as if it did" {
			t.Errorf("first step = %+v", got[0])
		}
		var previews []string
		for _, s := range steps[1:] {
			previews = append(previews, previewMessage(s))
		}
		want := []string{"Would create/update role: shop_user", "Would create database: shop with owner shop_user", "Would grant ALL on shop to shop_user"}
		if diff := cmp.Diff(want, previews); diff != "" {
			t.Errorf("previews (-want +got):\n%s", diff)
		}
	})
	t.Run("other secret errors stay errors in a dry run", func(t *testing.T) {
		e := missing()
		e.secretErr = errors.New("secret goldenpath/dev/shop/postgres: not JSON")
		want := []target{{Kind: SecretUnreadable, Action: "fetch_secret", Username: "shop_user", Status: "error"}}
		if diff := cmp.Diff(want, targets(runPlan(newFakeState().st, true, e))); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
	})
}

func TestPlanOffline(t *testing.T) {
	steps := runPlan(nil, true, planEntry("keycloak", "keycloak", "keycloak_user", ""), planEntry("kc_read", "keycloak", "kc_reader", "reader"), planEntry("bad", "postgres", "x_user", ""))
	var got []string
	for _, s := range steps {
		got = append(got, string(s.Status)+" "+previewMessage(s))
	}
	want := []string{
		"success Would create/update role: keycloak_user",
		"success Would create database: keycloak with owner keycloak_user",
		"success Would grant ALL on keycloak to keycloak_user",
		"success Would create/update role: kc_reader",
		"success Would use existing database: keycloak (access_level reader)",
		"success Would grant SELECT on keycloak to kc_reader",
		"error Refusing database postgres for application_databases.bad: it is the RDS instance's own database (dbname in goldenpath/dev/rds/master); an app entry there would reach the master's tables and revoke other logins' CONNECT. Choose another database_name",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanDoesNotChangeItsInput(t *testing.T) {
	f := newFakeState()
	f.app("shop_user", "shop")
	f.app("shop_app")
	editorGrants(f.db("shop", "shop_user"), "shop_user", "shop_app")
	first := runPlan(f.st, false, planEntry("shop_app", "shop", "shop_app", "reader"))
	second := runPlan(f.st, false, planEntry("shop_app", "shop", "shop_app", "reader"))
	if diff := cmp.Diff(summarise(first), summarise(second)); diff != "" {
		t.Errorf("planning twice from one state differs (-first +second):\n%s", diff)
	}
}

func TestConnectionSettings(t *testing.T) {
	for _, dry := range []bool{false, true} {
		r := &run{opts: Options{DryRun: dry, SSLMode: "disable"}, master: secrets.Master{Host: "db.example", Port: 5432, Username: "platform_admin", Password: "pw", DBName: "platform"}}
		cfg, err := r.connConfig("shop")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.RuntimeParams["default_transaction_read_only"] == "on"; got != dry {
			t.Errorf("dry run %v: read-only session = %v", dry, got)
		}
		if cfg.DialFunc == nil || cfg.Database != "shop" || cfg.Password != "pw" {
			t.Errorf("dry run %v: config %+v", dry, cfg.Config)
		}
	}
}

// planMessage and previewMessage are a step's row message in a real run
// (as planned) and in a dry run.
func planMessage(s Step) string {
	_, msg := planRow(s)
	return msg
}

func previewMessage(s Step) string {
	_, msg := previewRow(s)
	return msg
}
