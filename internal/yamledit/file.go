// Package yamledit changes YAML text line by line: a value replaced in
// place, keys inserted as lines in the file's own indentation and line
// endings, so comments, blank lines, quoting and every other document of
// the file stay byte for byte. Each change is made on the yaml.v3 Node tree
// too, and the edited text must read back as that tree; a change that has
// no line edit falls back to encoding the document whole, when the file
// holds nothing else that a rewrite would lose.
//
// It knows YAML and nothing of what a file means: the caller (the RDS
// catalog, internal/catalog) picks the document to edit and the nodes to
// change; calls go one way, from the caller into this package.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options say how to read a text.
type Options struct {
	// Name is what the text is, in messages: "parse <Name>: ...".
	Name string
	// Choose picks the document to edit: docs are every document of the
	// text, content the indexes of those that hold something (not empty,
	// not a bare null). It returns the index into docs, or -1 for none.
	// Nil picks the only document with content, and refuses several.
	Choose func(docs []*yaml.Node, content []int) (int, error)
}

// File is a YAML text as read: its lines, every document in it, and the
// one to edit.
type File struct {
	opts  Options
	lines []string // the source split after each "\n", endings kept
	eol   string   // "\r\n" when the file uses CRLF, else "\n"
	// oddBreaks: the file has line breaks YAML counts but lines does not
	// (a lone CR, NEL, LS, PS), so positions cannot be mapped to lines.
	oddBreaks bool
	docs      []*yaml.Node
	index     int        // of the edited document in docs; -1 when none
	doc       *yaml.Node // docs[index], nil when none
}

// Parse reads every document of src and the one Options.Choose picks.
// A YAML syntax error reads "parse <Name>: ..."; Choose's errors are
// returned as they are.
func Parse(src []byte, opts Options) (*File, error) {
	f := &File{opts: opts, lines: strings.SplitAfter(string(src), "\n"), eol: "\n", index: -1}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		f.eol = "\r\n"
	}
	f.oddBreaks = bytes.Contains(bytes.ReplaceAll(src, []byte("\r\n"), nil), []byte("\r")) ||
		bytes.ContainsAny(src, "\u0085\u2028\u2029")
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", opts.name(), err)
		}
		f.docs = append(f.docs, &d)
	}
	var content []int
	for i, d := range f.docs {
		if len(d.Content) == 0 || d.Content[0].Kind == yaml.ScalarNode && d.Content[0].Tag == "!!null" && d.Content[0].Value == "" {
			continue
		}
		content = append(content, i)
	}
	choose := opts.Choose
	if choose == nil {
		choose = onlyDocument
	}
	index, err := choose(f.docs, content)
	if err != nil {
		return nil, err
	}
	if index >= len(f.docs) {
		return nil, fmt.Errorf("parse %s: document %d of %d chosen", opts.name(), index+1, len(f.docs))
	}
	if index >= 0 {
		f.index, f.doc = index, f.docs[index]
	}
	return f, nil
}

func onlyDocument(docs []*yaml.Node, content []int) (int, error) {
	switch len(content) {
	case 0:
		return -1, nil
	case 1:
		return content[0], nil
	}
	return -1, fmt.Errorf("the text holds %d YAML documents: which one to edit is not said", len(content))
}

func (o Options) name() string {
	if o.Name == "" {
		return "YAML"
	}
	return o.Name
}

// Doc is the document to edit, nil when the text has none (empty, or
// comments only).
func (f *File) Doc() *yaml.Node { return f.doc }

// Root is the top node of the document to edit, nil when there is none.
func (f *File) Root() *yaml.Node {
	if f.doc == nil || len(f.doc.Content) == 0 {
		return nil
	}
	return f.doc.Content[0]
}

// EOL is the file's line ending: "\r\n" for CRLF, else "\n".
func (f *File) EOL() string { return f.eol }

// WithEOL turns the "\n" line endings of b into eol.
func WithEOL(b []byte, eol string) []byte {
	if eol == "\n" {
		return b
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte(eol))
}
