package tfvars

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Change is an in-place edit of one existing application_databases entry,
// named by its key: the day-2 requests' edits.
type Change struct {
	Key string
	// AccessLevel, when not empty, is the entry's new access_level: editor
	// or reader. An owner entry keeps its level (its role owns the
	// database), and no entry becomes an owner this way.
	AccessLevel string
	// Retire sets retired = true.
	Retire bool
}

// Update returns src with each change applied to its entry in place, in
// the given layout. A value that is there is replaced where it stands
// (access_level = "editor" becomes "reader", retired = false becomes
// true); a missing attribute is added as a line after the entry's last
// attribute, in its indentation, key quoting, separator, alignment and
// trailing-comma style (on a one-line entry, after its last attribute).
// Every other byte, comments included, stays as it was. The result is
// parsed again and must hold the same entries with only the changed
// values, or Update fails.
//
// changed is false, and src is returned, when every entry already says
// what its change asks: a rerun is a no-op.
func Update(path string, src []byte, mode Mode, changes []Change) (out []byte, changed bool, err error) {
	if mode != ModeStandalone && mode != ModeCoupled {
		return nil, false, fmt.Errorf("edit tfvars %s: mode must be standalone or coupled, not %q", path, mode)
	}
	before, err := Parse(path, src, mode)
	if err != nil {
		return nil, false, err
	}
	want := entryValues(before.Entries)
	index := map[string]int{}
	for i, e := range before.Entries {
		index[e.Key] = i
	}
	for _, c := range changes {
		i, ok := index[c.Key]
		if !ok {
			return nil, false, fmt.Errorf("edit tfvars %s: no application_databases entry has the key %q", path, c.Key)
		}
		old := before.Entries[i]
		switch c.AccessLevel {
		case "":
		case AccessEditor, AccessReader:
			if old.AccessLevel == AccessOwner {
				return nil, false, fmt.Errorf("%s:%d: %w: %s is the owner entry of database %s: its role owns the database, so its level stays owner", path, old.Line, ErrConflict, old.Key, old.DatabaseName)
			}
			want[i].AccessLevel = c.AccessLevel
		default:
			return nil, false, fmt.Errorf("edit tfvars %s: %s: access_level %q: want editor or reader", path, c.Key, c.AccessLevel)
		}
		if c.Retire {
			want[i].Retired = true
		}
	}
	if reflect.DeepEqual(want, entryValues(before.Entries)) {
		return src, false, nil
	}

	body, err := parseBody(path, src)
	if err != nil {
		return nil, false, err
	}
	var dbs *hclsyntax.ObjectConsExpr
	switch mode {
	case ModeStandalone:
		dbs, _ = body.Attributes["application_databases"].Expr.(*hclsyntax.ObjectConsExpr)
	case ModeCoupled:
		cfg := body.Attributes["rds_config"].Expr.(*hclsyntax.ObjectConsExpr)
		item, _ := findItem(cfg, "application_databases")
		dbs, _ = item.ValueExpr.(*hclsyntax.ObjectConsExpr)
	}
	if dbs == nil {
		return nil, false, fmt.Errorf("edit tfvars %s: application_databases is not a map", path)
	}
	s := splicer{src: src, nl: "\n"}
	if bytes.Contains(src, []byte("\r\n")) {
		s.nl = "\r\n"
	}
	var edits []splice
	for _, item := range dbs.Items {
		key, err := keyString(item.KeyExpr)
		if err != nil {
			return nil, false, err
		}
		i, ok := index[key]
		if !ok {
			continue
		}
		obj := item.ValueExpr.(*hclsyntax.ObjectConsExpr)
		old, w := before.Entries[i], want[i]
		if w.AccessLevel != old.AccessLevel {
			e, err := s.setAttribute(obj, "access_level", hclwrite.TokensForValue(cty.StringVal(w.AccessLevel)).Bytes())
			if err != nil {
				return nil, false, fmt.Errorf("edit tfvars %s: %s: %w", path, key, err)
			}
			edits = append(edits, e)
		}
		if w.Retired != old.Retired {
			e, err := s.setAttribute(obj, "retired", hclwrite.TokensForValue(cty.True).Bytes())
			if err != nil {
				return nil, false, fmt.Errorf("edit tfvars %s: %s: %w", path, key, err)
			}
			edits = append(edits, e)
		}
	}
	out = s.apply(edits)

	after, err := Parse(path, out, mode)
	if err != nil {
		return nil, false, fmt.Errorf("edit tfvars %s: edited file does not parse: %w", path, err)
	}
	if got := entryValues(after.Entries); !reflect.DeepEqual(got, want) {
		return nil, false, fmt.Errorf("edit tfvars %s: the edited file holds %+v, want %+v", path, got, want)
	}
	if after.MasterUsername != before.MasterUsername || after.DatabaseName != before.DatabaseName || after.Region != before.Region ||
		!SameInstances(after.RDSInstances, before.RDSInstances) {
		return nil, false, fmt.Errorf("edit tfvars %s: edit changed the instance settings", path)
	}
	return out, true, nil
}

