// Package catalog edits the RDS resource catalog, a YAML file of one entry
// per application database, through the yaml.v3 Node API so comments, key
// order and formatting survive.
//
// Layout across environments: each environment has its own catalog file,
// because a file describes one RDS instance (its rds_instance header names
// goldenpath-platform-db-<env>). dev keeps the runbook's path,
// docs/20-contracts/resource-catalogs/rds-catalog.yaml; every other
// environment uses rds-catalog-<env>.yaml beside it. The same database name
// can so exist in several environments, each entry keeping SPEC's shape
// (the key is the database name), and a request for one environment never
// touches another's file. A file whose rds_instance or an entry whose
// metadata.environment names another environment is refused, not
// overwritten (ErrOtherEnvironment).
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Dir holds the catalogs, relative to the infra repo root.
const Dir = "docs/20-contracts/resource-catalogs"

// DefaultEnvironment keeps the runbook's file name.
const DefaultEnvironment = "dev"

// Path is the catalog of env, relative to the infra repo root.
func Path(env string) string {
	if env == DefaultEnvironment {
		return Dir + "/rds-catalog.yaml"
	}
	return Dir + "/rds-catalog-" + env + ".yaml"
}

// Instance is the RDS instance of env, as named in the catalog header and
// the pull request.
func Instance(env string) string { return "goldenpath-platform-db-" + env }

// ID is SPEC's entry id: DATABASE_ and the upper-cased name.
func ID(name string) string { return "DATABASE_" + strings.ToUpper(name) }

// Statuses an entry may have; a new entry is pending.
var Statuses = []string{"pending", "approved", "provisioning", "active", "failed", "decommissioning", "decommissioned"}

// Entry is one database of SPEC's "Catalog entry". ID, Status and
// CreatedDate are filled in by Upsert for a new entry and kept for an
// existing one.
type Entry struct {
	Name          string // the key: the database name
	ID            string
	Owner         string
	RequestedBy   string
	Domain        string
	Risk          string
	Environment   string
	Status        string
	CreatedDate   string // YYYY-MM-DD
	Username      string
	SizeTier      string
	InstanceClass string
	SecretPath    string
	InitialSchema string // configuration.initial_schema; empty (none) is not written
}

// Errors callers branch on.
var (
	// ErrOtherEnvironment: the file or entry belongs to another environment.
	ErrOtherEnvironment = errors.New("catalog belongs to another environment")
	// ErrConflict: the entry exists with another username.
	ErrConflict = errors.New("catalog entry exists with another username")
)

// Entries returns the entries of a catalog file, in file order.
func Entries(src []byte) ([]Entry, error) {
	doc, err := parse(src)
	if err != nil {
		return nil, err
	}
	dbs := lookup(doc, "databases")
	if dbs == nil || dbs.Kind != yaml.MappingNode {
		return nil, nil
	}
	var out []Entry
	for i := 0; i+1 < len(dbs.Content); i += 2 {
		out = append(out, readEntry(dbs.Content[i].Value, dbs.Content[i+1]))
	}
	return out, nil
}

func readEntry(name string, n *yaml.Node) Entry {
	m, c := lookup(n, "metadata"), lookup(n, "configuration")
	return Entry{
		Name: name, ID: scalar(m, "id"), Owner: scalar(m, "owner"), RequestedBy: scalar(m, "requested_by"),
		Domain: scalar(m, "domain"), Risk: scalar(m, "risk"), Environment: scalar(m, "environment"),
		Status: scalar(m, "status"), CreatedDate: scalar(m, "created_date"),
		Username: scalar(c, "username"), SizeTier: scalar(c, "size_tier"),
		InstanceClass: scalar(c, "instance_class"), SecretPath: scalar(c, "secret_path"),
		InitialSchema: scalar(c, "initial_schema"),
	}
}

// NewFile is SPEC's header for a new catalog of env.
func NewFile(env string, now time.Time) []byte {
	return []byte(fmt.Sprintf(`# RDS catalog of %s: one entry per application database on %s.
# Edited by rds-provision request; review changes in pull requests.
version: "1.0"
domain: platform-core
owner: platform-team
last_updated: %q
managed_by: platform-team
rds_instance: %s
databases: {}
`, env, Instance(env), now.UTC().Format(time.RFC3339), Instance(env)))
}

