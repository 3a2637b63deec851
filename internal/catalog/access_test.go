package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccessGolden records grants, level changes and retirements under
// testdata/access.yaml, compares each diff with testdata/access_<case>.diff
// (only the lines that change: comments, quoting and order stay), reads
// the records back, and checks that the same edit again writes nothing.
func TestAccessGolden(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		edit     func([]byte) ([]byte, bool, error)
		database string
		want     []Access // the database's records after the edit
	}{
		{
			name: "grant_first", database: "keycloak",
			edit: func(b []byte) ([]byte, bool, error) {
				return Grant(b, "dev", "keycloak", Access{Username: "keycloak_ro", Level: "reader", Team: "security-team", RequestedBy: "ada-sec"}, now)
			},
			want: []Access{{Username: "keycloak_ro", Level: "reader", Team: "security-team", RequestedBy: "ada-sec", GrantedDate: "2026-01-20", Status: "pending"}},
		},
		{
			name: "grant_beside_others", database: "orders",
			edit: func(b []byte) ([]byte, bool, error) {
				return Grant(b, "dev", "orders", Access{Username: "orders_bi", Level: "reader", Team: "app-team", RequestedBy: "bo-bi"}, now)
			},
			want: []Access{
				{Username: "orders_etl", Level: "editor", Team: "sre-team", RequestedBy: "sam-ops", GrantedDate: "2026-01-12", Status: "active"},
				{Username: "orders_bi", Level: "reader", Team: "app-team", RequestedBy: "bo-bi", GrantedDate: "2026-01-20", Status: "pending"},
			},
		},
		{
			name: "change_access", database: "orders",
			edit: func(b []byte) ([]byte, bool, error) {
				return ChangeAccess(b, "dev", "orders", "orders_etl", "reader", "sam-ops", now)
			},
			want: []Access{{Username: "orders_etl", Level: "reader", Team: "sre-team", RequestedBy: "sam-ops", GrantedDate: "2026-01-12", Status: "pending", ChangedBy: "sam-ops", ChangedDate: "2026-01-20"}},
		},
		{
			// A grant made before the catalog kept records: what is known.
			name: "change_access_unrecorded", database: "keycloak",
			edit: func(b []byte) ([]byte, bool, error) {
				return ChangeAccess(b, "dev", "keycloak", "keycloak_ro", "editor", "ada-sec", now)
			},
			want: []Access{{Username: "keycloak_ro", Level: "editor", Status: "pending", ChangedBy: "ada-sec", ChangedDate: "2026-01-20"}},
		},
		{
			name: "retire_grant", database: "orders",
			edit: func(b []byte) ([]byte, bool, error) {
				return Retire(b, "dev", "orders", Retirement{Grants: []Access{{Username: "orders_etl", Level: "editor"}}, By: "sam-ops"}, now)
			},
			want: []Access{{Username: "orders_etl", Level: "editor", Team: "sre-team", RequestedBy: "sam-ops", GrantedDate: "2026-01-12", Status: "decommissioning", RetireRequestedBy: "sam-ops", RetireRequestedDate: "2026-01-20"}},
		},
		{
			name: "retire_database", database: "orders",
			edit: func(b []byte) ([]byte, bool, error) {
				return Retire(b, "dev", "orders", Retirement{Database: true, By: "jane-doe", Grants: []Access{{Username: "orders_etl", Level: "editor"}, {Username: "orders_old", Level: "reader"}}}, now)
			},
			want: []Access{
				{Username: "orders_etl", Level: "editor", Team: "sre-team", RequestedBy: "sam-ops", GrantedDate: "2026-01-12", Status: "decommissioning", RetireRequestedBy: "jane-doe", RetireRequestedDate: "2026-01-20"},
				{Username: "orders_old", Level: "reader", Status: "decommissioning", RetireRequestedBy: "jane-doe", RetireRequestedDate: "2026-01-20"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := tt.edit(src)
			if err != nil || !changed {
				t.Fatalf("edit: changed=%v err=%v", changed, err)
			}
			golden(t, "access_"+tt.name+".diff", unified(src, out))
			entries, err := Entries(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name == tt.database {
					if diff := cmp.Diff(tt.want, e.Access); diff != "" {
						t.Errorf("records (-want +got):\n%s", diff)
					}
				}
			}
			if again, changed, err := tt.edit(out); err != nil || changed || string(again) != string(out) {
				t.Errorf("the same edit again: changed=%v err=%v", changed, err)
			}
		})
	}

	t.Run("retire_database status", func(t *testing.T) {
		out, _, err := Retire(src, "dev", "orders", Retirement{Database: true, By: "jane-doe"}, now)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := Entries(out)
		if entries[0].Status != "decommissioning" || entries[1].Status != "active" {
			t.Errorf("statuses %q, %q: want orders decommissioning and keycloak untouched", entries[0].Status, entries[1].Status)
		}
	})
}