// splice replaces src[from:to] with text; an insertion has from == to.
type splice struct {
	from, to int
	text     string
}

// apply makes the splices, which do not overlap, from the end of the file
// back so earlier offsets stay true; two insertions at one offset keep the
// order they were made in.
func (s splicer) apply(edits []splice) []byte {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	out := append([]byte(nil), s.src...)
	for k := 0; k < len(edits); {
		// Insertions at one offset: join them in their order.
		e := edits[k]
		text := e.text
		n := k + 1
		for ; n < len(edits) && edits[n].from == e.from && edits[n].to == e.to && e.from == e.to; n++ {
			text += edits[n].text
		}
		out = append(out[:e.from], append([]byte(text), out[e.to:]...)...)
		k = n
	}
	return out
}

// setAttribute replaces the value of name in the entry obj, or adds
// name = value after the entry's last attribute.
func (s splicer) setAttribute(obj *hclsyntax.ObjectConsExpr, name string, value []byte) (splice, error) {
	if item, ok := findItem(obj, name); ok {
		r := item.ValueExpr.Range()
		return splice{from: r.Start.Byte, to: r.End.Byte, text: string(value)}, nil
	}
	if len(obj.Items) == 0 {
		return splice{}, fmt.Errorf("the entry at %s has no attribute to follow", rangeOf(obj.SrcRange))
	}
	last := obj.Items[len(obj.Items)-1]
	keyR, valR := last.KeyExpr.Range(), last.ValueExpr.Range()
	keyStart, valEnd := keyR.Start.Byte, valR.End.Byte
	closeAt := obj.SrcRange.End.Byte - 1
	if closeAt < valEnd || closeAt >= len(s.src) || s.src[closeAt] != '}' {
		return splice{}, fmt.Errorf("cannot find the closing brace of the entry at %s", rangeOf(obj.SrcRange))
	}
	// The neighbour's style: quoted key, "=" or ":", the column its
	// separator is aligned to, a trailing comma.
	key := string(hclwrite.TokensForIdentifier(name).Bytes())
	if s.src[keyStart] == '"' {
		key = string(hclwrite.TokensForValue(cty.StringVal(name)).Bytes())
	}
	between := s.src[keyR.End.Byte:valR.Start.Byte]
	sepAt := bytes.IndexAny(between, "=:")
	if sepAt < 0 {
		return splice{}, fmt.Errorf("cannot find the = of %s", rangeOf(keyR))
	}
	sep := string(between[sepAt])
	rest := bytes.TrimLeft(s.src[valEnd:closeAt], " \t")
	comma := len(rest) > 0 && rest[0] == ','

	nl := bytes.IndexByte(s.src[valEnd:closeAt], '\n')
	if nl < 0 {
		attr := key + " " + sep + " " + string(value)
		// The brace closes the line of the last attribute: add this one
		// on that line, after the attribute and its comma.
		if comma {
			at := valEnd + bytes.IndexByte(s.src[valEnd:], ',') + 1
			return splice{from: at, to: at, text: " " + attr + ","}, nil
		}
		return splice{from: valEnd, to: valEnd, text: ", " + attr}, nil
	}
	// A line of its own after the last attribute's line (its comma and
	// comment stay there), indented as that attribute's key and its
	// separator in that attribute's column, as terraform fmt aligns them.
	pad := " "
	if width := keyR.End.Byte - keyStart + sepAt; width > len(key) {
		pad = string(bytes.Repeat([]byte(" "), width-len(key)))
	}
	attr := key + pad + sep + " " + string(value)
	at := valEnd + nl + 1
	lineStart := bytes.LastIndexByte(s.src[:keyStart], '\n') + 1
	indent := leadingSpace(s.src[lineStart:keyStart])
	text := indent + attr
	if comma {
		text += ","
	}
	return splice{from: at, to: at, text: text + s.nl}, nil
}
