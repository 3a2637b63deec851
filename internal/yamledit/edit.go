package yamledit

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Editor changes a document's Node tree and records, for each change, the
// line edit that makes the same change in the text. Result applies the
// line edits and checks that the text reads back as the tree.
type Editor struct {
	f     *File
	step  int // indentation step of the file's nested mappings
	edits []edit
	// cannot says why some change has no line edit; the text is then
	// re-encoded whole, if that can be done without loss.
	cannot string
	err    error
	// ends holds, per mapping given new keys, where they go: computed
	// once, from the mapping as read.
	ends map[*yaml.Node]int
}

// ErrUnsafe is what an *UnsafeError is: no line edit makes the change,
// and writing the document whole would lose or alter something.
var ErrUnsafe = errors.New("cannot be edited safely")

// UnsafeError says why a change cannot be written: Reason is why no line
// edit makes it; Documents, when over 1, is how many documents the file
// holds that a whole rewrite would not keep.
type UnsafeError struct {
	Reason    string
	Documents int
}

func (e *UnsafeError) Error() string {
	if e.Documents > 1 {
		return fmt.Sprintf("%s: %s, and the file holds %d YAML documents that a rewrite would not keep", ErrUnsafe, e.Reason, e.Documents)
	}
	return fmt.Sprintf("%s: %s", ErrUnsafe, e.Reason)
}

func (e *UnsafeError) Unwrap() error { return ErrUnsafe }

// edit replaces text[from:to] of line, or inserts lines before line.
type edit struct {
	line     int // 0-based index into file.lines
	from, to int // byte offsets in the line without its ending
	text     string
	insert   []string // lines without endings; nil for a replacement
	seq      int
}

// NewEditor starts editing the document f chose; f must have one.
func NewEditor(f *File) *Editor {
	ed := &Editor{f: f, step: indentStep(f.Root()), ends: map[*yaml.Node]int{}}
	if f.oddBreaks {
		ed.fail("the file has line breaks other than LF and CRLF")
	}
	return ed
}

// indentStep is the indentation of the first nested block mapping, 2 when
// there is none.
func indentStep(m *yaml.Node) int {
	if m == nil || m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 {
		return 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Column > m.Content[i].Column {
			return v.Content[0].Column - m.Content[i].Column
		}
		if s := indentStep(v); s > 0 {
			return s
		}
	}
	return 2
}

func (ed *Editor) fail(format string, args ...any) {
	if ed.cannot == "" {
		ed.cannot = fmt.Sprintf(format, args...)
	}
}

// SetScalar gives the scalar n a new string value, in its own quoting
// style when that can hold it. A plain timestamp stays one.
func (ed *Editor) SetScalar(n *yaml.Node, value string) {
	line, from, to, ok := ed.span(n)
	if ok {
		ok = restOK(content(ed.f.lines[line])[to:])
	}
	n.Value = value
	if n.Tag != "!!timestamp" {
		n.Tag = "!!str"
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 && !plainSafe(value) {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	text, err := scalarText(value, n.Style)
	if err != nil {
		ed.err = fmt.Errorf("%s: %w", ed.f.opts.name(), err)
		return
	}
	if n.Tag == "!!timestamp" && n.Style == 0 {
		text = value
	}
	if !ok {
		ed.fail("the value at line %d is not a one-line scalar", n.Line)
		return
	}
	ed.add(edit{line: line, from: from, to: to, text: text})
}

// SetKey sets key in the mapping m: a new key is inserted as lines after
// the mapping's last line; an existing one is replaced in the tree only,
// which needs a whole rewrite.
func (ed *Editor) SetKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			ed.fail("the value of %s at line %d is not what rds-provision writes there", key, m.Content[i].Line)
			m.Content[i+1] = v
			return
		}
	}
	if m.Style&yaml.FlowStyle != 0 || len(m.Content) == 0 || m.Content[0].Line == 0 {
		ed.fail("the mapping at line %d is in flow style", m.Line)
	}
	if ed.cannot != "" {
		m.Content = append(m.Content, Str(key), v)
		return
	}
	indent := m.Content[0].Column - 1
	at, ok := ed.ends[m]
	if !ok {
		at = ed.blockEnd(m, len(m.Content)-2, len(ed.f.lines))
		ed.ends[m] = at
	}
	m.Content = append(m.Content, Str(key), v)
	lines, err := ed.render(indent, key, v)
	if err != nil {
		ed.err = err
		return
	}
	ed.add(edit{line: at, insert: lines})
}

