// Package docs checks the repository's Markdown as GitHub renders it: every
// relative link names a file that exists inside the repository, and every
// #anchor names a heading (GitHub's anchor rules) or an HTML id of the file
// it points into. README.md is the front page and docs/ the manual; a link
// that a move broke fails go test ./internal/docs/.
package docs

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// Files are the Markdown files checked, relative to the repository root in
// slash form: the front page, the manual and the other pages of the tree.
func Files(root string) ([]string, error) {
	var out []string
	for _, pattern := range []string{"*.md", "docs/*.md", "certs/*.md"} {
		m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			rel, err := filepath.Rel(root, f)
			if err != nil {
				return nil, err
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Markdown files under %s", root)
	}
	return out, nil
}

// Check reports every relative link or anchor in files (relative to root,
// slash form) that does not resolve, one error per link.
func Check(root string, files []string) error {
	pages := map[string]*page{}
	load := func(rel string) (*page, error) {
		if p, ok := pages[rel]; ok {
			return p, nil
		}
		raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		p := parse(string(raw))
		pages[rel] = p
		return p, nil
	}
	var errs []error
	for _, rel := range files {
		p, err := load(rel)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, l := range p.links {
			if msg := resolve(root, rel, l.dest, load); msg != "" {
				errs = append(errs, fmt.Errorf("%s:%d: link %s: %s", rel, l.line, l.dest, msg))
			}
		}
	}
	return errors.Join(errs...)
}

// resolve returns why dest, a link in file from, does not resolve, or "".
func resolve(root, from, dest string, load func(string) (*page, error)) string {
	if u, err := url.Parse(dest); err == nil && (u.Scheme != "" || strings.HasPrefix(dest, "//")) {
		return "" // a web address: not checked here (no network in tests)
	}
	target, frag, _ := strings.Cut(dest, "#")
	if strings.HasPrefix(target, "/") {
		return "an absolute path breaks on GitHub and in clones: make it relative to " + from
	}
	rel := from
	if target != "" {
		unescaped, err := url.PathUnescape(target)
		if err != nil {
			return fmt.Sprintf("bad escape: %v", err)
		}
		rel = path.Clean(path.Join(path.Dir(from), unescaped))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return "leads outside the repository"
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
			return fmt.Sprintf("%s does not exist", rel)
		}
	}
	if frag == "" || !strings.HasSuffix(rel, ".md") {
		return "" // anchors into source files (#L10) are GitHub's line numbers
	}
	p, err := load(rel)
	if err != nil {
		return err.Error()
	}
	if !p.anchors[frag] {
		return fmt.Sprintf("no heading or id %q in %s", "#"+frag, rel)
	}
	return ""
}

type link struct {
	dest string
	line int
}

// page is what Check needs of one Markdown file: its links and the anchors
// GitHub gives it.
type page struct {
	links   []link
	anchors map[string]bool
}

var (
	fenceRE    = regexp.MustCompile("^ {0,3}(```+|~~~+)")
	headingRE  = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	codeSpanRE = regexp.MustCompile("(`+)[^`]*?(`+)")
	// [text](dest) or ![alt](dest), optionally with a "title".
	linkRE = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// [label]: dest, a reference definition.
	refDefRE = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	htmlIDRE = regexp.MustCompile(`<[a-zA-Z][^>]*\s(?:id|name)\s*=\s*["']([^"']+)["']`)
)

// parse reads links and anchors outside fenced code blocks and code spans.
func parse(text string) *page {
	p := &page{anchors: map[string]bool{}}
	seen := map[string]int{}
	fence := ""
	for i, line := range strings.Split(text, "\n") {
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case fence == "":
				fence = m[1]
				continue
			case m[1][0] == fence[0] && len(m[1]) >= len(fence):
				fence = ""
				continue
			}
		}
		if fence != "" {
			continue
		}
		for _, m := range htmlIDRE.FindAllStringSubmatch(line, -1) {
			p.anchors[m[1]] = true
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			p.anchors[uniqueSlug(Slug(m[2]), seen)] = true
		}
		code := codeSpanRE.ReplaceAllStringFunc(line, func(s string) string { return strings.Repeat("x", len(s)) })
		for _, m := range linkRE.FindAllStringSubmatchIndex(code, -1) {
			p.links = append(p.links, link{dest: line[m[2]:m[3]], line: i + 1})
		}
		if m := refDefRE.FindStringSubmatch(code); m != nil {
			p.links = append(p.links, link{dest: m[1], line: i + 1})
		}
	}
	return p
}

// uniqueSlug gives a repeated heading GitHub's suffix, as github-slugger
// does: the second "Flags" is #flags-1, the third #flags-2.
func uniqueSlug(s string, occurrences map[string]int) string {
	out := s
	for {
		if _, taken := occurrences[out]; !taken {
			break
		}
		occurrences[s]++
		out = fmt.Sprintf("%s-%d", s, occurrences[s])
	}
	occurrences[out] = 0
	return out
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTagRE    = regexp.MustCompile(`<[^>]+>`)
)

// Slug is the anchor GitHub gives a heading: the heading's text as rendered
// (code spans, emphasis and links reduced to their text, HTML tags
// dropped), lower-cased, every character other than a letter, digit, mark,
// space, hyphen or underscore removed, then each space made a hyphen.
func Slug(heading string) string {
	s := inlineLinkRE.ReplaceAllString(heading, "$1")
	s = htmlTagRE.ReplaceAllString(s, "")
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
