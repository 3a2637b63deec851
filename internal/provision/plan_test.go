package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/schema"
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

func TestPlanConvergesAccessLevelsBothWays(t *testing.T) {
	state := func(grants func(*database, string, string)) *instance {
		f := newFakeState()
		f.app("shop_user", "shop")
		f.app("shop_app")
		d := f.db("shop", "shop_user").
			grant(kindTable, "orders", "shop_user", "shop_user", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER").
			grant(kindSequence, "orders_id_seq", "shop_user", "shop_user", "USAGE", "SELECT", "UPDATE")
		grants(d, "shop_user", "shop_app")
		return f.st
	}
	forOwner := `ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" IN SCHEMA public `
	for _, tc := range []struct {
		name, level string
		state       *instance
		want        planned
	}{
		{"editor to reader", "reader", state(editorGrants), planned{"apply_grants", "success",
			"Converged shop_app to reader on shop: revoked INSERT, UPDATE, DELETE on 1 table, USAGE on 1 sequence, INSERT, UPDATE, DELETE on future tables, USAGE on future sequences",
			[]string{
				`REVOKE INSERT, UPDATE, DELETE ON TABLE "public"."orders" FROM "shop_app"`,
				`REVOKE USAGE ON SEQUENCE "public"."orders_id_seq" FROM "shop_app"`,
				forOwner + `REVOKE INSERT, UPDATE, DELETE ON TABLES FROM "shop_app"`,
				forOwner + `REVOKE USAGE ON SEQUENCES FROM "shop_app"`,
			}}},
		{"reader to editor", "editor", state(readerGrants), planned{"apply_grants", "success",
			"Converged shop_app to editor on shop: granted INSERT, UPDATE, DELETE on 1 table, USAGE on 1 sequence, INSERT, UPDATE, DELETE on future tables, USAGE on future sequences",
			[]string{
				`GRANT INSERT, UPDATE, DELETE ON TABLE "public"."orders" TO "shop_app"`,
				`GRANT USAGE ON SEQUENCE "public"."orders_id_seq" TO "shop_app"`,
				forOwner + `GRANT INSERT, UPDATE, DELETE ON TABLES TO "shop_app"`,
				forOwner + `GRANT USAGE ON SEQUENCES TO "shop_app"`,
			}}},
		{"reader stays reader", "reader", state(readerGrants), planned{"apply_grants", "no_change", "Grants already in place: SELECT on shop to shop_app", nil}},
		{"editor stays editor", "editor", state(editorGrants), planned{"apply_grants", "no_change", "Grants already in place: SELECT, INSERT, UPDATE, DELETE on shop to shop_app", nil}},
		{"new reader", "reader", state(func(*database, string, string) {}), planned{"apply_grants", "success", "Granted SELECT on shop to shop_app", []string{
			`GRANT CONNECT ON DATABASE "shop" TO "shop_app"`,
			`GRANT USAGE ON SCHEMA public TO "shop_app"`,
			`GRANT SELECT ON TABLE "public"."orders" TO "shop_app"`,
			`GRANT SELECT ON SEQUENCE "public"."orders_id_seq" TO "shop_app"`,
			forOwner + `GRANT SELECT ON TABLES TO "shop_app"`,
			forOwner + `GRANT SELECT ON SEQUENCES TO "shop_app"`,
		}}},
		{"editor to owner level of a database it does not own", "owner", state(editorGrants), planned{"apply_grants", "warning",
			`Grants on shop skipped because its owner is shop_user: if safe, run ALTER DATABASE "shop" OWNER TO "shop_app" and re-run`, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := summarise(runPlan(tc.state, false, planEntry("shop_app", "shop", "shop_app", tc.level)))
			if diff := cmp.Diff(tc.want, steps[len(steps)-1]); diff != "" {
				t.Errorf("apply_grants (-want +got):\n%s", diff)
			}
			if steps[0].Action != "create_role" || !cmp.Equal(steps[0].SQL, []string{alterApp}) {
				t.Errorf("role step = %+v, want the password ALTER ROLE alone", steps[0])
			}
		})
	}
}

func TestPlanOwnerOfTheDatabaseCannotBeLimited(t *testing.T) {
	f := newFakeState()
	f.app("shop_user", "shop")
	f.db("shop", "shop_user")
	steps := summarise(runPlan(f.st, false, planEntry("shop", "shop", "shop_user", "reader")))
	want := planned{"apply_grants", "warning", `Grants on shop skipped: shop_user owns the database, so access_level reader cannot limit it; give the database another owner (ALTER DATABASE "shop" OWNER TO ...) or set access_level owner`, nil}
	if diff := cmp.Diff(want, steps[len(steps)-1]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanNeverTouchesRolesNoEntryNames(t *testing.T) {
	f := newFakeState()
	f.app("shop_user", "shop")
	f.app("shop_app")
	d := f.db("shop", "shop_user")
	editorGrants(d, "shop_user", "shop_app")
	editorGrants(d, "shop_user", "monitoring") // another team's role
	d.grant(kindDatabase, "", "shop_user", "", "CONNECT")
	for _, s := range runPlan(f.st, false, planEntry("shop_app", "shop", "shop_app", "reader")) {
		for _, sql := range s.SQL {
			if strings.Contains(sql, "monitoring") {
				t.Errorf("statement touches an unnamed role: %s", sql)
			}
		}
	}
}

func TestPlanRefusals(t *testing.T) {
	privileged := func(mut func(*role)) *instance {
		f := newFakeState()
		mut(f.app("shop_user"))
		return f.st
	}
	tenant := newFakeState()
	tenant.app("shop_user", "other")
	tenant.db("other", "shop_user")

	legacy := newFakeState() // provisioned before records, or made elsewhere
	legacy.app("shop_user", "payroll").record = nil
	legacy.db("payroll", "shop_user")

	foreign := newFakeState() // made by someone else: the master is no member
	foreign.foreign("shop_user", "shop", "payroll").masterIsMember = true
	foreign.db("shop", "shop_user")

	mine := newFakeState() // ours: owns its entry's database and a plugin database
	mine.app("shop_user", "shop", "shop_plugin_catalog")
	mine.db("shop", "shop_user")

	for _, tc := range []struct {
		name    string
		kind    Kind // of the first error step; empty = no error
		state   *instance
		entries []*entry
		want    string // words of its message: the refusal's reason and remedy
	}{
		{"master user", RoleRefused, newFakeState().st, []*entry{planEntry("shop", "shop", "platform_admin", "")}, "Refusing to manage role platform_admin: it is the RDS master user"},
		{"superuser", RoleRefused, privileged(func(r *role) { r.super = true }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "Refusing to manage role shop_user: it is a superuser"},
		{"createrole", RoleRefused, privileged(func(r *role) { r.createRole = true }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "Refusing to manage role shop_user: it has CREATEROLE"},
		{"replication", RoleRefused, privileged(func(r *role) { r.replication = true }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "it has REPLICATION"},
		{"bypassrls", RoleRefused, privileged(func(r *role) { r.bypassRLS = true }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "it has BYPASSRLS"},
		{"rds_superuser member", RoleRefused, privileged(func(r *role) { r.privilegedMemberOf = "rds_superuser" }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "member of the privileged role rds_superuser"},
		{"group role", RoleRefused, privileged(func(r *role) { r.canLogin = false }), []*entry{planEntry("shop", "shop", "shop_user", "")}, "NOLOGIN group role"},
		{"owner of another entry's database", RoleRefused, tenant.st, []*entry{planEntry("shop", "shop", "shop_user", ""), planEntry("other", "other", "other_user", "")},
			"it owns database other, which application_databases gives to other_user"},
		{"master's own database (secret dbname)", DatabaseMasters, newFakeState().st, []*entry{planEntry("shop", "postgres", "shop_user", "reader")},
			"Refusing database postgres for application_databases.shop: it is the RDS instance's own database (dbname in goldenpath/dev/rds/master)"},
		{"master's own database (tfvars database_name)", DatabaseMasters, newFakeState().st, []*entry{planEntry("shop", "platform", "shop_user", "")},
			"Refusing database platform for application_databases.shop: it is the RDS instance's own database (database_name in the tfvars)"},
		{"editor of a missing database", DatabaseMissing, newFakeState().st, []*entry{planEntry("shop", "shop", "shop_user", "editor")},
			"Database shop does not exist: an editor entry needs it created first (list its owner entry before application_databases.shop)"},
		{"legacy role owning an unnamed database", RoleOwnsUnnamed, legacy.st, []*entry{planEntry("shop", "shop", "shop_user", "")},
			`Refusing to manage role shop_user: it already exists and owns database payroll, which no application_databases entry names, so it may be another team's login; the role was left unchanged. If it is meant to be managed here, add adopt_owned_databases = ["payroll"] to application_databases.shop`},
		{"legacy role adopted by opt-in", "", legacy.st, []*entry{func() *entry {
			e := planEntry("shop", "shop", "shop_user", "")
			e.AdoptOwnedDatabases = []string{"payroll"}
			return e
		}()}, ""},
		{"role provisioned before keeps its plugin databases", "", mine.st, []*entry{planEntry("shop", "shop", "shop_user", "")}, ""},
		{"legacy role whose database is named by an entry", "", legacy.st, []*entry{planEntry("payroll", "payroll", "shop_user", "")}, ""},
		{"role the master does not act as, owning its entry's database and another", RoleOwnsUnnamed, foreign.st, []*entry{planEntry("shop", "shop", "shop_user", "")},
			`owns database payroll, which no application_databases entry names`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := runPlan(tc.state, false, tc.entries...)
			var kind Kind
			var got string
			for _, s := range steps {
				if s.Status == "error" {
					kind, got = s.Kind, planMessage(s)
					if len(s.SQL) > 0 {
						t.Errorf("an error step carries SQL: %v", s.SQL)
					}
					break
				}
			}
			if kind != tc.kind {
				t.Fatalf("first error is a %q step (%q), want %q", kind, got, tc.kind)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("first error = %q, want %q", got, tc.want)
			}
			// A refused entry has no other step.
			for _, s := range steps {
				if tc.want != "" && s.Entry == 0 && s.Status != "error" {
					t.Errorf("refused entry has a %s step: %+v", s.Status, s)
				}
			}
		})
	}
}

func TestPlanWarnsOnRolesThatCannotLogIn(t *testing.T) {
	f := newFakeState()
	r := f.app("shop_user", "shop")
	r.expiredUntil, r.connLimit = "2020-01-01 00:00:00+00", 0
	f.db("shop", "shop_user")
	type warning struct {
		Kind Kind
		Msg  string
	}
	var warnings []warning
	for _, s := range runPlan(f.st, false, planEntry("shop", "shop", "shop_user", "")) {
		if s.Status == "warning" {
			warnings = append(warnings, warning{s.Kind, planMessage(s)})
		}
	}
	want := []warning{
		{RoleExpired, `Role shop_user cannot log in: its VALID UNTIL (2020-01-01 00:00:00+00) is in the past; if it should, run ALTER ROLE "shop_user" VALID UNTIL 'infinity'`},
		{RoleNoConnections, `Role shop_user cannot log in: its CONNECTION LIMIT is 0; if it should, run ALTER ROLE "shop_user" CONNECTION LIMIT -1`},
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
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

func TestPlanDatabaseWithAnotherOwner(t *testing.T) {
	f := newFakeState()
	f.db("shop", "postgres")
	got := summarise(runPlan(f.st, false, planEntry("shop", "shop", "shop_user", "")))
	want := []planned{
		{"create_database", "warning", "Database shop exists but owner is postgres, expected shop_user", nil},
		{"apply_grants", "warning", `Grants on shop skipped because its owner is postgres: if safe, run ALTER DATABASE "shop" OWNER TO "shop_user" and re-run`, nil},
	}
	if diff := cmp.Diff(want, got[1:]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
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
		got := summarise(runPlan(newFakeState().st, false, missing()))
		if len(got) != 1 || got[0].Status != "error" || got[0].Action != "fetch_secret" {
			t.Errorf("steps = %+v, want one fetch_secret error", got)
		}
	})
	t.Run("dry run warns and plans on", func(t *testing.T) {
		steps := runPlan(newFakeState().st, true, missing())
		got := summarise(steps)
		if got[0].Status != "warning" || got[0].Message != "Secret goldenpath/dev/shop/postgres does not exist yet: terraform apply creates it (make rds-apply ENV=dev); planning as if it did" {
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
		got := summarise(runPlan(newFakeState().st, true, e))
		if len(got) != 1 || got[0].Status != "error" {
			t.Errorf("steps = %+v", got)
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

func TestPlanSkipsObjectsTheMasterCannotGrantOn(t *testing.T) {
	f := newFakeState()
	f.app("shop_user", "shop")
	f.app("shop_app")
	d := f.db("shop", "shop_user")
	readerGrants(d, "shop_user", "shop_app")
	d.objects = append(d.objects, &object{kind: kindTable, name: "audit", owner: "dba", acl: map[string]privs{}})
	steps := summarise(runPlan(f.st, false, planEntry("shop_app", "shop", "shop_app", "reader")))
	want := planned{"apply_grants", "no_change", "Grants already in place: SELECT on shop to shop_app (left alone, the master user is not a member of their owner: 1 table owned by dba)", nil}
	if diff := cmp.Diff(want, steps[len(steps)-1]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanAdoptedOwnerBecomesManageable(t *testing.T) {
	// A role made by someone else owns its entry's database; the master is
	// not yet a member, so nothing in it was manageable when read.
	f := newFakeState()
	f.foreign("shop_user", "shop")
	d := f.db("shop", "shop_user")
	d.objects[0].acl[""] = privsOf("CONNECT", "TEMPORARY")
	for _, o := range d.objects {
		o.manageable = false
	}
	got := summarise(runPlan(f.st, false, planEntry("shop", "shop", "shop_user", "")))
	want := []planned{
		// Adopting a role made elsewhere is a change (issue 15), recorded.
		{"create_role", "success", "Adopted existing role shop_user: its password is now set from goldenpath/dev/shop/postgres", []string{alterShop, `GRANT "shop_user" TO "platform_admin"`,
			`COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}'`}},
		{"create_database", "no_change", "Database shop exists with owner shop_user", nil},
		{"apply_grants", "success", "Granted ALL on shop to shop_user; revoked PUBLIC's access to the database", []string{`REVOKE ALL ON DATABASE "shop" FROM PUBLIC`}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
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

func TestPlanInitialSchemaComesAfterEveryEntrysGrants(t *testing.T) {
	owner := planEntry("shop", "shop", "shop_user", "")
	owner.InitialSchema = "basic-app"
	steps := runPlan(newFakeState().st, false, owner, planEntry("shop_app", "shop", "shop_app", "editor"))
	want := []target{
		{RoleCreate, "create_role", "shop_user", "success", ""}, {DatabaseCreate, "create_database", "shop_user", "success", ""},
		{GrantsGrant, "apply_grants", "shop_user", "success", "shop"},
		{RoleCreate, "create_role", "shop_app", "success", ""}, {DatabaseShared, "create_database", "shop_app", "no_change", ""},
		{GrantsGrant, "apply_grants", "shop_app", "success", "shop"},
		{SchemaApply, "apply_schema", "shop_user", "success", "shop"},
	}
	if diff := cmp.Diff(want, targets(steps)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	last := steps[len(steps)-1]
	if last.Template != "basic-app" || previewMessage(last) != "Would apply schema template basic-app (v1) to shop" || planMessage(last) != "Applied schema template basic-app (v1) to shop" {
		t.Errorf("apply_schema step = %+v (%q, %q)", last, previewMessage(last), planMessage(last))
	}
}

func TestPlanInitialSchemaRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  *schema.State // of the existing database; nil = not inspected
		status string
		apply  bool
	}{
		{"empty database", &schema.State{}, "success", true},
		{"already applied", &schema.State{Marker: true, Applied: []schema.Applied{{Template: "basic-app", Version: 1}}}, "no_change", false},
		{"someone else's users table", &schema.State{Existing: []string{"users"}}, "warning", false},
		{"another template", &schema.State{Marker: true, Applied: []schema.Applied{{Template: "event-sourcing", Version: 1}}}, "warning", false},
		{"not inspected", nil, "error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeState()
			f.app("shop_user", "shop")
			f.db("shop", "shop_user").schema = tc.state
			e := planEntry("shop", "shop", "shop_user", "")
			e.InitialSchema = "basic-app"
			steps := runPlan(f.st, false, e)
			last := steps[len(steps)-1]
			if last.Action != "apply_schema" || string(last.Status) != tc.status || (last.Template != "") != tc.apply {
				t.Errorf("step = %+v, want apply_schema %s (applies %v)", last, tc.status, tc.apply)
			}
		})
	}
}

// Privileges beyond the level that the owner set for all schemas, or that
// another grantor granted, are revoked where the master can, and reported
// (not resent on every run) where it cannot.
func TestPlanGlobalDefaultsAndGrantors(t *testing.T) {
	const table = `"public"."orders"`
	reader := func(extra ...*object) *instance {
		f := newFakeState()
		f.app("shop_user", "shop")
		f.app("shop_app")
		d := f.db("shop", "shop_user")
		readerGrants(d, "shop_user", "shop_app")
		d.objects = append(d.objects, extra...)
		return f.st
	}
	global := func(p ...string) *object {
		return &object{kind: kindDefaultTable, owner: "shop_user", manageable: true, global: true, acl: map[string]privs{"shop_app": privsOf(p...)}}
	}
	// orders with SELECT from the owner and INSERT from another grantor.
	orders := func(grantor string, canSet bool, byOwner ...string) *object {
		return &object{kind: kindTable, name: "orders", owner: "shop_user", manageable: true,
			acl: map[string]privs{"shop_app": privsOf(append([]string{"SELECT", "INSERT"}, byOwner...)...)},
			grants: map[string][]aclGrant{"shop_app": {
				{grantor: "shop_user", privs: privsOf(append([]string{"SELECT"}, byOwner...)...)},
				{grantor: grantor, privs: privsOf("INSERT"), canSet: canSet},
			}}}
	}
	withoutOrders := func(st *instance) *instance {
		d := st.databases["shop"]
		d.objects = slices.DeleteFunc(d.objects, func(o *object) bool { return o.kind == kindTable && o.grants == nil })
		return st
	}
	for _, tc := range []struct {
		name  string
		state *instance
		want  []planned
	}{
		{"global defaults with write access lose it, at global level only", reader(global("SELECT", "INSERT", "DELETE")), []planned{
			{"apply_grants", "success", "Converged shop_app to reader on shop: revoked INSERT, DELETE on future tables",
				[]string{`ALTER DEFAULT PRIVILEGES FOR ROLE "shop_user" REVOKE INSERT, DELETE ON TABLES FROM "shop_app"`}},
		}},
		{"global defaults within the level are left alone", reader(global("SELECT")), []planned{
			{"apply_grants", "no_change", "Grants already in place: SELECT on shop to shop_app", nil},
		}},
		{"another grantor's grant the master cannot revoke is reported, not resent", withoutOrders(reader(orders("dba", false))), []planned{
			{"apply_grants", "no_change", "Grants already in place: SELECT on shop to shop_app", nil},
			{"apply_grants", "warning", `Role shop_app keeps privileges access_level reader does not include: INSERT on table "public"."orders" granted by dba. Only their grantor can revoke them and the master user platform_admin cannot SET ROLE to dba; have dba run REVOKE ... FROM "shop_app", or GRANT "dba" TO "platform_admin" and re-run`, nil},
		}},
		{"another grantor's grant is revoked as that grantor", withoutOrders(reader(orders("dba", true))), []planned{
			{"apply_grants", "success", "Converged shop_app to reader on shop: revoked INSERT on 1 table",
				[]string{`SET ROLE "dba"`, `REVOKE INSERT ON TABLE ` + table + ` FROM "shop_app"`, `RESET ROLE`}},
		}},
		{"column write privileges are revoked on the table", withoutOrders(reader(&object{kind: kindTable, name: "orders", owner: "shop_user", manageable: true,
			acl:     map[string]privs{"shop_app": privsOf("SELECT")},
			grants:  map[string][]aclGrant{"shop_app": {{grantor: "shop_user", privs: privsOf("SELECT")}}},
			columns: map[string][]aclGrant{"shop_app": {{grantor: "shop_user", privs: privsOf("SELECT", "UPDATE")}}}})), []planned{
			{"apply_grants", "success", "Converged shop_app to reader on shop: revoked UPDATE on 1 table",
				[]string{`REVOKE UPDATE ON TABLE ` + table + ` FROM "shop_app"`}},
		}},
		{"the owner's grant is revoked, another grantor's is reported", withoutOrders(reader(orders("dba", false, "UPDATE"))), []planned{
			{"apply_grants", "success", "Converged shop_app to reader on shop: revoked UPDATE on 1 table",
				[]string{`REVOKE UPDATE ON TABLE ` + table + ` FROM "shop_app"`}},
			{"apply_grants", "warning", `Role shop_app keeps privileges access_level reader does not include: INSERT on table "public"."orders" granted by dba. Only their grantor can revoke them and the master user platform_admin cannot SET ROLE to dba; have dba run REVOKE ... FROM "shop_app", or GRANT "dba" TO "platform_admin" and re-run`, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reader []Step
			for _, s := range runPlan(tc.state, false, planEntry("shop", "shop", "shop_user", ""), planEntry("shop_ro", "shop", "shop_app", tfvars.AccessReader)) {
				if s.Action == "apply_grants" && s.Username == "shop_app" {
					reader = append(reader, s)
				}
			}
			got := summarise(reader)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("apply_grants steps of the reader (-want +got):\n%s", diff)
			}
		})
	}
}

// An adopted database loses PUBLIC's access, and a template on a database
// another role owns is named in a warning.
func TestPlanPublicAndSkippedTemplate(t *testing.T) {
	t.Run("adopting a database says PUBLIC loses access", func(t *testing.T) {
		f := newFakeState()
		f.app("shop_user", "shop")
		f.db("shop", "shop_user").objects[0].acl[""] = privsOf("CONNECT", "TEMPORARY")
		steps := runPlan(f.st, true, planEntry("shop", "shop", "shop_user", ""))
		got := steps[len(steps)-1]
		if got, want := previewMessage(got), "Would grant ALL on shop to shop_user; revoke PUBLIC's access to the database"; got != want {
			t.Errorf("preview %q, want %q", got, want)
		}
		if got, want := planMessage(got), "Granted ALL on shop to shop_user; revoked PUBLIC's access to the database"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})
	t.Run("a database this run creates keeps the runbook's words", func(t *testing.T) {
		steps := runPlan(newFakeState().st, true, planEntry("shop", "shop", "shop_user", ""))
		if got, want := previewMessage(steps[len(steps)-1]), "Would grant ALL on shop to shop_user"; got != want {
			t.Errorf("preview %q, want %q", got, want)
		}
	})
	t.Run("a database PUBLIC may not connect to, of an adopted owner", func(t *testing.T) {
		for _, dry := range []bool{true, false} {
			f := newFakeState()
			r := f.app("shop_user", "shop")
			r.masterIsMember, r.masterActs = false, false
			f.st.databases["shop"] = &database{owner: "shop_user", readErr: fmt.Errorf("connect: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for database"})}
			steps := summarise(runPlan(f.st, dry, planEntry("shop", "shop", "shop_user", "")))
			// The dry run cannot read it; a real run sends the create_role
			// step's GRANT first (Plan.Pre), reads it again and plans once
			// more, so what is still unread there is an error.
			want := "warning"
			if !dry {
				want = "error"
			}
			if got := steps[len(steps)-1]; got.Action != "apply_grants" || got.Status != want {
				t.Errorf("dry run %v: last step %+v, want an apply_grants %s", dry, got, want)
			}
			p := planOf(f.st, dry, planEntry("shop", "shop", "shop_user", ""))
			wantPre := []PreStep{{Role: "shop_user", Databases: []string{"shop"}, SQL: `GRANT "shop_user" TO "platform_admin"`}}
			if diff := cmp.Diff(wantPre, p.Pre); diff != "" {
				t.Errorf("dry run %v: Pre (-want +got):\n%s", dry, diff)
			}
			wantKind := GrantsUnreadable
			if dry {
				wantKind = GrantsAwaitMembership
			}
			if last := p.Steps[len(p.Steps)-1]; last.Kind != wantKind {
				t.Errorf("dry run %v: last step is a %s, want a %s", dry, last.Kind, wantKind)
			}
		}
	})
	t.Run("once the Pre ran, a database still unread is an error and asks for nothing more", func(t *testing.T) {
		f := newFakeState()
		r := f.app("shop_user", "shop")
		r.masterIsMember, r.masterActs = false, false
		f.st.databases["shop"] = &database{owner: "shop_user", readErr: fmt.Errorf("connect: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for database"})}
		p := plan(planInput{entries: []*entry{planEntry("shop", "shop", "shop_user", "")}, state: f.st, masterUser: "platform_admin", masterDB: "postgres",
			masterSecret: "goldenpath/dev/rds/master", env: "dev", preDone: true})
		if len(p.Pre) != 0 {
			t.Errorf("Pre = %+v after it ran", p.Pre)
		}
		if last := p.Steps[len(p.Steps)-1]; last.Kind != GrantsUnreadable || last.Status != "error" {
			t.Errorf("last step %+v, want a grants.unreadable error", last)
		}
	})
	t.Run("template on a database another role owns", func(t *testing.T) {
		f := newFakeState()
		f.db("shop", "postgres")
		e := planEntry("shop", "shop", "shop_user", "")
		e.InitialSchema = "basic-app"
		steps := summarise(runPlan(f.st, false, e))
		want := planned{"apply_schema", "warning", "initial_schema basic-app not applied to shop: its owner is postgres, not shop_user; it is applied once the grants are", nil}
		if diff := cmp.Diff(want, steps[len(steps)-1]); diff != "" {
			t.Errorf("last step (-want +got):\n%s", diff)
		}
	})
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
