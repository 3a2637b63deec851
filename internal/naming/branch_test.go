package naming

import (
	"strings"
	"testing"
)

// Each rule of CheckBranch has a name that only it refuses, so removing
// the rule fails its case.
func TestCheckBranch(t *testing.T) {
	for _, tc := range []struct {
		name, branch string
		ok           bool
	}{
		{"plain", "development", true},
		{"with slash, dot, dash and underscore", "database/create-dev-inventory_v1.2", true},
		{"upper case", "Release/2026", true},
		{"100 characters", strings.Repeat("a", 100), true},
		{"empty", "", false},
		{"101 characters", strings.Repeat("a", 101), false},
		{"dot first", ".hidden", false},
		{"space", "a b", false},
		{"two dots", "release..x", false},
		{"two slashes", "a//b", false},
		{"slash dot", "a/.b", false},
		{"trailing slash", "a/", false},
		{"trailing dot", "a.", false},
		{"trailing .lock", "main.lock", false},
		{"colon", "a:b", false},
		{"tilde", "a~1", false},
		{"at-brace", "a@{1}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckBranch(tc.branch); (err == nil) != tc.ok {
				t.Errorf("CheckBranch(%q) = %v, want ok %v", tc.branch, err, tc.ok)
			}
		})
	}
}
