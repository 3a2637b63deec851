// Package report renders what rds-provision reports as Markdown: the job
// summary and pull request comment of a provision run, the plan comment of
// a dry run on a pull request, the job summary of a request, and the
// catalog status table. Every function is pure (values in, text out), so
// the action and the command line render the same reports, and golden
// files under testdata show them.
//
// Every value that comes from outside (messages, form fields, error text)
// is rendered inert (text), and every report stays within GitHub's limits:
// a job summary in bytes, a comment in characters.
package report

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// text renders untrusted text (audit messages, form values, error text) as
// inert Markdown on one line: safe inside a table cell, unable to open a
// link, an image, emphasis, code, HTML or an @-mention, or to end the cell.
func text(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			// Control and format characters (bidi overrides, zero-width
			// joiners) could disguise the text; drop them.
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '@':
			// An entity does not notify anyone; a bare @team would.
			b.WriteString("&#64;")
		case strings.ContainsRune("\\`*_[]()|~#!:", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cut shortens s to at most n runes, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// link renders a link to an http(s) address; any other address is shown
// as escaped text, so a crafted URL cannot become javascript: or an image.
func link(label, addr string) string {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return text(label)
	}
	return "[" + text(label) + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20", "\n", "", "\r", "").Replace(u.String()) + ">)"
}

// fence wraps content in a fenced code block whose fence is longer than
// any run of backticks inside it, so the content cannot close the block.
func fence(lang, content string) string {
	longest, run := 0, 0
	for _, r := range content {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return fence + lang + "\n" + content + fence + "\n"
}

// byteSize and runeSize measure a text against GitHub's limits: the step
// summary is limited in bytes, a comment in characters.
func byteSize(s string) int { return len(s) }
func runeSize(s string) int { return utf8.RuneCountInString(s) }

// cutTo shortens s to fit limit under size, on a rune boundary and, when one
// is near, at the end of a line.
func cutTo(s string, limit int, size func(string) int) string {
	if size(s) <= limit {
		return s
	}
	rs := []rune(s)
	lo, hi := 0, len(rs)
	for lo < hi { // largest prefix that fits
		mid := (lo + hi + 1) / 2
		if size(string(rs[:mid])) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	out := string(rs[:lo])
	if i := strings.LastIndexByte(out, '\n'); i > len(out)*9/10 {
		out = out[:i+1]
	}
	return out
}

// runRef is a run id as Markdown, linked to the run when its address is
// known.
func runRef(id, url string) string {
	if url != "" {
		return link(id, url)
	}
	return text(id)
}

// shortSHA is the 7-character abbreviation of a commit SHA (shorter input
// as is).
func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
