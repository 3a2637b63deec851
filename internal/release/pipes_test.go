package release

import (
	"testing"
)

// TestScriptsHaveNoSIGPIPEPipes: nothing CI or a caller's workflow runs
// pipes into a reader that may leave early (see earlyExitRE).
func TestScriptsHaveNoSIGPIPEPipes(t *testing.T) {
	if err := CheckPipes(repoRoot); err != nil {
		t.Errorf("pipelines that can fail on SIGPIPE:\n%v", err)
	}
}

func TestCheckPipesIn(t *testing.T) {
	tests := []struct {
		line string
		bad  bool
	}{
		{"terraform version 2>/dev/null | head -1", true},
		{`echo "**$(grep -E '^Plan:' tfplan.txt | head -n 1 || echo none)**"`, true},
		{"go version|head -1", true},
		{"ps aux | grep -q postgres", true},
		{"git log | grep -m1 fix", true},
		{"git log | grep --max-count=1 fix", true},
		{"git log | grep -E -q fix", true},
		{"git log | grep -E fix", false},
		{"terraform version | sed 1q", true},
		{"terraform version | sed -n '1p'", false}, // sed -n 1p reads everything
		{`echo "$(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"`, false},
		{"cat digests.txt | while read -r tag ref; do echo; done", false},
		{"command -v terraform >/dev/null || head -1 file", false},
		{"runs-on: ${{ inputs.a || 'ubuntu-latest' }}", false},
		{"grep -m 1 -E '^Plan:' tfplan.txt || echo none", false},
		{"head -c 60000 tfplan.txt", false},
		{"  # terraform version | head -1 would fail under pipefail", false},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			if got := len(checkPipesIn("x", tc.line)) > 0; got != tc.bad {
				t.Errorf("flagged = %v, want %v", got, tc.bad)
			}
		})
	}
}