// Upsert adds e to the catalog src of env, or updates its entry, and moves
// last_updated. src nil or empty starts a new file with SPEC's header. A
// new entry gets ID, status pending and created_date today; an existing one
// keeps its id, status and created_date. changed is false, and src is
// returned unchanged, when the entry already says all of e.
//
// The edit is made on the Node tree; the output then adds the new entry's
// lines and rewrites the last_updated value in place in the original bytes,
// so comments, blank lines and quoting elsewhere stay. When the edit is
// more than that (an existing entry updated) the tree is encoded whole.
func Upsert(src []byte, env string, e Entry, now time.Time) (out []byte, changed bool, err error) {
	e.Name, e.Environment = strings.TrimSpace(e.Name), env
	if len(bytes.TrimSpace(src)) == 0 {
		src = NewFile(env, now)
	}
	doc, err := parse(src)
	if err != nil {
		return nil, false, err
	}
	root := doc.Content[0]
	if inst := scalar(root, "rds_instance"); inst != "" && inst != Instance(env) {
		return nil, false, fmt.Errorf("%w: the catalog is for rds_instance %q, not %q", ErrOtherEnvironment, inst, Instance(env))
	}
	dbs := lookup(root, "databases")
	if dbs == nil || dbs.Tag == "!!null" {
		dbs = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setKey(root, "databases", dbs)
	}
	if dbs.Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("catalog: databases must be a mapping, line %d", dbs.Line)
	}

	var entryChanged, added bool
	if existing := lookup(dbs, e.Name); existing != nil {
		old := readEntry(e.Name, existing)
		if old.Environment != "" && old.Environment != env {
			return nil, false, fmt.Errorf("%w: entry %s is for environment %q, not %q", ErrOtherEnvironment, e.Name, old.Environment, env)
		}
		if old.Username != "" && old.Username != e.Username {
			return nil, false, fmt.Errorf("%w: %s has username %q, not %q", ErrConflict, e.Name, old.Username, e.Username)
		}
		entryChanged = updateEntry(existing, e, now)
	} else {
		e.ID, e.Status, e.CreatedDate = ID(e.Name), "pending", now.UTC().Format("2006-01-02")
		dbs.Style &^= yaml.FlowStyle // databases: {} becomes a block
		dbs.Content = append(dbs.Content, str(e.Name), entryNode(e))
		added = true
	}
	if !entryChanged && !added {
		return src, false, nil
	}
	lu := lookup(root, "last_updated")
	stamp := now.UTC().Format(time.RFC3339)
	if lu != nil && len(lu.Value) == len("2006-01-02") {
		stamp = now.UTC().Format("2006-01-02")
	}
	if lu == nil {
		lu = &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle}
		setKey(root, "last_updated", lu)
	}
	oldStamp := lu.Value
	lu.Value = stamp

	whole, err := encode(doc)
	if err != nil {
		return nil, false, err
	}
	if added && !entryChanged {
		if spliced, ok := splice(src, root, dbs, lu, oldStamp, e.Name); ok && sameData(spliced, whole) {
			return spliced, true, nil
		}
	}
	return []byte(whole), true, nil
}

// updateEntry sets the request's fields on an existing entry, keeping
// id, status and created_date (adding them when missing).
func updateEntry(n *yaml.Node, e Entry, now time.Time) bool {
	m := child(n, "metadata")
	c := child(n, "configuration")
	changed := false
	set := func(parent *yaml.Node, key, value string) {
		if cur := lookup(parent, key); cur != nil && cur.Kind == yaml.ScalarNode {
			if cur.Value != value {
				cur.Value, changed = value, true
			}
			return
		}
		setKey(parent, key, str(value))
		changed = true
	}
	keep := func(parent *yaml.Node, key, value string) {
		if lookup(parent, key) == nil {
			set(parent, key, value)
		}
	}
	keep(m, "id", ID(e.Name))
	set(m, "owner", e.Owner)
	set(m, "requested_by", e.RequestedBy)
	set(m, "domain", e.Domain)
	set(m, "risk", e.Risk)
	set(m, "environment", e.Environment)
	keep(m, "status", "pending")
	if lookup(m, "created_date") == nil {
		setKey(m, "created_date", quoted(now.UTC().Format("2006-01-02")))
		changed = true
	}
	set(c, "username", e.Username)
	set(c, "size_tier", e.SizeTier)
	set(c, "instance_class", e.InstanceClass)
	set(c, "secret_path", e.SecretPath)
	if e.InitialSchema != "" {
		set(c, "initial_schema", e.InitialSchema)
	}
	return changed
}

