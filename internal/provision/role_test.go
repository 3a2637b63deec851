package provision

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The plan of a role (role.go): refusals, warnings, adoption. Pure: no
// PostgreSQL (helpers in plan_test.go).

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
