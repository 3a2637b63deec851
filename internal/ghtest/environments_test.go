package ghtest

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// The environment is served in the documented shape: go-github decodes its
// protection rules, reviewers included.
func TestGetEnvironment(t *testing.T) {
	s := New(t, "goldenpath", "infra")
	s.SetEnvironment("prod", Environment{Reviewers: []string{"sre-lead"}, WaitTimer: 15, BranchPolicy: true})
	c := s.Client()
	env, _, err := c.Repositories.GetEnvironment(context.Background(), "goldenpath", "infra", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range env.ProtectionRules {
		types = append(types, r.GetType())
	}
	if diff := cmp.Diff([]string{"wait_timer", "required_reviewers", "branch_policy"}, types); diff != "" {
		t.Errorf("rule types (-want +got):\n%s", diff)
	}
	if env.GetName() != "prod" || env.ProtectionRules[0].GetWaitTimer() != 15 {
		t.Errorf("environment: %+v", env)
	}
	rev := env.ProtectionRules[1].Reviewers
	if len(rev) != 1 || rev[0].GetType() != "User" {
		t.Fatalf("reviewers: %+v", rev)
	}
	if u, ok := rev[0].Reviewer.(*github.User); !ok || u.GetLogin() != "sre-lead" {
		t.Errorf("reviewer: %#v", rev[0].Reviewer)
	}

	_, resp, err := c.Repositories.GetEnvironment(context.Background(), "goldenpath", "infra", "staging")
	if err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing environment: status %v, err %v", resp, err)
	}
}