func entryNode(e Entry) *yaml.Node {
	n := mapping(
		"metadata", mapping(
			"id", str(e.ID), "owner", str(e.Owner), "requested_by", str(e.RequestedBy),
			"domain", str(e.Domain), "risk", str(e.Risk), "environment", str(e.Environment),
			"status", str(e.Status), "created_date", quoted(e.CreatedDate)),
		"configuration", mapping(
			"username", str(e.Username), "size_tier", str(e.SizeTier),
			"instance_class", str(e.InstanceClass), "secret_path", str(e.SecretPath)),
	)
	if e.InitialSchema != "" {
		c := lookup(n, "configuration")
		c.Content = append(c.Content, str("initial_schema"), str(e.InitialSchema))
	}
	return n
}

// splice writes the new entry and the new last_updated into src: the
// entry's lines go after the last line of the databases block, indented
// like its other keys. ok is false when src's layout is not one it can
// handle; the caller then encodes the tree whole.
func splice(src []byte, root, dbs, lu *yaml.Node, oldStamp, name string) ([]byte, bool) {
	if bytes.Contains(src, []byte("\r")) || dbs.Style&yaml.FlowStyle != 0 && len(dbs.Content) > 2 {
		return nil, false
	}
	lines := strings.SplitAfter(string(src), "\n")
	dbsKey := keyNode(root, "databases")
	if dbsKey == nil || lu.Line == 0 || lu.Line > len(lines) {
		return nil, false
	}
	// last_updated: replace the old value's text on its line.
	l := lines[lu.Line-1]
	col := lu.Column - 1
	oldText := map[yaml.Style]string{0: oldStamp, yaml.DoubleQuotedStyle: `"` + oldStamp + `"`, yaml.SingleQuotedStyle: `'` + oldStamp + `'`}[lu.Style]
	if oldText == "" || col < 0 || col > len(l) || !strings.HasPrefix(l[col:], oldText) {
		return nil, false
	}
	newText := map[yaml.Style]string{0: lu.Value, yaml.DoubleQuotedStyle: `"` + lu.Value + `"`, yaml.SingleQuotedStyle: `'` + lu.Value + `'`}[lu.Style]
	lines[lu.Line-1] = l[:col] + newText + l[col+len(oldText):]

	// The entry, encoded alone and indented like the other entries.
	entry := dbs.Content[len(dbs.Content)-2:]
	frag, err := encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Content: entry}}})
	if err != nil {
		return nil, false
	}
	indent := "  "
	if len(dbs.Content) > 2 {
		indent = strings.Repeat(" ", dbs.Content[0].Column-1)
	}
	var text strings.Builder
	for _, fl := range strings.SplitAfter(strings.TrimSuffix(frag, "\n"), "\n") {
		text.WriteString(indent + strings.TrimSuffix(fl, "\n") + "\n")
	}

	keyLine := dbsKey.Line - 1
	var at int // insert before lines[at]
	if len(dbs.Content) == 2 {
		// databases was empty: "databases: {}" or "databases:" alone.
		kl := strings.TrimRight(lines[keyLine], "\r\n")
		trimmed := strings.TrimSpace(kl)
		if trimmed != "databases: {}" && trimmed != "databases:" || dbsKey.Column != 1 {
			return nil, false
		}
		lines[keyLine] = "databases:\n"
		at = keyLine + 1
	} else {
		keyCol := dbsKey.Column - 1
		at = keyLine + 1
		for i := keyLine + 1; i < len(lines); i++ {
			s := strings.TrimRight(lines[i], "\n")
			if strings.TrimSpace(s) == "" {
				continue
			}
			if indentOf(s) <= keyCol {
				break
			}
			at = i + 1
		}
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	out := strings.Join(lines[:at], "") + text.String() + strings.Join(lines[at:], "")
	return []byte(out), true
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// sameData reports whether a and b decode to the same values.
func sameData(a []byte, b string) bool {
	var x, y any
	if yaml.Unmarshal(a, &x) != nil || yaml.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func parse(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("parse catalog: the file must be a YAML mapping")
	}
	return &doc, nil
}

func encode(doc *yaml.Node) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encode catalog: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("encode catalog: %w", err)
	}
	return b.String(), nil
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	if v := lookup(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// child returns the mapping under key, creating it when missing.
func child(n *yaml.Node, key string) *yaml.Node {
	if v := lookup(n, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	setKey(n, key, v)
	return v
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

// str is a string scalar; the encoder quotes it whenever the plain form
// would read as something else, so a value can never leave its field.
func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func quoted(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}
