// Package schema holds the SQL templates a request may choose as
// initial_schema (basic-app, event-sourcing) and applies one to a database
// once: as the database's owner role, in one transaction, leaving a marker
// row so that a rerun changes nothing.
//
// Each template is a directory under templates/ of numbered files,
// 0001_init.sql, 0002_....sql, so a template can grow: a database that has
// version N gets only the files after N. The flow follows the plan/apply
// shape of provisioning: Inspect reads the database (read-only), Decide is
// pure, Apply re-inspects under a lock and runs what Decide says.
package schema

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The templates, one directory each.
//
//go:embed templates
var templateFS embed.FS

// None is the form's value for "no template"; it is not a template.
const None = "none"

// MarkerTable records, inside the application's database, which template
// files were applied. It is created by Apply as the owner role, so it
// belongs to the application like the tables it describes.
const MarkerTable = "rds_provision_schema"

// ErrUnknownTemplate is returned by Lookup for a name with no template.
var ErrUnknownTemplate = errors.New("unknown schema template")

// File is one numbered SQL file of a template.
type File struct {
	Version int    // the file's number: 0001_init.sql is version 1
	Name    string // e.g. 0001_init.sql
	SQL     string
	SHA256  string // hex digest of SQL, recorded in the marker
}

// Template is one initial_schema choice.
type Template struct {
	Name  string
	Files []File // in version order, numbered 1..n without gaps
	// Tables are the tables the template creates, in file order.
	Tables []string
	// Objects are every name the template creates in schema public:
	// tables, named indexes and functions. One that already exists in a
	// database without the marker means the database is someone else's,
	// and the template is not applied there.
	Objects []string
}

// Version is the template's current version: its highest file number.
func (t Template) Version() int {
	if len(t.Files) == 0 {
		return 0
	}
	return t.Files[len(t.Files)-1].Version
}

// Label names the template and version as messages show them, e.g.
// "event-sourcing (v1)".
func (t Template) Label() string { return fmt.Sprintf("%s (v%d)", t.Name, t.Version()) }

// Names lists the templates, sorted.
func Names() []string {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Check returns nil when name is a template, else an error naming the
// choices. None is not a template; callers treat it before.
func Check(name string) error {
	for _, n := range Names() {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("%w %q: want %s", ErrUnknownTemplate, name, strings.Join(Names(), " or "))
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Lookup loads the template name from the embedded files.
func Lookup(name string) (Template, error) {
	if err := Check(name); err != nil {
		return Template{}, err
	}
	dir := path.Join("templates", name)
	entries, err := fs.ReadDir(templateFS, dir)
	if err != nil {
		return Template{}, fmt.Errorf("schema template %s: %w", name, err)
	}
	t := Template{Name: name}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return Template{}, fmt.Errorf("schema template %s: file %s must be named NNNN_name.sql", name, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(t.Files)+1 {
			return Template{}, fmt.Errorf("schema template %s: file %s should be number %04d (files are numbered from 0001 without gaps)", name, e.Name(), len(t.Files)+1)
		}
		raw, err := templateFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return Template{}, fmt.Errorf("schema template %s: %w", name, err)
		}
		sum := sha256.Sum256(raw)
		t.Files = append(t.Files, File{Version: v, Name: e.Name(), SQL: string(raw), SHA256: hex.EncodeToString(sum[:])})
		tables, objects := createdNames(string(raw))
		t.Tables = append(t.Tables, tables...)
		t.Objects = append(t.Objects, objects...)
	}
	if len(t.Files) == 0 {
		return Template{}, fmt.Errorf("schema template %s has no SQL files", name)
	}
	return t, nil
}

var (
	lineComment   = regexp.MustCompile(`--[^\n]*`)
	createTable   = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+public\.([a-z_][a-z0-9_]*)`)
	createIndex   = regexp.MustCompile(`(?i)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+([a-z_][a-z0-9_]*)\s+ON\s+public\.`)
	createFunc    = regexp.MustCompile(`(?i)\bCREATE\s+FUNCTION\s+public\.([a-z_][a-z0-9_]*)`)
	createAnyThat = regexp.MustCompile(`(?i)\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(TABLE|INDEX|FUNCTION|VIEW|SEQUENCE|TYPE|PROCEDURE|MATERIALIZED\s+VIEW)\b`)
)

// createdNames reads the names a file creates in public from its CREATE
// statements; TestTemplateObjects pins the result, and
// TestTemplatesQualifyNames that every CREATE is one these patterns see.
func createdNames(sql string) (tables, objects []string) {
	sql = lineComment.ReplaceAllString(sql, "")
	for _, m := range createTable.FindAllStringSubmatch(sql, -1) {
		tables = append(tables, m[1])
	}
	objects = append(objects, tables...)
	for _, re := range []*regexp.Regexp{createIndex, createFunc} {
		for _, m := range re.FindAllStringSubmatch(sql, -1) {
			objects = append(objects, m[1])
		}
	}
	return tables, objects
}

// allObjects is every name any template creates, plus the marker: what
// Inspect looks for.
func allObjects() ([]string, error) {
	seen := map[string]bool{MarkerTable: true}
	out := []string{MarkerTable}
	for _, n := range Names() {
		t, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		for _, o := range t.Objects {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