func TestAccessRefusals(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	grant := Access{Username: "x_ro", Level: "reader", Team: "app-team", RequestedBy: "a"}
	for _, tt := range []struct {
		name string
		err  error
		want string
		edit func() ([]byte, bool, error)
	}{
		{"no entry", ErrNoEntry, "catalog has no entry for the database: billing", func() ([]byte, bool, error) { return Grant(src, "dev", "billing", grant, now) }},
		{"another environment's file", ErrOtherEnvironment, `for rds_instance "goldenpath-platform-db-dev", not "goldenpath-platform-db-prod"`, func() ([]byte, bool, error) { return Grant(src, "prod", "orders", grant, now) }},
		{"owner level", nil, `access level "owner": want editor or reader`, func() ([]byte, bool, error) {
			return ChangeAccess(src, "dev", "orders", "orders_etl", "owner", "a", now)
		}},
		{"empty catalog", ErrNoEntry, "the catalog is empty", func() ([]byte, bool, error) { return Grant([]byte("# nothing\n"), "dev", "orders", grant, now) }},
		{"access not a mapping", ErrLayout, "access at line 8 must be a mapping", func() ([]byte, bool, error) {
			return Grant([]byte("rds_instance: goldenpath-platform-db-dev\ndatabases:\n  orders:\n    metadata:\n      status: active\n    configuration:\n      username: u\n    access: [a]\n"), "dev", "orders", grant, now)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := tt.edit()
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.err != nil && !errors.Is(err, tt.err)) || changed || out != nil {
				t.Fatalf("err = %v, want %q (%v)", err, tt.want, tt.err)
			}
		})
	}
}

// TestSetStatusesOfAccessRecords: the write-back sets an access record's
// status apart from its database's.
func TestSetStatusesOfAccessRecords(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	granted, _, err := Grant(src, "dev", "orders", Access{Username: "orders_bi", Level: "reader", Team: "app-team", RequestedBy: "bo-bi"}, now)
	if err != nil {
		t.Fatal(err)
	}
	out, changed, err := SetStatuses(granted, "dev", map[Key]string{
		{Database: "orders"}: "active", {Database: "orders", Username: "orders_bi"}: "failed", {Database: "orders", Username: "nobody"}: "active",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"orders/orders_bi"}, changed); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	golden(t, "access_set_statuses.diff", unified(granted, out))
}

// TestSetStatusesKeepsRetirements: provision reaching a retired entry does
// not make it active again; a failure still shows.
func TestSetStatusesKeepsRetirements(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	retiring, _, err := Retire(src, "dev", "orders", Retirement{Database: true, By: "jane-doe", Grants: []Access{{Username: "orders_etl", Level: "editor"}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	out, changed, err := SetStatuses(retiring, "dev", map[Key]string{{Database: "orders"}: "active", {Database: "orders", Username: "orders_etl"}: "active"}, now)
	if err != nil || len(changed) != 0 || string(out) != string(retiring) {
		t.Errorf("a retirement was made active: %v %v", changed, err)
	}
	_, changed, err = SetStatuses(retiring, "dev", map[Key]string{{Database: "orders"}: "failed"}, now)
	if err != nil || !cmp.Equal(changed, []string{"orders"}) {
		t.Errorf("a failure of a retiring entry: %v %v", changed, err)
	}
}
