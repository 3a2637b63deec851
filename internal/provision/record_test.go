package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestRecordText(t *testing.T) {
	for _, tc := range []struct {
		name, comment string
		secret        string // "" = no record
		rewritten     string // text() after withSecret("goldenpath/dev/new/postgres")
	}{
		{"record", `rds-provision: {"secret":"goldenpath/dev/shop/postgres","v":1}`, "goldenpath/dev/shop/postgres",
			`rds-provision: {"secret":"goldenpath/dev/new/postgres","v":1}`},
		{"a newer version's fields are kept", `rds-provision: {"databases":["shop"],"retired_at":null,"secret":"s/1","v":2}`, "s/1",
			`rds-provision: {"databases":["shop"],"retired_at":null,"secret":"goldenpath/dev/new/postgres","v":2}`},
		{"no comment", "", "", ""},
		{"someone else's comment", "Payroll batch login (ops ticket 1234)", "", ""},
		{"prefix without JSON", "rds-provision: provisioned by hand", "", ""},
		{"no secret", `rds-provision: {"v":1}`, "", ""},
		{"no version", `rds-provision: {"secret":"s/1"}`, "", ""},
		{"wrong types", `rds-provision: {"secret":1,"v":"1"}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := parseRecord(tc.comment)
			if tc.secret == "" {
				if rec != nil {
					t.Fatalf("parseRecord(%q) = %+v, want no record", tc.comment, rec)
				}
				return
			}
			if rec == nil || rec.Secret != tc.secret {
				t.Fatalf("parseRecord(%q) = %+v, want secret %s", tc.comment, rec, tc.secret)
			}
			if got := rec.text(); got != tc.comment {
				t.Errorf("text() = %q, want the comment back %q", got, tc.comment)
			}
			if got := rec.withSecret("goldenpath/dev/new/postgres").text(); got != tc.rewritten {
				t.Errorf("rewritten = %q, want %q", got, tc.rewritten)
			}
		})
	}
	// A new record, and the statement that writes it.
	rec := (*roleRecord)(nil).withSecret("goldenpath/dev/o'hara/postgres")
	want := `COMMENT ON ROLE "shop_user" IS 'rds-provision: {"secret":"goldenpath/dev/o''hara/postgres","v":1}'`
	if got := commentRoleSQL("shop_user", rec); got != want {
		t.Errorf("commentRoleSQL = %s, want %s", got, want)
	}
	if back := parseRecord(rec.text()); back == nil || back.Secret != rec.Secret || back.version != recordVersion {
		t.Errorf("a new record reads back as %+v", back)
	}
}

// TestRecordIsTenantProof: a run records the secret in the role's comment,
// and the role itself, logged in with its password, cannot rewrite it
// (PostgreSQL 15: CREATEROLE needed; 16+: ADMIN OPTION on the role).
func TestRecordIsTenantProof(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "iso-record")
	a := app{key: "iso_rec", db: "iso_rec_db", user: "iso_rec_user", password: "pw-rec"}
	f.seedApps(a)
	out := mustRun(t, f)
	want := `rds-provision: {"secret":"goldenpath/iso-record/iso_rec/postgres","v":1}`
	if got := roleComment(t, a.user); got != want {
		t.Fatalf("record = %q, want %q", got, want)
	}
	if got := out.message(a.user, "create_role"); got != "Role created" {
		t.Errorf("create_role = %q", got)
	}
	forged := fmt.Sprintf(`COMMENT ON ROLE %s IS 'rds-provision: {"secret":"goldenpath/iso-record/mine","v":1}'`, ident(a.user))
	for _, db := range []string{a.db, pg.MasterDB} {
		if err := as(t, a.user, a.password, db, forged); err == nil {
			t.Errorf("the role rewrote its own record from database %s", db)
		}
	}
	if got := roleComment(t, a.user); got != want {
		t.Errorf("record after the tenant's attempt = %q", got)
	}
	// A converged rerun does not write the record again.
	log := &statementLog{}
	mustRun(t, f, func(o *Options) { o.Tracer = log })
	for _, s := range log.sqls {
		if strings.HasPrefix(s, "COMMENT ON") {
			t.Errorf("a converged rerun sent %s", s)
		}
	}
}

// roleComment is a role's comment, where its record lives.
func roleComment(t *testing.T, role string) string {
	t.Helper()
	var c string
	if err := adminConn(t, "postgres").QueryRow(context.Background(), "SELECT COALESCE(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1", role).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
