package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

func TestOutcomes(t *testing.T) {
	entries := []tfvars.Entry{
		{DatabaseName: "orders", Username: "orders_user", AccessLevel: tfvars.AccessOwner},
		{DatabaseName: "broken", Username: "broken_user", AccessLevel: tfvars.AccessOwner},
		{DatabaseName: "later", Username: "later_user", AccessLevel: tfvars.AccessOwner}, // fail-fast stopped before it
		{DatabaseName: "orders", Username: "orders_reader", AccessLevel: tfvars.AccessReader},
	}
	row := func(db, user string, s audit.Status, msg string) audit.Row {
		return audit.Row{Database: db, Username: user, Status: s, Message: msg}
	}
	rows := []audit.Row{
		row("orders", "orders_user", audit.Success, "Role created"),
		row("orders", "orders_user", audit.Warning, "owner is postgres"),
		row("broken", "broken_user", audit.NoChange, "Password updated"),
		row("broken", "broken_user", audit.Error, "Secret not found: goldenpath/dev/broken/postgres"),
		row("broken", "broken_user", audit.Error, "a second error"),
		// A row of another entry's database under another username counts
		// for that entry only.
		row("orders", "orders_reader", audit.Error, "Refusing to manage role orders_reader"),
		row("stray", "stray_user", audit.Success, "not an entry"),
	}
	want := []Outcome{
		{Database: "orders", Username: "orders_user", AccessLevel: "owner", Status: "active"},
		{Database: "broken", Username: "broken_user", AccessLevel: "owner", Status: "failed", Error: "Secret not found: goldenpath/dev/broken/postgres"},
		{Database: "orders", Username: "orders_reader", AccessLevel: "reader", Status: "failed", Error: "Refusing to manage role orders_reader"},
	}
	got := Outcomes(entries, rows)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The reader's failure is its access record's, never the database's.
	var keys []Key
	for _, o := range got {
		keys = append(keys, o.Key())
	}
	if diff := cmp.Diff([]Key{{Database: "orders"}, {Database: "broken"}, {Database: "orders", Username: "orders_reader"}}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestStatusUpdateFilesAndMessage(t *testing.T) {
	u := StatusUpdate{Env: "prod", RepoRoot: "infra/", Outcomes: []Outcome{{Database: "orders", Status: "active"}, {Database: "billing", Status: "failed"}},
		RunURL: "https://github.com/o/r/actions/runs/1"}
	files, err := u.Files()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"infra/" + Path("prod"), "infra/" + Path("dev")}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	want := "catalog: billing, orders in prod after provisioning\n\norders: active\nbilling: failed\n\nRun: https://github.com/o/r/actions/runs/1\n"
	if diff := cmp.Diff(want, u.Message()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if files, _ := (StatusUpdate{Env: "dev"}).Files(); len(files) != 1 || files[0] != Path("dev") {
		t.Errorf("dev files: %v, want its own catalog only", files)
	}
	for _, root := range []string{"..", "../infra", "/infra"} {
		if _, err := (StatusUpdate{Env: "dev", RepoRoot: root}).Files(); !errors.Is(err, ErrOutsideRepository) {
			t.Errorf("repo root %q: %v, want ErrOutsideRepository", root, err)
		}
	}
}

// WriteStatus through the real GitHub client: one commit with both files,
// none on a rerun, a missing shared catalog left missing, and another
// environment's entry untouched.
func TestWriteStatusThroughGitHub(t *testing.T) {
	srv := ghtest.New(t, "goldenpath", "infra")
	own := "version: \"1.0\"\nlast_updated: \"2026-01-15\"\nrds_instance: " + Instance("test") + "\ndatabases:\n" +
		"  orders:\n    metadata:\n      environment: test\n      status: pending\n" +
		"  broken:\n    metadata:\n      environment: test\n      status: pending   # set by provisioning\n"
	shared := "rds_instance: " + Instance("dev") + "\ndatabases:\n" +
		"  billing:\n    metadata:\n      environment: test\n      status: pending\n" +
		"  orders:\n    metadata:\n      environment: dev\n      status: pending\n"
	srv.SeedBranch("development", map[string]string{Path("test"): own, Path("dev"): shared})
	client, err := gh.New(gh.Options{BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository()})
	if err != nil {
		t.Fatal(err)
	}
	u := StatusUpdate{Env: "test", Outcomes: []Outcome{
		{Database: "orders", Status: "active"}, {Database: "broken", Status: "failed", Error: "Secret not found"}, {Database: "billing", Status: "active"},
	}, Now: now}
	before := len(srv.Commits("development"))

	res, err := WriteStatus(context.Background(), client, "development", u)
	if err != nil {
		t.Fatal(err)
	}
	commits := srv.Commits("development")
	if len(commits) != before+1 || res.Commit != commits[0].SHA || !res.Written {
		t.Fatalf("result %+v; %d new commits", res, len(commits)-before)
	}
	if diff := cmp.Diff([]string{"orders", "broken", "billing"}, res.Changed); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	files := srv.Files("development")
	for file, want := range map[string][]string{
		Path("test"): {"orders:\n    metadata:\n      environment: test\n      status: active\n", "status: failed   # set by provisioning\n"},
		Path("dev"):  {"billing:\n    metadata:\n      environment: test\n      status: active\n", "orders:\n    metadata:\n      environment: dev\n      status: pending\n"},
	} {
		for _, w := range want {
			if !strings.Contains(files[file], w) {
				t.Errorf("%s lacks %q:\n%s", file, w, files[file])
			}
		}
	}
	if !strings.Contains(res.Diff, "--- a/"+Path("test")) || !strings.Contains(res.Diff, "+      status: active\n") {
		t.Errorf("diff:\n%s", res.Diff)
	}

	again, err := WriteStatus(context.Background(), client, "development", u)
	if err != nil {
		t.Fatal(err)
	}
	if again.Written || again.Commit != "" || len(srv.Commits("development")) != before+1 {
		t.Errorf("rerun: %+v, %d commits: want no write", again, len(srv.Commits("development"))-before)
	}

	// Only the environment's own catalog exists: the shared one is not
	// created.
	srv.SeedBranch("other", map[string]string{Path("test"): own})
	if _, err := WriteStatus(context.Background(), client, "other", u); err != nil {
		t.Fatal(err)
	}
	if _, made := srv.Files("other")[Path("dev")]; made {
		t.Error("the missing shared catalog was created")
	}
}
