package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is this repository, from internal/docs.
const repoRoot = "../.."

// TestRepositoryLinksResolve: every relative link and #anchor of README.md
// and docs/*.md (and the other pages) resolves.
func TestRepositoryLinksResolve(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", "docs/provision.md", "docs/troubleshooting.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("Files does not list %s: %v", want, files)
		}
	}
	if err := Check(repoRoot, files); err != nil {
		t.Errorf("broken links:\n%v", err)
	}
}

// TestSlug: GitHub's anchors for headings this repository has.
func TestSlug(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"Provision mode", "provision-mode"},
		{"Schema templates (`initial_schema`)", "schema-templates-initial_schema"},
		{"Concurrency: exactly what happens", "concurrency-exactly-what-happens"},
		{"1. The caller workflow", "1-the-caller-workflow"},
		{"Lost the connection to RDS / Cancelled", "lost-the-connection-to-rds--cancelled"},
		{"path resolves outside --repo-root", "path-resolves-outside---repo-root"},
		{"ALLOW_DB_PROVISION=true required for prod environment", "allow_db_provisiontrue-required-for-prod-environment"},
		{"GitHub App (recommended)", "github-app-recommended"},
		{"Where application_databases lives", "where-application_databases-lives"},
		{"**Bold** and [a link](x.md)", "bold-and-a-link"},
		{"Café ✅ déjà", "café--déjà"},
		{"  trailing spaces  ", "trailing-spaces"},
	}
	for _, tc := range tests {
		if got := Slug(tc.heading); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// TestCheck: what resolves and what does not, in a small tree.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", strings.Join([]string{
		"# Title",
		"[ok](docs/a.md) [ok](docs/a.md#flags) [ok](docs/a.md#flags-1) [ok](#title) [ok](docs/)",
		"[ok](https://example.com/x#y) [ok](internal/x.go#L10) [ok](docs/a.md#kept-id)",
		"[missing file](docs/b.md)",           // 4
		"[missing anchor](docs/a.md#flags-2)", // 5
		"[own anchor](#nope)",                 // 6
		"[outside](../x.md)",                  // 7
		"[absolute](/docs/a.md)",              // 8
		"`[in a code span](nope.md)`",
		"```",
		"[in a fence](nope.md)",
		"## Heading in a fence",
		"```",
		"[heading in a fence](#heading-in-a-fence)", // 14
		"[ref]: docs/gone.md",                       // 15
		"![image](docs/img.png)",                    // 16
	}, "\n"))
	write("docs/a.md", "# A\n\n## Flags\n\n## Flags\n\n<a id=\"kept-id\"></a>\n")
	write("internal/x.go", "package x\n")

	err := Check(root, []string{"README.md", "docs/a.md"})
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
	}
	want := []string{
		"README.md:4: link docs/b.md: docs/b.md does not exist",
		`README.md:5: link docs/a.md#flags-2: no heading or id "#flags-2" in docs/a.md`,
		`README.md:6: link #nope: no heading or id "#nope" in README.md`,
		"README.md:7: link ../x.md: leads outside the repository",
		"README.md:8: link /docs/a.md: an absolute path breaks on GitHub and in clones: make it relative to README.md",
		`README.md:14: link #heading-in-a-fence: no heading or id "#heading-in-a-fence" in README.md`,
		"README.md:15: link docs/gone.md: docs/gone.md does not exist",
		"README.md:16: link docs/img.png: docs/img.png does not exist",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestMakeTargetsExist: every make command in a code block or code span of
// the pages names a target of the Makefile.
func TestMakeTargetsExist(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z][a-zA-Z0-9_-]*):`).FindAllStringSubmatch(string(raw), -1) {
		targets[m[1]] = true
	}
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	fence := regexp.MustCompile("(?ms)^ {0,3}```[^\\n]*\\n(.*?)^ {0,3}```")
	span := regexp.MustCompile("`([^`\\n]+)`")
	// make at the start of a line or span, after environment assignments.
	makeRE := regexp.MustCompile(`(?m)^[ \t]*(?:[A-Z_]+=\S*[ \t]+)*make[ \t]+((?:[A-Z_]+=\S*[ \t]+)*)([a-z][a-z0-9-]*)`)
	checked := 0
	for _, rel := range files {
		text, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Fatal(err)
		}
		var snippets []string
		for _, m := range fence.FindAllStringSubmatch(string(text), -1) {
			snippets = append(snippets, m[1])
		}
		for _, m := range span.FindAllStringSubmatch(fence.ReplaceAllString(string(text), ""), -1) {
			snippets = append(snippets, m[1])
		}
		for _, s := range snippets {
			for _, m := range makeRE.FindAllStringSubmatch(s, -1) {
				checked++
				if !targets[m[2]] {
					t.Errorf("%s: make %s: the Makefile has no target %s", rel, m[2], m[2])
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d make commands; the pages hold more: is the pattern broken?", checked)
	}
}