// SetKeyBefore inserts key into the top-level mapping m just before the
// key before, or at the end when before is missing or first.
func (ed *Editor) SetKeyBefore(m *yaml.Node, key string, v *yaml.Node, before string) {
	j := -1
	for i := 2; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == before {
			j = i
		}
	}
	if j < 0 || m.Style&yaml.FlowStyle != 0 || m.Content[0].Column != 1 || ed.cannot != "" {
		ed.SetKey(m, key, v)
		return
	}
	at := ed.blockEnd(m, j-2, m.Content[j].Line-1)
	m.Content = append(m.Content[:j], append([]*yaml.Node{Str(key), v}, m.Content[j:]...)...)
	lines, err := ed.render(0, key, v)
	if err != nil {
		ed.err = err
		return
	}
	ed.add(edit{line: at, insert: lines})
}

// AddUnder adds name: entry to the mapping under key in the mapping
// parent. That mapping may be missing (key is added), or empty: "key: {}",
// "key:" or "key: ~" become a block mapping holding name.
func (ed *Editor) AddUnder(parent *yaml.Node, key, name string, entry *yaml.Node) {
	under := Lookup(parent, key)
	switch {
	case under == nil:
		ed.SetKey(parent, key, Mapping(name, entry))
		return
	case under.Kind == yaml.MappingNode && len(under.Content) > 0:
		ed.SetKey(under, name, entry)
		return
	case under.Kind != yaml.MappingNode && under.Tag != "!!null":
		ed.fail("%s at line %d is neither a mapping nor empty", key, under.Line)
		setKey(parent, key, Mapping(name, entry))
		return
	}
	filled := Mapping(name, entry)
	setKey(parent, key, filled)
	if ed.cannot != "" {
		return
	}
	keyN := KeyNode(parent, key)
	line, _, keyEnd, ok := ed.span(keyN)
	text := content(ed.f.lines[line])
	if !ok || keyEnd >= len(text) || text[keyEnd] != ':' || under.Line != 0 && under.Line != keyN.Line {
		ed.fail("%s at line %d is not on one line with its key", key, keyN.Line)
		return
	}
	valueEnd := keyEnd + 1
	switch {
	case under.Kind == yaml.MappingNode:
		from := byteCol(text, under.Column)
		if !strings.HasPrefix(text[from:], "{}") {
			ed.fail("%s at line %d is not {}", key, keyN.Line)
			return
		}
		valueEnd = from + 2
	case under.Value != "":
		var vl int
		if vl, _, valueEnd, ok = ed.span(under); !ok || vl != line {
			ed.fail("%s at line %d is not a one-line null", key, keyN.Line)
			return
		}
	}
	if !restOK(text[valueEnd:]) {
		ed.fail("%s at line %d is followed by more than a comment", key, keyN.Line)
		return
	}
	if valueEnd > keyEnd+1 {
		ed.add(edit{line: line, from: keyEnd + 1, to: valueEnd})
	}
	keyCol := keyN.Column - 1
	at := line + 1
	for i := line + 1; i < len(ed.f.lines); i++ {
		s := content(ed.f.lines[i])
		if strings.TrimSpace(s) == "" {
			continue
		}
		if indentOf(s) <= keyCol {
			break
		}
		at = i + 1
	}
	lines, err := ed.render(keyCol+ed.step, name, entry)
	if err != nil {
		ed.err = err
		return
	}
	ed.add(edit{line: at, insert: lines})
}

func (ed *Editor) add(e edit) {
	e.seq = len(ed.edits)
	ed.edits = append(ed.edits, e)
}

// blockEnd is the line index after the value of the block mapping m's
// key at index k: the lines after the key, up to line limit, that are
// indented at least as the keys (at least 1 for the top level), blank
// lines at the end excluded.
func (ed *Editor) blockEnd(m *yaml.Node, k, limit int) int {
	keyCol := max(m.Content[0].Column-1, 1)
	last := m.Content[k].Line - 1
	limit = min(limit, len(ed.f.lines))
	at := last + 1
	for i := last + 1; i < limit; i++ {
		s := content(ed.f.lines[i])
		if strings.TrimSpace(s) == "" {
			continue
		}
		if indentOf(s) < keyCol {
			break
		}
		at = i + 1
	}
	return at
}

// render writes key: v at indent, as block lines.
func (ed *Editor) render(indent int, key string, v *yaml.Node) ([]string, error) {
	k, err := scalarText(key, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ed.f.opts.name(), err)
	}
	pad := strings.Repeat(" ", indent)
	switch {
	case v.Kind == yaml.ScalarNode:
		t, err := scalarText(v.Value, v.Style)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ed.f.opts.name(), err)
		}
		return []string{pad + k + ": " + t}, nil
	case v.Kind == yaml.MappingNode && len(v.Content) == 0:
		return []string{pad + k + ": {}"}, nil
	case v.Kind == yaml.MappingNode:
		v.Style &^= yaml.FlowStyle
		out := []string{pad + k + ":"}
		for i := 0; i+1 < len(v.Content); i += 2 {
			sub, err := ed.render(indent+ed.step, v.Content[i].Value, v.Content[i+1])
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: cannot write %s", ed.f.opts.name(), key)
}

