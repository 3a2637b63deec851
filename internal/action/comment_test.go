package action

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEventPullRequest(t *testing.T) {
	tests := []struct {
		name, payload string
		want          int
	}{
		{"push", `{"ref":"refs/heads/development","before":"0000000000000000000000000000000000000000","after":"abc"}`, 0},
		{"workflow_dispatch", `{"inputs":{"environment":"dev"},"ref":"refs/heads/development"}`, 0},
		{"pull_request", `{"number":12,"pull_request":{"number":12}}`, 12},
		{"issue_comment on a pull request", `{"issue":{"number":7,"pull_request":{"url":"x"}}}`, 7},
		{"issue_comment on an issue", `{"issue":{"number":7}}`, 0},
		{"not JSON", `{`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(p, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := eventPullRequest(p); got != tt.want {
				t.Errorf("eventPullRequest = %d, want %d", got, tt.want)
			}
		})
	}
	if got := eventPullRequest(""); got != 0 {
		t.Errorf("no event file: %d", got)
	}
}
