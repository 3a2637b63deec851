package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestUpsertInitialSchema(t *testing.T) {
	now := time.Date(2026, 1, 20, 14, 30, 0, 0, time.UTC)
	e := Entry{Name: "orders", Owner: "app-team", RequestedBy: "dev1", Domain: "catalog", Risk: "low",
		Username: "orders_user", SizeTier: "small", InstanceClass: "db.t3.micro", SecretPath: "goldenpath/dev/orders/postgres"}

	plain, _, err := Upsert(nil, "dev", e, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "initial_schema") {
		t.Errorf("an entry without a template got initial_schema:\n%s", plain)
	}

	e.InitialSchema = "event-sourcing"
	for name, src := range map[string][]byte{"new entry": nil, "existing entry": plain} {
		t.Run(name, func(t *testing.T) {
			out, changed, err := Upsert(src, "dev", e, now)
			if err != nil || !changed {
				t.Fatalf("Upsert = changed %v, %v", changed, err)
			}
			if !strings.Contains(string(out), "      secret_path: goldenpath/dev/orders/postgres\n      initial_schema: event-sourcing\n") {
				t.Errorf("initial_schema is not under configuration:\n%s", out)
			}
			entries, err := Entries(out)
			if err != nil || len(entries) != 1 || entries[0].InitialSchema != "event-sourcing" {
				t.Errorf("read back: %v %+v", err, entries)
			}
			if _, changed, _ := Upsert(out, "dev", e, now.Add(time.Hour)); changed {
				t.Error("the same request again changed the catalog")
			}
		})
	}
}
