package provision

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The plan of an entry's grants (grants.go, converge.go): convergence both
// ways, what is skipped, other grantors, PUBLIC, the Pre of a database the
// master cannot read yet. Pure: no PostgreSQL (helpers in plan_test.go).

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
