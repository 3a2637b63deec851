// Package catalog holds the meaning of the RDS resource catalog, a YAML
// file of one entry per application database: its entries, their status,
// its layout across environments, and which document of a file is the
// catalog. The text itself is changed by internal/yamledit, a line editor
// that knows YAML and nothing of the catalog, so comments, key order and
// formatting survive; calls go one way, from this package into the editor.
//
// Layout across environments: each environment has its own catalog file,
// because a file describes one environment's RDS (its rds_instance header
// names goldenpath-platform-db-<env>); when the environment's tfvars
// declares several instances (rds_instances), each entry names its own in
// configuration.instance, and the header stays the file's guard. dev keeps
// the runbook's path, docs/20-contracts/resource-catalogs/rds-catalog.yaml;
// every other environment uses rds-catalog-<env>.yaml beside it. The same
// database name can so exist in several environments, each entry keeping
// SPEC's shape (the key is the database name), and a request for one
// environment never touches another's file. A file whose rds_instance or an entry whose
// metadata.environment names another environment is refused, not
// overwritten (ErrOtherEnvironment).
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/yamledit"
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

// Statuses an entry or access record may have; a new one is pending, a
// retirement request makes it decommissioning and provision retired.
var Statuses = []string{"pending", "approved", "provisioning", "active", "failed", "decommissioning", "retired", "decommissioned"}

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
	// Instance is configuration.instance: the rds_instances key of the
	// instance the database is on; empty (one implicit instance) is not
	// written.
	Instance string
	// Access are the entry's access records (see Access), in file order;
	// Upsert never writes them.
	Access []Access
}

// Errors callers branch on.
var (
	// ErrOtherEnvironment: the file or entry belongs to another environment.
	ErrOtherEnvironment = errors.New("catalog belongs to another environment")
	// ErrConflict: the entry exists with another username.
	ErrConflict = errors.New("catalog entry exists with another username")
	// ErrLayout: the file's layout does not allow a safe edit; it is left
	// as it is and the message says what to change.
	ErrLayout = errors.New("catalog cannot be edited safely")
	// ErrTooLarge: the file is over MaxFileSize; it is not parsed.
	ErrTooLarge = errors.New("catalog file too large")
)

// MaxFileSize bounds a catalog file, checked before the YAML parser sees
// it: the parser holds many times a file's size in memory, so a hostile
// file of a few hundred MB in the repo would exhaust the runner. An entry
// is about 500 bytes; a thousand databases fit many times over.
const MaxFileSize = 4 << 20

// Entries returns the entries of a catalog file, in file order. An empty
// or comment-only file has none.
func Entries(src []byte) ([]Entry, error) {
	f, err := load(src)
	if err != nil || f.Doc() == nil {
		return nil, err
	}
	dbs := yamledit.Lookup(f.Doc(), "databases")
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
	m, c := yamledit.Lookup(n, "metadata"), yamledit.Lookup(n, "configuration")
	return Entry{
		Name: name, ID: yamledit.Scalar(m, "id"), Owner: yamledit.Scalar(m, "owner"), RequestedBy: yamledit.Scalar(m, "requested_by"),
		Domain: yamledit.Scalar(m, "domain"), Risk: yamledit.Scalar(m, "risk"), Environment: yamledit.Scalar(m, "environment"),
		Status: yamledit.Scalar(m, "status"), CreatedDate: yamledit.Scalar(m, "created_date"),
		Username: yamledit.Scalar(c, "username"), SizeTier: yamledit.Scalar(c, "size_tier"),
		InstanceClass: yamledit.Scalar(c, "instance_class"), SecretPath: yamledit.Scalar(c, "secret_path"),
		InitialSchema: yamledit.Scalar(c, "initial_schema"), Instance: yamledit.Scalar(c, "instance"),
		Access: readAccess(n),
	}
}

