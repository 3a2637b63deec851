package tfvars

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/goldenpath/rds-provision/internal/schema"
)

// NewEntry is an application_databases entry to add.
type NewEntry struct {
	Key          string // map key; names the app secret path
	DatabaseName string
	Username     string
	// AccessLevel is owner (also when empty: the entry that owns a new
	// database), or editor or reader (a grant on a database an owner
	// entry lists), written as access_level when not owner.
	AccessLevel string
	// InitialSchema, when not empty, is written as initial_schema: a
	// schema template for provision to apply once (internal/schema).
	InitialSchema string
	// Instance, when not empty, is written as instance: the rds_instances
	// key of the instance the database is on. A file that declares
	// rds_instances needs it; one that declares none refuses it.
	Instance string
}

func (e NewEntry) level() string {
	if e.AccessLevel == "" {
		return AccessOwner
	}
	return e.AccessLevel
}

// ErrConflict means the file already holds an entry that the new one would
// contradict: the same key or database with another username or database.
var ErrConflict = errors.New("conflicting application_databases entry")

// Insert returns src with e added to application_databases in the given
// layout (ModeStandalone: the top-level attribute; ModeCoupled:
// rds_config.application_databases), creating the attribute when absent.
//
// The new text is spliced in at the byte offsets the HCL parser reports and
// its tokens are built with hclwrite, so every other byte of the file
// (comments, spacing, tabs, order, other attributes) stays as it was. The
// entry follows the style of its neighbours: indentation, quoted or bare
// keys, trailing commas, line endings. The result is parsed again and must
// hold exactly the old entries plus the new one, or Insert fails.
//
// changed is false, and src is returned, when an entry with the same
// database name and username is already present: re-running is a no-op.
func Insert(path string, src []byte, mode Mode, e NewEntry) (out []byte, changed bool, err error) {
	if mode != ModeStandalone && mode != ModeCoupled {
		return nil, false, fmt.Errorf("edit tfvars %s: mode must be standalone or coupled, not %q", path, mode)
	}
	before, err := Parse(path, src, mode)
	if err != nil {
		return nil, false, err
	}
	if e.InitialSchema != "" {
		if err := schema.Check(e.InitialSchema); err != nil {
			return nil, false, fmt.Errorf("edit tfvars %s: initial_schema: %w", path, err)
		}
	}
	switch e.level() {
	case AccessOwner, AccessEditor, AccessReader:
	default:
		return nil, false, fmt.Errorf("edit tfvars %s: access_level %q: want owner, editor or reader", path, e.AccessLevel)
	}
	if e.InitialSchema != "" && e.level() != AccessOwner {
		return nil, false, fmt.Errorf("edit tfvars %s: initial_schema %q needs access_level owner, not %s", path, e.InitialSchema, e.level())
	}
	if err := checkNewInstance(path, before, e); err != nil {
		return nil, false, err
	}
	for _, old := range before.Entries {
		same := old.DatabaseName == e.DatabaseName && old.Username == e.Username
		switch {
		case same && old.Instance != e.Instance:
			return nil, false, fmt.Errorf("%s:%d: %w: %s is on instance %s, the new entry on %s; a database stays on its instance (moving it is a migration, not an edit)",
				path, old.Line, ErrConflict, old.Key, old.Instance, e.Instance)
		case same && old.InitialSchema != e.InitialSchema:
			return nil, false, fmt.Errorf("%s:%d: %w: %s has initial_schema %s, the request %s; a request does not change an existing entry's template (edit the tfvars in a reviewed change)",
				path, old.Line, ErrConflict, old.Key, schemaLabel(old.InitialSchema), schemaLabel(e.InitialSchema))
		case same && old.AccessLevel != e.level():
			return nil, false, fmt.Errorf("%s:%d: %w: %s has access_level %s, the new entry %s; an existing entry's level is changed in place (Update), not by adding it again",
				path, old.Line, ErrConflict, old.Key, old.AccessLevel, e.level())
		case same && old.Retired:
			return nil, false, fmt.Errorf("%s:%d: %w: %s (%s on %s) is retired; a retired role is not given access again",
				path, old.Line, ErrConflict, old.Key, old.Username, old.DatabaseName)
		case same:
			return src, false, nil
		case old.Key == e.Key || old.Username == e.Username,
			old.DatabaseName == e.DatabaseName && old.AccessLevel == AccessOwner && e.level() == AccessOwner:
			return nil, false, fmt.Errorf("%s:%d: %w: %s = { database_name = %q, username = %q } conflicts with %s = { database_name = %q, username = %q }",
				path, old.Line, ErrConflict, old.Key, old.DatabaseName, old.Username, e.Key, e.DatabaseName, e.Username)
		}
	}
	if e.level() != AccessOwner && !ownerListed(before.Entries, e.DatabaseName) {
		return nil, false, fmt.Errorf("edit tfvars %s: %w: no owner entry lists database %q, so a %s entry cannot be added to it", path, ErrConflict, e.DatabaseName, e.level())
	}
	if e.level() != AccessOwner {
		for _, old := range before.Entries {
			if old.DatabaseName == e.DatabaseName && old.AccessLevel == AccessOwner && old.Instance != e.Instance {
				return nil, false, fmt.Errorf("edit tfvars %s: %w: database %q is on instance %s (%s, line %d), so its %s entry is too, not on %s", path, ErrConflict, e.DatabaseName, old.Instance, old.Key, old.Line, e.level(), e.Instance)
			}
		}
	}

	body, err := parseBody(path, src)
	if err != nil {
		return nil, false, err
	}
	s := splicer{src: src, nl: "\n"}
	if bytes.Contains(src, []byte("\r\n")) {
		s.nl = "\r\n"
	}
	switch mode {
	case ModeStandalone:
		if attr, ok := body.Attributes["application_databases"]; ok {
			out, err = s.addItem(attr.Expr.(*hclsyntax.ObjectConsExpr), e)
		} else {
			out = s.appendAttribute(e)
		}
	case ModeCoupled:
		cfg := body.Attributes["rds_config"].Expr.(*hclsyntax.ObjectConsExpr)
		if item, ok := findItem(cfg, "application_databases"); ok {
			out, err = s.addItem(item.ValueExpr.(*hclsyntax.ObjectConsExpr), e)
		} else {
			out, err = s.addMap(cfg, e)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("edit tfvars %s: %w", path, err)
	}
	if err := checkInserted(path, out, mode, before, e); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// checkNewInstance refuses an entry's instance that the file does not
// declare, an instance in a file without rds_instances, and no instance
// in a file that declares them: an inserted entry always names its
// instance there, even the only one.
func checkNewInstance(path string, f *File, e NewEntry) error {
	names := f.InstanceNames()
	switch {
	case len(names) == 0 && e.Instance != "":
		return fmt.Errorf("edit tfvars %s: instance %q: the file declares no rds_instances (the environment is one implicit instance)", path, e.Instance)
	case len(names) > 0 && e.Instance == "":
		return fmt.Errorf("edit tfvars %s: the file declares rds_instances (%s): a new entry names its instance", path, strings.Join(names, ", "))
	case len(names) > 0:
		if _, ok := f.Instance(e.Instance); !ok {
			return fmt.Errorf("edit tfvars %s: instance %q is not in rds_instances (%s)", path, e.Instance, strings.Join(names, ", "))
		}
	}
	return nil
}

// ownerListed reports whether an owner entry lists database.
func ownerListed(entries []Entry, database string) bool {
	for _, e := range entries {
		if e.DatabaseName == database && e.AccessLevel == AccessOwner {
			return true
		}
	}
	return false
}

func schemaLabel(s string) string {
	if s == "" {
		return schema.None
	}
	return strconv.Quote(s)
}

// checkInserted parses the edited file and requires the old entries plus e.
func checkInserted(path string, out []byte, mode Mode, before *File, e NewEntry) error {
	after, err := Parse(path, out, mode)
	if err != nil {
		return fmt.Errorf("edit tfvars %s: edited file does not parse: %w", path, err)
	}
	want := append(entryValues(before.Entries), Entry{Key: e.Key, DatabaseName: e.DatabaseName, Username: e.Username, AccessLevel: e.level(), InitialSchema: e.InitialSchema, Instance: e.Instance})
	got := entryValues(after.Entries)
	if len(got) != len(want) {
		return fmt.Errorf("edit tfvars %s: edited file has %d entries, want %d", path, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Errorf("edit tfvars %s: edited entry %d is %+v, want %+v", path, i, got[i], want[i])
		}
	}
	if after.MasterUsername != before.MasterUsername || after.DatabaseName != before.DatabaseName || after.Region != before.Region ||
		!SameInstances(after.RDSInstances, before.RDSInstances) {
		return fmt.Errorf("edit tfvars %s: edit changed the instance settings", path)
	}
	return nil
}

func entryValues(entries []Entry) []Entry {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		e.Line = 0
		out[i] = e
	}
	return out
}

type splicer struct {
	src []byte
	nl  string
}

// addItem inserts the entry as the last item of the map obj.
func (s splicer) addItem(obj *hclsyntax.ObjectConsExpr, e NewEntry) ([]byte, error) {
	indent, quoted := s.itemStyle(obj)
	return s.insertLast(obj, func(indent string, comma bool) string {
		return s.entryText(indent, e, quoted, comma)
	}, indent)
}

// addMap inserts application_databases = { entry } as the last item of
// the rds_config object.
func (s splicer) addMap(cfg *hclsyntax.ObjectConsExpr, e NewEntry) ([]byte, error) {
	indent, _ := s.itemStyle(cfg)
	return s.insertLast(cfg, func(indent string, comma bool) string {
		text := indent + "application_databases = {" + s.nl +
			s.entryText(indent+step(indent), e, false, false) +
			indent + "}"
		if comma {
			text += ","
		}
		return text + s.nl
	}, indent)
}

// appendAttribute adds the top-level attribute at the end of the file,
// after a blank line.
func (s splicer) appendAttribute(e NewEntry) []byte {
	var b bytes.Buffer
	b.Write(s.src)
	if len(s.src) > 0 {
		if !bytes.HasSuffix(s.src, []byte("\n")) {
			b.WriteString(s.nl)
		}
		if !bytes.HasSuffix(bytes.TrimRight(s.src, " \t"), []byte(s.nl+s.nl)) {
			b.WriteString(s.nl)
		}
	}
	b.WriteString("application_databases = {" + s.nl)
	b.WriteString(s.entryText("  ", e, false, false))
	b.WriteString("}" + s.nl)
	return b.Bytes()
}

// insertLast puts the text made by item before obj's closing brace: on its
// own lines when the brace starts a line, else on new lines in between.
func (s splicer) insertLast(obj *hclsyntax.ObjectConsExpr, item func(indent string, comma bool) string, indent string) ([]byte, error) {
	closeAt := obj.SrcRange.End.Byte - 1
	if closeAt < 0 || closeAt >= len(s.src) || s.src[closeAt] != '}' {
		return nil, fmt.Errorf("cannot find the closing brace of the map at %s", rangeOf(obj.SrcRange))
	}
	comma := false
	if n := len(obj.Items); n > 0 {
		after := obj.Items[n-1].ValueExpr.Range().End.Byte
		rest := bytes.TrimLeft(s.src[after:closeAt], " \t")
		comma = len(rest) > 0 && rest[0] == ','
	}
	lineStart := bytes.LastIndexByte(s.src[:closeAt], '\n') + 1
	prefix := s.src[lineStart:closeAt]
	var out bytes.Buffer
	if len(bytes.Trim(prefix, " \t")) == 0 {
		// The brace starts its line: add whole lines before it.
		if indent == "" {
			indent = string(prefix) + step(string(prefix))
		}
		out.Write(s.src[:lineStart])
		out.WriteString(item(indent, comma))
		out.Write(s.src[lineStart:])
		return out.Bytes(), nil
	}
	// The brace ends a line with content ({} or a one-line map): break the
	// line before it and close the map on a line of its own.
	closeIndent := leadingSpace(s.src[lineStart:])
	if indent == "" {
		indent = closeIndent + step(closeIndent)
	}
	cut := len(bytes.TrimRight(s.src[:closeAt], " \t"))
	out.Write(s.src[:cut])
	out.WriteString(s.nl)
	out.WriteString(item(indent, comma))
	out.WriteString(closeIndent)
	out.Write(s.src[closeAt:])
	return out.Bytes(), nil
}

// itemStyle returns the indentation of obj's first item when it starts its
// own line, and whether its keys are quoted.
func (s splicer) itemStyle(obj *hclsyntax.ObjectConsExpr) (indent string, quoted bool) {
	if len(obj.Items) == 0 {
		return "", false
	}
	key := obj.Items[0].KeyExpr.Range().Start.Byte
	quoted = key < len(s.src) && s.src[key] == '"'
	lineStart := bytes.LastIndexByte(s.src[:key], '\n') + 1
	if p := s.src[lineStart:key]; len(bytes.Trim(p, " \t")) == 0 {
		return string(p), quoted
	}
	return "", quoted
}

// entryText renders one entry, its tokens built by hclwrite so the values
// are always valid, escaped HCL strings.
func (s splicer) entryText(indent string, e NewEntry, quoted bool, comma bool) string {
	key := string(hclwrite.TokensForValue(cty.StringVal(e.Key)).Bytes())
	if !quoted && hclsyntax.ValidIdentifier(e.Key) {
		key = string(hclwrite.TokensForIdentifier(e.Key).Bytes())
	}
	inner := indent + step(indent)
	// Equals signs aligned as terraform fmt aligns them.
	attrs := [][2]string{{"database_name", e.DatabaseName}, {"username", e.Username}}
	if e.level() != AccessOwner {
		attrs = append(attrs, [2]string{"access_level", e.level()})
	}
	if e.InitialSchema != "" {
		attrs = append(attrs, [2]string{"initial_schema", e.InitialSchema})
	}
	if e.Instance != "" {
		attrs = append(attrs, [2]string{"instance", e.Instance})
	}
	width := 0
	for _, a := range attrs {
		width = max(width, len(a[0]))
	}
	text := indent + key + " = {" + s.nl
	for _, a := range attrs {
		text += inner + a[0] + strings.Repeat(" ", width-len(a[0])) + " = " + string(hclwrite.TokensForValue(cty.StringVal(a[1])).Bytes()) + s.nl
	}
	text += indent + "}"
	if comma {
		text += ","
	}
	return text + s.nl
}

// step is one more level of indentation in the style of indent.
func step(indent string) string {
	if len(indent) > 0 && indent[0] == '\t' {
		return "\t"
	}
	return "  "
}

func leadingSpace(line []byte) string {
	return string(line[:len(line)-len(bytes.TrimLeft(line, " \t"))])
}
