package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
)

func TestMergePlanComment(t *testing.T) {
	section := func(env, text string) string {
		return PlanSectionStart(env) + "\n" + text + "\n" + PlanSectionEnd(env) + "\n\n"
	}
	head := PlanMarker + "\n" + PlanHeader
	tests := []struct {
		name, current, env, section, want string
	}{
		{"first plan", "", "dev", "dev plan", head + section("dev", "dev plan")},
		{"rerun replaces its section", head + section("dev", "old"), "dev", "new", head + section("dev", "new")},
		{"keeps other environments, in pipeline order",
			head + section("prod", "prod plan") + section("dev", "dev plan"), "test", "test plan",
			head + section("dev", "dev plan") + section("test", "test plan") + section("prod", "prod plan")},
		{"unknown environments after the known ones, by name",
			head + section("zeta", "z") + section("alpha", "a"), "dev", "d",
			head + section("dev", "d") + section("alpha", "a") + section("zeta", "z")},
		{"a section without its end is dropped",
			head + section("dev", "d") + PlanSectionStart("prod") + "\ncut off", "test", "t",
			head + section("dev", "d") + section("test", "t")},
		{"a section whose name the environment rule refuses is not ours",
			head + section("Prod", "p") + section("../x", "x") + section("dev", "d"), "test", "t",
			head + section("dev", "d") + section("test", "t")},
		{"text outside sections is not kept", "someone's edit\n" + head + section("dev", "d"), "dev", "d2", head + section("dev", "d2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MergePlanComment(tt.current, tt.env, tt.section)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanSection(t *testing.T) {
	row := func(db string, s audit.Status, msg string) audit.Row {
		return audit.Row{Database: db, Username: db + "_user", Action: audit.ActionCreateDatabase, Status: s, Message: msg}
	}
	t.Run("changes, warnings and errors before what is in place", func(t *testing.T) {
		got := PlanSection(Provision{Environment: "dev", Rows: []audit.Row{
			row("a", audit.NoChange, "Database a exists"),
			row("b", audit.DryRun, "Would create database: b"),
			row("c", audit.Error, "Role c_user has CREATEROLE"),
		}})
		want := "### dev\n\n🔍 **1 to change** · ➖ 1 in place · ❌ **1 error**\n\n" +
			"| | Database | Username | Action | Plan |\n|---|---|---|---|---|\n" +
			"| 🔍 | b | b\\_user | create\\_database | Would create database\\: b |\n" +
			"| ❌ | c | c\\_user | create\\_database | Role c\\_user has CREATEROLE |\n\n" +
			"<details><summary>Already in place (1)</summary>\n\n" +
			"| | Database | Username | Action | Plan |\n|---|---|---|---|---|\n" +
			"| ➖ | a | a\\_user | create\\_database | Database a exists |\n\n</details>\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a run-level failure is shown", func(t *testing.T) {
		got := PlanSection(Provision{Environment: "prod", Err: "master secret <x> not found"})
		want := "### prod\n\n> [!CAUTION]\n> **The plan failed:** master secret &lt;x&gt; not found\n\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("too many rows: errors kept, the cut said, within the section budget", func(t *testing.T) {
		var rows []audit.Row
		for i := range 2000 {
			rows = append(rows, row(fmt.Sprintf("db_%04d", i), audit.NoChange, "Database exists, grants already in place"))
		}
		rows = append(rows, row("broken", audit.Error, "Secret not found"))
		got := PlanSection(Provision{Environment: "dev", Rows: rows})
		if n := runeSize(got); n > maxPlanSectionChars {
			t.Errorf("section is %d characters, over %d", n, maxPlanSectionChars)
		}
		for _, want := range []string{"| ❌ | broken |", "_Showing ", " of 2001 rows (errors and warnings first)", "➖ 2000 in place"} {
			if !strings.Contains(got, want) {
				t.Errorf("section lacks %q", want)
			}
		}
	})
}
