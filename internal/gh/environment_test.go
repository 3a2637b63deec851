package gh_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

func TestEnvironment(t *testing.T) {
	f := setup(t)
	f.srv.SetEnvironment("staging", ghtest.Environment{Reviewers: []string{"jane-doe", "sre-lead"}, BranchPolicy: true})
	f.srv.SetEnvironment("test", ghtest.Environment{WaitTimer: 30})
	f.srv.SetEnvironment("prod", ghtest.Environment{BranchPolicy: true})
	f.srv.SetEnvironment("qa", ghtest.Environment{})
	f.srv.SetEnvironment("prod-eu", ghtest.Environment{Reviewers: []string{"sre-lead"}, PreventSelfReview: true})
	settings := f.srv.URL() + "/goldenpath/infra/settings/environments"
	tests := []struct {
		name          string
		want          gh.Environment
		wantProtected bool
	}{
		{"staging", gh.Environment{Name: "staging", Exists: true, Reviewers: 2, BranchPolicy: true, SettingsURL: settings}, true},
		{"test", gh.Environment{Name: "test", Exists: true, WaitTimer: 30, SettingsURL: settings}, true},
		{"prod", gh.Environment{Name: "prod", Exists: true, BranchPolicy: true, SettingsURL: settings}, false},
		{"qa", gh.Environment{Name: "qa", Exists: true, SettingsURL: settings}, false},
		{"missing", gh.Environment{Name: "missing", SettingsURL: settings}, false},
		{"prod-eu", gh.Environment{Name: "prod-eu", Exists: true, Reviewers: 1, PreventSelfReview: true, SettingsURL: settings}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.client.Environment(context.Background(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Environment (-want +got):\n%s", diff)
			}
			if got.Protected() != tt.wantProtected {
				t.Errorf("Protected() = %v, want %v", got.Protected(), tt.wantProtected)
			}
		})
	}
}

func TestEnvironmentRefused(t *testing.T) {
	f := setup(t)
	f.srv.FailNext("GET", "/repos/goldenpath/infra/environments/", http.StatusForbidden, nil)
	_, err := f.client.Environment(context.Background(), "staging")
	if !errors.Is(err, gh.ErrPermission) || !strings.Contains(err.Error(), "actions: read") {
		t.Errorf("err = %v, want ErrPermission naming actions: read", err)
	}
}

func TestUpdateFiles(t *testing.T) {
	const file = "docs/catalog.yaml"
	f := setup(t)
	ctx := context.Background()
	upper := func(old []byte) ([]byte, error) { return []byte(strings.ToUpper(string(old)) + "STATUS\n"), nil }
	f.srv.Advance(base, map[string]string{file: "status: pending\n"})
	before := len(f.srv.Commits(base))

	sha, changed, err := f.client.UpdateFiles(ctx, base, []string{file, "docs/absent.yaml"}, "catalog: status", func(name string, old []byte) ([]byte, error) {
		if name != file {
			return old, nil
		}
		if strings.Contains(string(old), "STATUS") {
			return old, nil
		}
		return upper(old)
	})
	if err != nil || !changed {
		t.Fatalf("first update: changed %v, err %v", changed, err)
	}
	commits := f.srv.Commits(base)
	if len(commits) != before+1 || commits[0].SHA != sha || commits[0].Message != "catalog: status" {
		t.Fatalf("want one new commit %s on %s, got %d commits, head %+v", sha, base, len(commits)-before, commits[0])
	}
	if got := f.srv.Files(base)[file]; got != "STATUS: PENDING\nSTATUS\n" {
		t.Errorf("file = %q", got)
	}

	// A rerun whose edit changes nothing makes no commit and writes nothing.
	writes := f.srv.CountCalls("POST", "/repos/goldenpath/infra/git/")
	_, changed, err = f.client.UpdateFiles(ctx, base, []string{file}, "catalog: status", func(_ string, old []byte) ([]byte, error) { return old, nil })
	if err != nil || changed {
		t.Fatalf("rerun: changed %v, err %v", changed, err)
	}
	if len(f.srv.Commits(base)) != before+1 || f.srv.CountCalls("POST", "/repos/goldenpath/infra/git/") != writes {
		t.Error("a rerun wrote to GitHub")
	}
}

// Someone pushes between the read and the branch update: the commit is made
// again on the new head, and the other push survives.
func TestUpdateFilesBranchMovedOn(t *testing.T) {
	const file = "docs/catalog.yaml"
	f := setup(t)
	f.srv.Advance(base, map[string]string{file: "a\n"})
	attempts := 0
	_, changed, err := f.client.UpdateFiles(context.Background(), base, []string{file}, "edit", func(_ string, old []byte) ([]byte, error) {
		attempts++
		if attempts == 1 {
			f.srv.Advance(base, map[string]string{"other.txt": "pushed meanwhile\n"})
		}
		return append(old, "b\n"...), nil
	})
	if err != nil || !changed || attempts != 2 {
		t.Fatalf("changed %v, attempts %d, err %v", changed, attempts, err)
	}
	files := f.srv.Files(base)
	if files[file] != "a\nb\n" || files["other.txt"] != "pushed meanwhile\n" {
		t.Errorf("files after the update: %v", files)
	}
}
