package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// An entry on a declared instance records it in configuration.instance,
// after instance_class; an entry without one writes no such key (the
// golden files of the implicit instance hold none).
func TestUpsertInstance(t *testing.T) {
	now := time.Date(2026, 1, 20, 14, 30, 0, 0, time.UTC)
	e := Entry{Name: "ledger", Owner: "app-team", RequestedBy: "dev1", Domain: "catalog", Risk: "low",
		Username: "ledger_user", SizeTier: "large", InstanceClass: "db.t3.medium", SecretPath: "goldenpath/prod/ledger/postgres",
		Instance: "shared-large-1", InitialSchema: "basic-app"}
	out, changed, err := Upsert(nil, "prod", e, now)
	if err != nil || !changed {
		t.Fatalf("Upsert = %v, %v", changed, err)
	}
	want := "    configuration:\n      username: ledger_user\n      size_tier: large\n      instance_class: db.t3.medium\n      instance: shared-large-1\n      secret_path: goldenpath/prod/ledger/postgres\n      initial_schema: basic-app\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("configuration is not\n%s\nin:\n%s", want, out)
	}
	entries, err := Entries(out)
	if err != nil || len(entries) != 1 || entries[0].Instance != "shared-large-1" {
		t.Fatalf("read back: %v %+v", err, entries)
	}
	if _, changed, err := Upsert(out, "prod", e, now.Add(time.Hour)); changed || err != nil {
		t.Errorf("the same request again: changed %v, %v", changed, err)
	}

	// An entry written before rds_instances (no instance) gets it.
	plain := e
	plain.Instance = ""
	old, _, err := Upsert(nil, "prod", plain, now)
	if err != nil || strings.Contains(string(old), " instance:") {
		t.Fatalf("an entry without an instance: %v\n%s", err, old)
	}
	out2, changed, err := Upsert(old, "prod", e, now)
	if err != nil || !changed || !strings.Contains(string(out2), "      instance: shared-large-1\n") {
		t.Errorf("adding the instance: changed %v, %v\n%s", changed, err, out2)
	}

	// Another instance for the same database is a conflict, not an edit.
	moved := e
	moved.Instance = "shared-large-2"
	if _, _, err := Upsert(out, "prod", moved, now); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `ledger is on instance "shared-large-1", not "shared-large-2"`) {
		t.Errorf("Upsert onto another instance: %v, want ErrConflict", err)
	}
}
