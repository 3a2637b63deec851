package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The manual's pages, from internal/cli.
const docsRoot = "../.."

// helpFlags are the flags a command's --help lists ("" for the top level).
func helpFlags(t *testing.T, command string) []string {
	t.Helper()
	args := []string{"--help"}
	if command != "" {
		args = []string{command, "--help"}
	}
	code, stdout, stderr := cliRun(t, nil, args...)
	if code != ExitOK {
		t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  (--[a-z][a-z0-9-]*)`).FindAllStringSubmatch(stdout, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out) // a usage text may name a flag too
}

// tableFlags are the flags in the first column of the table under the
// page's "## Flags" heading.
func tableFlags(t *testing.T, page string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(docsRoot, page))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Flags\n")
	if !ok {
		t.Fatalf("%s has no ## Flags section", page)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	var out []string
	for _, line := range strings.Split(section, "\n") {
		if m := regexp.MustCompile("^\\| `(--[a-z][a-z0-9-]*)").FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// TestDocsFlagTablesMatchHelp: the flags tables of docs/provision.md and
// docs/request.md list exactly the flags the commands take.
func TestDocsFlagTablesMatchHelp(t *testing.T) {
	for command, page := range map[string]string{"provision": "docs/provision.md", "request": "docs/request.md"} {
		t.Run(command, func(t *testing.T) {
			if diff := cmp.Diff(helpFlags(t, command), tableFlags(t, page)); diff != "" {
				t.Errorf("%s's flags table against %s --help (-help +table):\n%s", page, command, diff)
			}
		})
	}
}

var (
	fenceRE    = regexp.MustCompile("(?ms)^ {0,3}```[^\\n]*\\n(.*?)^ {0,3}```")
	codeSpanRE = regexp.MustCompile("`([^`\\n]+)`")
	// A command line: at the start of a line or span, after a prompt and
	// environment assignments, the binary by any path, then a word that
	// looks like a command or a flag.
	commandRE = regexp.MustCompile(`(?m)^[ \t]*(?:\$[ \t]+)?(?:[A-Z_]+=\S*[ \t]+)*(?:\S*/)?rds-provision[ \t]+([a-z][a-z-]*|-[a-z-]+)\b([^\n]*)`)
	flagRE    = regexp.MustCompile(`(?:^|[\s\[(])(--?[a-z][a-z0-9-]*)`)
)

// TestDocsExamplesUseRealFlags: every rds-provision command line in a code
// block or code span of README.md and docs/*.md names a command that exists
// and only flags that command takes.
func TestDocsExamplesUseRealFlags(t *testing.T) {
	pages, _ := filepath.Glob(filepath.Join(docsRoot, "docs", "*.md"))
	pages = append(pages, filepath.Join(docsRoot, "README.md"))
	help := []string{"-h", "-help", "--help"} // every command takes them
	flags := map[string][]string{"": append(helpFlags(t, ""), help...)}
	for _, c := range commands() {
		flags[c.name] = help
		if c.name != "action" { // the action takes inputs, not flags
			flags[c.name] = append(helpFlags(t, c.name), help...)
		}
	}
	checked := 0
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		var snippets []string
		for _, m := range fenceRE.FindAllStringSubmatch(string(raw), -1) {
			snippets = append(snippets, strings.ReplaceAll(m[1], "\\\n", " "))
		}
		for _, m := range codeSpanRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(string(raw), ""), -1) {
			snippets = append(snippets, m[1])
		}
		rel, _ := filepath.Rel(docsRoot, page)
		for _, s := range snippets {
			for _, m := range commandRE.FindAllStringSubmatch(s, -1) {
				command, rest := m[1], m[2]
				if strings.HasPrefix(command, "-") {
					command, rest = "", m[1]+" "+m[2]
				}
				known, ok := flags[command]
				if !ok {
					t.Errorf("%s: rds-provision %s: no such command", rel, command)
					continue
				}
				rest, _, _ = strings.Cut(rest, " #") // a shell comment
				name := strings.TrimSpace("rds-provision " + command)
				for _, f := range flagRE.FindAllStringSubmatch(rest, -1) {
					if !slices.Contains(known, f[1]) {
						t.Errorf("%s: %s ... %s: %s --help has no %s", rel, name, f[1], name, f[1])
					}
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d command lines; the pages hold more: is the pattern broken?", checked)
	}
}