// NewFile is SPEC's header for a new catalog of env.
func NewFile(env string, now time.Time) []byte {
	return []byte(fmt.Sprintf("# RDS catalog of %s: one entry per application database on %s.\n"+
		"# Edited by rds-provision request; review changes in pull requests.\n%s", env, Instance(env), header(env, now)))
}

// header is SPEC's header without the leading comment.
func header(env string, now time.Time) string {
	return fmt.Sprintf(`version: "1.0"
domain: platform-core
owner: platform-team
last_updated: %q
managed_by: platform-team
rds_instance: %s
databases: {}
`, now.UTC().Format(time.RFC3339), Instance(env))
}

// start gives an empty or comment-only file SPEC's header, keeping its
// comments and line endings.
func start(src []byte, eol, env string, now time.Time) []byte {
	if len(bytes.TrimSpace(src)) == 0 {
		return yamledit.WithEOL(NewFile(env, now), eol)
	}
	out := append([]byte{}, src...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, eol...)
	}
	return append(out, yamledit.WithEOL([]byte(header(env, now)), eol)...)
}

// Upsert adds e to the catalog src of env, or updates its entry, and moves
// last_updated. An empty or comment-only src starts SPEC's header (after
// the comments). A new entry gets ID, status pending and created_date
// today; an existing one keeps its id, status and created_date. changed is
// false, and src is returned unchanged, when the entry already says all of
// e.
//
// Only the lines that must change are touched: values are replaced in
// place and new keys inserted as lines, in the file's indentation and line
// endings (CRLF stays CRLF), so comments, blank lines, quoting and any
// other YAML document of the file stay byte for byte. The result is parsed
// again and must hold exactly the intended data. When the file's layout
// does not allow a line edit (flow-style entries, block scalars), a
// one-document file is re-encoded whole; a file of several documents is
// then refused with ErrLayout rather than rewritten.
func Upsert(src []byte, env string, e Entry, now time.Time) (out []byte, changed bool, err error) {
	e.Name, e.Environment = strings.TrimSpace(e.Name), env
	f, err := load(src)
	if err != nil {
		return nil, false, err
	}
	if f.Doc() == nil {
		if f, err = load(start(src, f.EOL(), env, now)); err != nil {
			return nil, false, err
		}
		if f.Doc() == nil {
			return nil, false, fmt.Errorf("%w: the file has no document to add the header to", ErrLayout)
		}
	}
	root := f.Root()
	if inst := yamledit.Scalar(root, "rds_instance"); inst != "" && inst != Instance(env) {
		return nil, false, fmt.Errorf("%w: the catalog is for rds_instance %q, not %q", ErrOtherEnvironment, inst, Instance(env))
	}
	ed := yamledit.NewEditor(f)
	dbs := yamledit.Lookup(root, "databases")
	if dbs != nil && dbs.Kind != yaml.MappingNode && dbs.Tag != "!!null" {
		return nil, false, fmt.Errorf("catalog: databases must be a mapping, line %d", dbs.Line)
	}

	if existing := yamledit.Lookup(dbs, e.Name); existing != nil {
		old := readEntry(e.Name, existing)
		if old.Environment != "" && old.Environment != env {
			return nil, false, fmt.Errorf("%w: entry %s is for environment %q, not %q", ErrOtherEnvironment, e.Name, old.Environment, env)
		}
		if old.Username != "" && old.Username != e.Username {
			return nil, false, fmt.Errorf("%w: %s has username %q, not %q", ErrConflict, e.Name, old.Username, e.Username)
		}
		if old.Instance != "" && e.Instance != "" && old.Instance != e.Instance {
			return nil, false, fmt.Errorf("%w: %s is on instance %q, not %q: a database stays on its instance (moving it is a migration, not a request)", ErrConflict, e.Name, old.Instance, e.Instance)
		}
		changed = updateEntry(ed, dbs, existing, e, now)
	} else {
		e.ID, e.Status, e.CreatedDate = ID(e.Name), "pending", now.UTC().Format("2006-01-02")
		ed.AddUnder(root, "databases", e.Name, entryNode(e))
		changed = true
	}
	if !changed {
		return src, false, nil
	}
	touchLastUpdated(ed, root, now)
	out, err = written(ed)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// touchLastUpdated moves last_updated to now, in the file's own precision
// (a date stays a date), adding it above databases when missing.
func touchLastUpdated(ed *yamledit.Editor, root *yaml.Node, now time.Time) {
	stamp := now.UTC().Format(time.RFC3339)
	switch lu := yamledit.Lookup(root, "last_updated"); {
	case lu == nil:
		ed.SetKeyBefore(root, "last_updated", yamledit.Quoted(stamp), "databases")
	case lu.Kind == yaml.ScalarNode:
		if len(lu.Value) == len("2006-01-02") {
			stamp = now.UTC().Format("2006-01-02")
		}
		if lu.Value != stamp {
			ed.SetScalar(lu, stamp)
		}
	default:
		ed.SetKey(root, "last_updated", yamledit.Quoted(stamp))
	}
}

// updateEntry sets the request's fields on an existing entry, keeping
// id, status and created_date (adding them when missing).
func updateEntry(ed *yamledit.Editor, dbs, n *yaml.Node, e Entry, now time.Time) bool {
	if n.Kind != yaml.MappingNode {
		e.ID, e.Status, e.CreatedDate = ID(e.Name), "pending", now.UTC().Format("2006-01-02")
		ed.SetKey(dbs, e.Name, entryNode(e))
		return true
	}
	changed := false
	section := func(key string, want *yaml.Node, keep map[string]bool) {
		cur := yamledit.Lookup(n, key)
		if cur == nil || cur.Kind != yaml.MappingNode || len(cur.Content) == 0 {
			ed.SetKey(n, key, want)
			changed = true
			return
		}
		for i := 0; i+1 < len(want.Content); i += 2 {
			k, v := want.Content[i].Value, want.Content[i+1]
			old := yamledit.Lookup(cur, k)
			switch {
			case old != nil && keep[k]:
			case old != nil && old.Kind == yaml.ScalarNode && old.Value == v.Value:
			case old != nil && old.Kind == yaml.ScalarNode:
				ed.SetScalar(old, v.Value)
				changed = true
			default:
				ed.SetKey(cur, k, v)
				changed = true
			}
		}
	}
	e.ID, e.Status, e.CreatedDate = ID(e.Name), "pending", now.UTC().Format("2006-01-02")
	full := entryNode(e)
	keep := map[string]bool{"id": true, "status": true, "created_date": true}
	section("metadata", yamledit.Lookup(full, "metadata"), keep)
	section("configuration", yamledit.Lookup(full, "configuration"), keep)
	return changed
}

// entryNode is SPEC's entry e as YAML, in SPEC's key order; instance
// (after instance_class) and initial_schema only when set.
func entryNode(e Entry) *yaml.Node {
	str, quoted := yamledit.Str, yamledit.Quoted
	conf := []any{"username", str(e.Username), "size_tier", str(e.SizeTier), "instance_class", str(e.InstanceClass)}
	if e.Instance != "" {
		conf = append(conf, "instance", str(e.Instance))
	}
	conf = append(conf, "secret_path", str(e.SecretPath))
	if e.InitialSchema != "" {
		conf = append(conf, "initial_schema", str(e.InitialSchema))
	}
	return yamledit.Mapping(
		"metadata", yamledit.Mapping(
			"id", str(e.ID), "owner", str(e.Owner), "requested_by", str(e.RequestedBy),
			"domain", str(e.Domain), "risk", str(e.Risk), "environment", str(e.Environment),
			"status", str(e.Status), "created_date", quoted(e.CreatedDate)),
		"configuration", yamledit.Mapping(conf...),
	)
}