// span finds the text of the one-line scalar n: its line index and byte
// range. ok is false for block scalars, tags and multi-line values.
func (ed *Editor) span(n *yaml.Node) (line, from, to int, ok bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(ed.f.lines) ||
		n.Style&(yaml.TaggedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.FlowStyle) != 0 {
		return 0, 0, 0, false
	}
	line = n.Line - 1
	text := content(ed.f.lines[line])
	from = byteCol(text, n.Column)
	if from < 0 {
		return 0, 0, 0, false
	}
	rest := text[from:]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		to = closing(rest, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		to = closing(rest, '\'')
	case n.Value != "" && strings.HasPrefix(rest, n.Value):
		to = len(n.Value)
	default:
		to = -1
	}
	if to < 0 {
		return 0, 0, 0, false
	}
	return line, from, from + to, true
}

// closing is the end offset of the quoted scalar at the start of s, -1
// when it does not close on this line.
func closing(s string, q byte) int {
	if s == "" || s[0] != q {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return -1
}

// restOK: what follows a value on its line is only spaces or a comment.
func restOK(rest string) bool {
	t := strings.TrimLeft(rest, " \t")
	return t == "" || t[0] == '#' && len(t) < len(rest)
}

// byteCol turns yaml's 1-based column (in characters) into a byte offset.
func byteCol(s string, col int) int {
	n := 0
	for i := range s {
		if n == col-1 {
			return i
		}
		n++
	}
	if n == col-1 {
		return len(s)
	}
	return -1
}

func content(line string) string { return strings.TrimRight(line, "\r\n") }

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// Result is the edited text: the line edits applied when they read back
// as the edited tree; else the document encoded whole, when it is the
// file's only one. Otherwise the error is an *UnsafeError.
func (ed *Editor) Result() ([]byte, error) {
	if ed.err != nil {
		return nil, ed.err
	}
	why := ed.cannot
	if why == "" {
		out, err := ed.apply()
		if err == nil {
			err = ed.verify(out)
		}
		if err == nil {
			return out, nil
		}
		why = err.Error()
	}
	if len(ed.f.docs) > 1 {
		return nil, &UnsafeError{Reason: why, Documents: len(ed.f.docs)}
	}
	whole, err := encode(ed.f.doc, ed.f.opts.name())
	if err != nil {
		return nil, err
	}
	out := WithEOL([]byte(whole), ed.f.eol)
	if err := ed.verify(out); err != nil {
		return nil, &UnsafeError{Reason: err.Error()}
	}
	return out, nil
}

func (ed *Editor) apply() ([]byte, error) {
	edits := append([]edit(nil), ed.edits...)
	// Bottom up, so earlier line numbers stay true; on one line the
	// replacement before the insertion above it; insertions at one place
	// in the order they were made.
	sort.SliceStable(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		if a.line != b.line {
			return a.line > b.line
		}
		if (a.insert == nil) != (b.insert == nil) {
			return a.insert == nil
		}
		return a.seq > b.seq
	})
	lines := append([]string(nil), ed.f.lines...)
	for _, e := range edits {
		if e.line < 0 || e.line > len(lines) || e.insert == nil && (e.line == len(lines) || e.to > len(content(lines[e.line])) || e.from > e.to) {
			return nil, fmt.Errorf("an edit falls outside the file (line %d)", e.line+1)
		}
		if e.insert == nil {
			l := lines[e.line]
			c := content(l)
			lines[e.line] = c[:e.from] + e.text + c[e.to:] + l[len(c):]
			continue
		}
		if e.line > 0 && !strings.HasSuffix(lines[e.line-1], "\n") {
			lines[e.line-1] += ed.f.eol
		}
		add := make([]string, len(e.insert))
		for i, s := range e.insert {
			add[i] = s + ed.f.eol
		}
		lines = append(lines[:e.line], append(add, lines[e.line:]...)...)
	}
	return []byte(strings.Join(lines, "")), nil
}

// verify checks that out holds the same documents as the file, with the
// edited document equal to the edited tree and chosen again.
func (ed *Editor) verify(out []byte) error {
	g, err := Parse(out, ed.f.opts)
	if err != nil {
		return fmt.Errorf("the edited file does not parse (%v)", err)
	}
	if len(g.docs) != len(ed.f.docs) || g.index != ed.f.index {
		return errors.New("the edit would change the file's documents")
	}
	for i := range g.docs {
		want, err := decodeAny(ed.f.docs[i])
		if err != nil {
			return fmt.Errorf("document %d: %v", i+1, err)
		}
		got, err := decodeAny(g.docs[i])
		if err != nil || !reflect.DeepEqual(want, got) {
			return fmt.Errorf("the edited document %d reads back differently", i+1)
		}
	}
	return nil
}

func decodeAny(n *yaml.Node) (any, error) {
	var v any
	if len(n.Content) == 0 {
		return nil, nil
	}
	err := n.Decode(&v)
	return v, err
}
