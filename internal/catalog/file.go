package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// file is a catalog file as read: its lines, every YAML document in it,
// and which of them is the catalog.
type file struct {
	lines []string // the source split after each "\n", endings kept
	eol   string   // "\r\n" when the file uses CRLF, else "\n"
	// oddBreaks: the file has line breaks YAML counts but lines does not
	// (a lone CR, NEL, LS, PS), so positions cannot be mapped to lines.
	oddBreaks bool
	docs      []*yaml.Node
	index     int        // of the catalog in docs; -1 when the file has no content
	doc       *yaml.Node // docs[index], nil when none
}

// load parses every document of src. A file of one document is the
// catalog; in a file of several (front matter, a second document), the
// catalog is the one document with a databases or rds_instance key, and
// the file is refused when that is not exactly one. An empty or
// comment-only file has no catalog document (doc nil).
//
// A file over MaxFileSize is refused unparsed.
func load(src []byte) (*file, error) {
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d (%d MiB); a catalog of application databases is a few hundred KiB", ErrTooLarge, len(src), MaxFileSize, MaxFileSize>>20)
	}
	return parse(src)
}

// parse is load without the size bound, for reading back an edit of a
// file that was within it.
func parse(src []byte) (*file, error) {
	f := &file{lines: strings.SplitAfter(string(src), "\n"), eol: "\n", index: -1}
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
			return nil, fmt.Errorf("parse catalog: %w", err)
		}
		f.docs = append(f.docs, &d)
	}
	var content, catalogs []int
	for i, d := range f.docs {
		if len(d.Content) == 0 || d.Content[0].Kind == yaml.ScalarNode && d.Content[0].Tag == "!!null" && d.Content[0].Value == "" {
			continue
		}
		content = append(content, i)
		if r := d.Content[0]; keyNode(r, "databases") != nil || keyNode(r, "rds_instance") != nil {
			catalogs = append(catalogs, i)
		}
	}
	switch {
	case len(content) == 0:
		return f, nil
	case len(content) == 1:
		f.index = content[0]
	case len(catalogs) == 1:
		f.index = catalogs[0]
	case len(catalogs) == 0:
		return nil, fmt.Errorf("%w: the file holds %d YAML documents and none has a databases or rds_instance key, so none can be told to be the catalog; keep the catalog as the only document of its file, or give it its databases key", ErrLayout, len(content))
	default:
		return nil, fmt.Errorf("%w: the file holds %d YAML documents with a databases or rds_instance key; keep one catalog per file (rds-catalog-<env>.yaml for each environment)", ErrLayout, len(catalogs))
	}
	f.doc = f.docs[f.index]
	if f.doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("parse catalog: the file must be a YAML mapping")
	}
	return f, nil
}
