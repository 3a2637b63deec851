package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SetStatus sets metadata.status of the entries of env named in statuses
// (database name -> status, one of Statuses) in the catalog src, and moves
// last_updated when anything changed. An entry is env's when its
// metadata.environment says env, or says nothing and the file's
// rds_instance is env's. Entries of other environments, and names the file
// does not hold, are left alone; changed lists the names whose status moved,
// and is empty (src returned as is) when every status already holds, so a
// rerun writes nothing.
//
// The values are rewritten in place in src, so comments, quoting and line
// endings elsewhere stay; a layout it cannot edit in place is encoded whole.
func SetStatus(src []byte, env string, statuses map[string]string, now time.Time) (out []byte, changed []string, err error) {
	for name, s := range statuses {
		if !slices.Contains(Statuses, s) {
			return nil, nil, fmt.Errorf("catalog: status %q of %s: want one of %s", s, name, strings.Join(Statuses, ", "))
		}
	}
	if len(strings.TrimSpace(string(src))) == 0 {
		return src, nil, nil
	}
	doc, err := parse(src)
	if err != nil {
		return nil, nil, err
	}
	root := doc.Content[0]
	ownFile := scalar(root, "rds_instance") == Instance(env)
	dbs := lookup(root, "databases")
	if dbs == nil || dbs.Kind != yaml.MappingNode {
		return src, nil, nil
	}

	var edits []scalarEdit
	whole := false // an edit that cannot be made in place
	for i := 0; i+1 < len(dbs.Content); i += 2 {
		name, entry := dbs.Content[i].Value, dbs.Content[i+1]
		want, ok := statuses[name]
		if !ok {
			continue
		}
		meta := lookup(entry, "metadata")
		if meta == nil || meta.Kind != yaml.MappingNode {
			continue
		}
		if e := scalar(meta, "environment"); e != env && (e != "" || !ownFile) {
			continue
		}
		cur := lookup(meta, "status")
		switch {
		case cur != nil && cur.Kind == yaml.ScalarNode && cur.Value == want:
			continue
		case cur != nil && cur.Kind == yaml.ScalarNode:
			edits = append(edits, scalarEdit{node: cur, old: cur.Value})
			cur.Value = want
		default:
			setKey(meta, "status", str(want))
			whole = true
		}
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return src, nil, nil
	}

	lu := lookup(root, "last_updated")
	stamp := now.UTC().Format(time.RFC3339)
	switch {
	case lu != nil && lu.Kind == yaml.ScalarNode:
		if len(lu.Value) == len("2006-01-02") {
			stamp = now.UTC().Format("2006-01-02")
		}
		if lu.Value != stamp {
			edits = append(edits, scalarEdit{node: lu, old: lu.Value})
			lu.Value = stamp
		}
	default:
		setKey(root, "last_updated", &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: stamp})
		whole = true
	}

	if !whole {
		if spliced, ok := replaceScalars(src, edits); ok {
			return spliced, changed, nil
		}
	}
	enc, err := encode(doc)
	if err != nil {
		return nil, nil, err
	}
	return []byte(enc), changed, nil
}

// scalarEdit is a scalar whose value changed from old to node.Value.
type scalarEdit struct {
	node *yaml.Node
	old  string
}

// replaceScalars rewrites each edited scalar's text at its position in
// src, keeping its quoting style. ok is false when a value is not found
// where the parser saw it (a multi-line or escaped scalar), or the new value
// would need quoting the old style cannot give.
func replaceScalars(src []byte, edits []scalarEdit) ([]byte, bool) {
	lines := strings.SplitAfter(string(src), "\n")
	for _, e := range edits {
		n := e.node
		if n.Line < 1 || n.Line > len(lines) || strings.ContainsAny(e.old+n.Value, "\"'\\\n\r") {
			return nil, false
		}
		var oldText, newText string
		switch n.Style {
		case 0:
			oldText, newText = e.old, n.Value
		case yaml.DoubleQuotedStyle:
			oldText, newText = `"`+e.old+`"`, `"`+n.Value+`"`
		case yaml.SingleQuotedStyle:
			oldText, newText = `'`+e.old+`'`, `'`+n.Value+`'`
		default:
			return nil, false
		}
		l := lines[n.Line-1]
		col := n.Column - 1
		if col < 0 || col > len(l) || !strings.HasPrefix(l[col:], oldText) {
			return nil, false
		}
		lines[n.Line-1] = l[:col] + newText + l[col+len(oldText):]
	}
	out := strings.Join(lines, "")
	// The result must read back as the edited tree.
	if !sameStatuses(out, edits) {
		return nil, false
	}
	return []byte(out), true
}

// sameStatuses checks that every edited scalar reads back with its new
// value at the same position.
func sameStatuses(out string, edits []scalarEdit) bool {
	var doc yaml.Node
	if yaml.Unmarshal([]byte(out), &doc) != nil {
		return false
	}
	want := map[[2]int]string{}
	for _, e := range edits {
		want[[2]int{e.node.Line, e.node.Column}] = e.node.Value
	}
	found := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if v, ok := want[[2]int{n.Line, n.Column}]; ok && n.Kind == yaml.ScalarNode {
			if n.Value == v {
				found++
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return found == len(edits)
}
