// Package tfvars reads the application_databases map from an environment's
// Terraform tfvars, in standalone or coupled layout, with the real HCL parser,
// and the environment's RDS instances (rds_instances, or the one implicit
// instance of a file that declares none).
package tfvars

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/schema"
)

// Mode says where application_databases lives.
type Mode string

const (
	// ModeAuto picks coupled when rds_config.enabled is true, else standalone.
	ModeAuto Mode = "auto"
	// ModeCoupled reads rds_config.application_databases in envs/<env>/terraform.tfvars.
	ModeCoupled Mode = "coupled"
	// ModeStandalone reads the top-level attribute in envs/<env>-rds/terraform.tfvars.
	ModeStandalone Mode = "standalone"
)

// ParseMode accepts auto, coupled or standalone; empty means auto.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeCoupled, ModeStandalone:
		return Mode(s), nil
	}
	return "", fmt.Errorf("invalid RDS mode %q: want auto, coupled or standalone", s)
}

// Access levels of an entry; owner is the default.
const (
	AccessOwner  = "owner"
	AccessEditor = "editor"
	AccessReader = "reader"
)

// DefaultRegion applies when neither a flag nor aws_region gives one.
const DefaultRegion = "eu-west-2"

// ErrModeUndetected is SPEC's error for an environment whose layout auto
// mode cannot tell: the coupled file exists but does not set
// rds_config.enabled = true, and there is no standalone file.
var ErrModeUndetected = errors.New("Unable to detect RDS mode. Set RDS_MODE=coupled|standalone.")

// ErrNoTfvars means the environment has no tfvars file in either layout (or
// not in the one forced): a wrong environment or repository root, not a mode
// to choose. Locate returns it as a *MissingError naming the paths.
var ErrNoTfvars = errors.New("no tfvars file for the environment")

// MissingError names the environment whose tfvars file is missing and every
// path looked at. It matches ErrNoTfvars with errors.Is.
type MissingError struct {
	Env   string
	Tried []Tried
	Hint  string // what to do, after the paths; may be empty
}

// Tried is one path looked at for an environment's tfvars, and its layout.
type Tried struct {
	Path string
	Mode Mode
}

func (e *MissingError) Error() string {
	var tried []string
	for _, t := range e.Tried {
		tried = append(tried, fmt.Sprintf("%s (%s layout)", t.Path, t.Mode))
	}
	msg := fmt.Sprintf("no tfvars file for environment %s: neither %s exists", e.Env, strings.Join(tried, " nor "))
	if len(tried) == 1 {
		msg = fmt.Sprintf("no tfvars file for environment %s: %s does not exist", e.Env, tried[0])
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *MissingError) Unwrap() error { return ErrNoTfvars }

// Entry is one application_databases item.
type Entry struct {
	Key          string // the map key: the app name in the secret path
	DatabaseName string
	Username     string
	AccessLevel  string // owner, editor or reader
	SecretName   string // optional override of the app secret path
	// InitialSchema is the schema template to apply once to an owner
	// entry's database (internal/schema); empty for none.
	InitialSchema string
	// Retired is the entry's optional retired = true: the lifecycle's
	// retirement of its role (provision makes it NOLOGIN, ends its
	// sessions and keeps its data). False when absent or false.
	Retired bool
	// Instance is the rds_instances key of the instance the entry's
	// database lives on: its instance attribute, or the only instance of
	// a file that declares exactly one. Empty in a file without
	// rds_instances: the one implicit instance (see File.Instances).
	Instance string
	Line     int // line of the key, for annotations

	// AdoptOwnedDatabases lets provisioning take over an existing role that
	// owns these databases, which no entry names (opt-in, per role).
	AdoptOwnedDatabases []string
}

// File is what provisioning and requests need from one tfvars file.
type File struct {
	Path           string
	Mode           Mode   // the layout the entries were read from
	Region         string // aws_region, empty when absent
	MasterUsername string // master_username, empty when absent
	DatabaseName   string // the instance's own database_name, empty when absent
	// The instance's endpoint, for an RDS-managed master secret that holds
	// only username and password: rds_endpoint, rds_port and identifier
	// (top-level, or inside rds_config in coupled mode); empty or 0 when
	// absent.
	Endpoint    string
	Port        int
	Identifier  string
	Environment string // top-level environment, empty when absent (see CheckEnvironment)
	Entries     []Entry
	// HasAttribute is false when the file has no application_databases yet.
	HasAttribute bool
	// RDSInstances are the instances rds_instances declares (top-level in
	// the standalone layout, inside rds_config in the coupled one), in
	// file order; nil when the file declares none, and the environment is
	// one implicit instance as before (see Instances).
	RDSInstances []Instance
}

// StandaloneFile and CoupledFile are SPEC's per-environment files, relative
// to the infra repo root in slash form (also the GitHub API's paths).
func StandaloneFile(env string) string { return path.Join("envs", env+"-rds", "terraform.tfvars") }

// CoupledFile is envs/<env>/terraform.tfvars.
func CoupledFile(env string) string { return path.Join("envs", env, "terraform.tfvars") }

// StandalonePath is StandaloneFile under repoRoot.
func StandalonePath(repoRoot, env string) string {
	return filepath.Join(repoRoot, filepath.FromSlash(StandaloneFile(env)))
}

// CoupledPath is CoupledFile under repoRoot.
func CoupledPath(repoRoot, env string) string {
	return filepath.Join(repoRoot, filepath.FromSlash(CoupledFile(env)))
}

// Detect applies SPEC's auto rule to what an environment has: coupled when
// the coupled file (coupledSrc, nil when absent) sets rds_config.enabled =
// true, else standalone when its file exists, else ErrModeUndetected, or
// ErrNoTfvars when neither file exists. coupledName names the coupled file
// in errors.
func Detect(coupledName string, coupledSrc []byte, standaloneExists bool) (Mode, error) {
	if coupledSrc == nil && !standaloneExists {
		return "", ErrNoTfvars
	}
	if coupledSrc != nil {
		enabled, err := CoupledEnabled(coupledName, coupledSrc)
		if err != nil {
			return "", err
		}
		if enabled {
			return ModeCoupled, nil
		}
	}
	if standaloneExists {
		return ModeStandalone, nil
	}
	return "", ErrModeUndetected
}

// Locate resolves the tfvars file and mode of an environment in a working
// tree: a forced mode as given, auto by Detect. A missing file is a
// *MissingError naming env and every path tried (a forced mode's hint names
// the other layout's file when that one exists); SPEC's ErrModeUndetected
// is kept for a coupled file without rds_config.enabled = true and no
// standalone file, the one case a mode must settle.
func Locate(repoRoot, env string, mode Mode) (string, Mode, error) {
	coupled, standalone := CoupledPath(repoRoot, env), StandalonePath(repoRoot, env)
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	switch mode {
	case ModeCoupled, ModeStandalone:
		path, other, otherMode := coupled, standalone, ModeStandalone
		if mode == ModeStandalone {
			path, other, otherMode = standalone, coupled, ModeCoupled
		}
		if exists(path) {
			return path, mode, nil
		}
		missing := &MissingError{Env: env, Tried: []Tried{{path, mode}}, Hint: locateHint}
		if exists(other) {
			missing.Hint = fmt.Sprintf("%s exists: that is the %s layout (RDS_MODE=%s, or auto)", other, otherMode, otherMode)
		}
		return "", "", missing
	}
	src, err := readBounded(coupled)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	if err != nil {
		src = nil
	}
	standaloneExists := exists(standalone)
	mode, err = Detect(coupled, src, standaloneExists)
	switch {
	case errors.Is(err, ErrNoTfvars):
		return "", "", &MissingError{Env: env, Tried: []Tried{{coupled, ModeCoupled}, {standalone, ModeStandalone}}, Hint: locateHint}
	case errors.Is(err, ErrModeUndetected):
		return "", "", fmt.Errorf("%w (environment %s: %s exists but does not set rds_config.enabled = true, and %s does not exist)", err, env, coupled, standalone)
	case err != nil:
		return "", "", err
	}
	if mode == ModeCoupled {
		return coupled, mode, nil
	}
	return standalone, mode, nil
}

// locateHint is the remedy for a tfvars file missing from a working tree.
const locateHint = "check the environment name and the infra repository root (--env and --repo-root; ENV and INFRA_REPO in make), or name the file with --tfvars"

// ErrSeveralInstances is returned (wrapped) by Load for a file that
// declares rds_instances: its caller runs one instance per environment,
// with one master secret, and would run every entry on that one server.
var ErrSeveralInstances = errors.New("the tfvars declares several RDS instances (rds_instances)")

// Load reads the file at path for a caller that runs one instance per
// environment (provision, rotate and catalog-status as they are): a file
// that declares rds_instances is refused with ErrSeveralInstances, before
// any connection, rather than having every entry run on one master. With
// ModeAuto the layout follows the content: coupled when
// rds_config.enabled is true, standalone otherwise.
func Load(path string, mode Mode) (*File, error) {
	f, err := LoadInstances(path, mode)
	if err != nil {
		return nil, err
	}
	if len(f.RDSInstances) > 0 {
		return nil, fmt.Errorf("%w: %s declares %s, and this command runs one instance per environment with one master secret, so it would run every entry on that one server; it stops here, before any connection (request places databases on instances; running each instance with its own master secret is not built yet: keep one implicit instance, without rds_instances, to run it)",
			ErrSeveralInstances, path, strings.Join(f.InstanceNames(), ", "))
	}
	return f, nil
}

// LoadInstances reads the file at path as Load does, a file that
// declares rds_instances included: for a caller that runs each instance
// (File.Instances) with its own master secret and the entries EntriesOn
// gives it.
func LoadInstances(path string, mode Mode) (*File, error) {
	src, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src, mode)
}

// CoupledEnabled reports whether rds_config.enabled is true.
func CoupledEnabled(path string, src []byte) (bool, error) {
	body, err := parseBody(path, src)
	if err != nil {
		return false, err
	}
	cfg, ok := body.Attributes["rds_config"]
	if !ok {
		return false, nil
	}
	obj, ok := cfg.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return false, nil
	}
	item, ok := findItem(obj, "enabled")
	if !ok {
		return false, nil
	}
	v, diags := item.ValueExpr.Value(nil)
	if diags.HasErrors() {
		return false, diagError("read tfvars: ", diags)
	}
	if v.Type() != cty.Bool || !v.IsKnown() || v.IsNull() {
		return false, errorAt(item.ValueExpr.Range(), "rds_config.enabled must be true or false")
	}
	return v.True(), nil
}

// Parse reads src. Mode auto detects the layout from the content.
func Parse(path string, src []byte, mode Mode) (*File, error) {
	body, err := parseBody(path, src)
	if err != nil {
		return nil, err
	}
	if mode == ModeAuto || mode == "" {
		enabled, err := CoupledEnabled(path, src)
		if err != nil {
			return nil, err
		}
		mode = ModeStandalone
		if enabled {
			mode = ModeCoupled
		}
	}
	f := &File{Path: path, Mode: mode}
	if f.Region, err = topString(body, "aws_region"); err != nil {
		return nil, err
	}
	f.Environment = environment(body)

	var dbs, insts hclsyntax.Expression
	switch mode {
	case ModeStandalone:
		if f.MasterUsername, err = topString(body, "master_username"); err != nil {
			return nil, err
		}
		if f.DatabaseName, err = topString(body, "database_name"); err != nil {
			return nil, err
		}
		if f.Endpoint, err = topString(body, "rds_endpoint"); err != nil {
			return nil, err
		}
		if f.Identifier, err = topString(body, "identifier"); err != nil {
			return nil, err
		}
		if attr, ok := body.Attributes["rds_port"]; ok && !isNull(attr.Expr) {
			if f.Port, err = literalPort(attr.Expr, "rds_port"); err != nil {
				return nil, err
			}
		}
		if attr, ok := body.Attributes["application_databases"]; ok {
			dbs = attr.Expr
		}
		if attr, ok := body.Attributes["rds_instances"]; ok && !isNull(attr.Expr) {
			insts = attr.Expr
		}
	case ModeCoupled:
		attr, ok := body.Attributes["rds_config"]
		if !ok {
			return nil, fmt.Errorf("%s: coupled mode needs an rds_config attribute with enabled = true", path)
		}
		cfg, ok := attr.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil, errorAt(attr.Expr.Range(), "rds_config must be an object { ... }")
		}
		if f.MasterUsername, err = itemString(cfg, "master_username"); err != nil {
			return nil, err
		}
		if f.DatabaseName, err = itemString(cfg, "database_name"); err != nil {
			return nil, err
		}
		if f.Endpoint, err = itemString(cfg, "rds_endpoint"); err != nil {
			return nil, err
		}
		if f.Identifier, err = itemString(cfg, "identifier"); err != nil {
			return nil, err
		}
		if item, ok := findItem(cfg, "rds_port"); ok && !isNull(item.ValueExpr) {
			if f.Port, err = literalPort(item.ValueExpr, "rds_config.rds_port"); err != nil {
				return nil, err
			}
		}
		if item, ok := findItem(cfg, "application_databases"); ok {
			dbs = item.ValueExpr
		}
		if item, ok := findItem(cfg, "rds_instances"); ok && !isNull(item.ValueExpr) {
			insts = item.ValueExpr
		}
		if attr, ok := body.Attributes["rds_instances"]; ok {
			return nil, errorAt(attr.NameRange, "rds_instances is a top-level attribute, but in the coupled layout the instances belong inside rds_config, beside application_databases: move it into rds_config")
		}
	default:
		return nil, fmt.Errorf("invalid RDS mode %q: want auto, coupled or standalone", mode)
	}
	if insts != nil {
		if f.RDSInstances, err = readInstances(insts); err != nil {
			return nil, err
		}
	}
	if dbs == nil {
		return f, nil
	}
	f.HasAttribute = true
	var places []entryPlace
	if f.Entries, places, err = readEntries(dbs); err != nil {
		return nil, err
	}
	if err := resolveInstances(f, places); err != nil {
		return nil, err
	}
	if err := checkEntries(f.Entries, places); err != nil {
		return nil, err
	}
	return f, nil
}

func parseBody(path string, src []byte) (*hclsyntax.Body, error) {
	if err := checkSize(path, src); err != nil {
		return nil, err
	}
	if err := checkNesting(path, src); err != nil {
		return nil, err
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagError("parse tfvars: ", diags)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("parse tfvars %s: unexpected body type", path)
	}
	if len(body.Blocks) > 0 {
		b := body.Blocks[0]
		return nil, errorAt(b.TypeRange, "blocks such as %q are not allowed in a tfvars file", b.Type)
	}
	return body, nil
}

// entryPlace is where an entry's parts are in the file, for errors found
// after reading: its key, and its instance value when it has one.
type entryPlace struct {
	key      hcl.Range
	instance *hcl.Range
}

func readEntries(expr hclsyntax.Expression) ([]Entry, []entryPlace, error) {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, nil, errorAt(expr.Range(), "application_databases must be a map { key = { database_name = \"...\", username = \"...\" } }")
	}
	seen := map[string]int{}
	entries := make([]Entry, 0, len(obj.Items))
	places := make([]entryPlace, 0, len(obj.Items))
	for _, item := range obj.Items {
		key, err := keyString(item.KeyExpr)
		if err != nil {
			return nil, nil, err
		}
		line := item.KeyExpr.Range().Start.Line
		if first, dup := seen[key]; dup {
			return nil, nil, errorAt(item.KeyExpr.Range(), "duplicate application_databases key %q (first at line %d)", key, first)
		}
		seen[key] = line
		place := entryPlace{key: item.KeyExpr.Range()}
		e, err := readEntry(key, line, item.ValueExpr, &place)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
		places = append(places, place)
	}
	return entries, places, nil
}

func readEntry(key string, line int, expr hclsyntax.Expression, place *entryPlace) (Entry, error) {
	e := Entry{Key: key, Line: line, AccessLevel: AccessOwner}
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return e, errorAt(expr.Range(), "application_databases.%s must be an object { database_name = \"...\", username = \"...\" }", key)
	}
	seen := map[string]bool{}
	for _, item := range obj.Items {
		name, err := keyString(item.KeyExpr)
		if err != nil {
			return e, err
		}
		if seen[name] {
			return e, errorAt(item.KeyExpr.Range(), "application_databases.%s: duplicate attribute %q", key, name)
		}
		seen[name] = true
		if name == "retired" {
			if e.Retired, err = literalBool(item.ValueExpr, "application_databases."+key+".retired"); err != nil {
				return e, err
			}
			continue
		}
		if name == "adopt_owned_databases" {
			if e.AdoptOwnedDatabases, err = literalStringList(item.ValueExpr, "application_databases."+key+"."+name); err != nil {
				return e, err
			}
			continue
		}
		value, err := literalString(item.ValueExpr, "application_databases."+key+"."+name)
		if err != nil {
			return e, err
		}
		switch name {
		case "database_name":
			e.DatabaseName = value
		case "username":
			e.Username = value
		case "access_level":
			switch value {
			case AccessOwner, AccessEditor, AccessReader:
				e.AccessLevel = value
			default:
				return e, errorAt(item.ValueExpr.Range(), "application_databases.%s.access_level is %q: want owner, editor or reader", key, value)
			}
		case "secret_name":
			e.SecretName = value
		case "initial_schema":
			if e.InitialSchema, err = initialSchema(key, value, item.ValueExpr.Range()); err != nil {
				return e, err
			}
		case "instance":
			r := item.ValueExpr.Range()
			if err := naming.CheckInstance(value); err != nil {
				return e, errorAt(r, "application_databases.%s.instance is %q: %v", key, value, err)
			}
			e.Instance, place.instance = value, &r
		default:
			return e, errorAt(item.KeyExpr.Range(), "application_databases.%s: unknown attribute %q (want database_name, username, access_level, secret_name, initial_schema, retired, adopt_owned_databases, instance)", key, name)
		}
	}
	if e.InitialSchema != "" && e.AccessLevel != AccessOwner {
		return e, errorAt(expr.Range(), "application_databases.%s: initial_schema %q needs access_level owner: a template is applied by the database's owner entry, not by %s %q", key, e.InitialSchema, e.AccessLevel, e.Username)
	}
	for _, required := range []string{"database_name", "username"} {
		if !seen[required] {
			return e, errorAt(expr.Range(), "application_databases.%s: missing required attribute %q", key, required)
		}
	}
	return e, nil
}

// initialSchema checks an entry's initial_schema against the templates
// this binary carries: an unknown name stops the run before any change.
// "none" is the form's word for no template.
func initialSchema(key, value string, r hcl.Range) (string, error) {
	if value == schema.None {
		return "", nil
	}
	if err := schema.Check(value); err != nil {
		return "", errorAt(r, "application_databases.%s.initial_schema is %q: want %s or %s", key, value, strings.Join(schema.Names(), ", "), schema.None)
	}
	return value, nil
}

func keyString(expr hclsyntax.Expression) (string, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return "", errorAt(expr.Range(), "map keys must be plain names or quoted strings")
	}
	if v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
		return "", errorAt(expr.Range(), "map keys must be plain names or quoted strings")
	}
	return v.AsString(), nil
}

// literalString accepts only constant strings: a tfvars file cannot refer to
// variables, and an interpolation here would be a mistake or an injection.
func literalString(expr hclsyntax.Expression, what string) (string, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", errorAt(expr.Range(), "%s must be a quoted string", what)
	}
	return v.AsString(), nil
}

// literalBool accepts only the constants true and false: "true" in quotes
// is a string, and Terraform would not read it as the lifecycle's flag.
func literalBool(expr hclsyntax.Expression, what string) (bool, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		return false, errorAt(expr.Range(), "%s must be true or false (unquoted)", what)
	}
	return v.True(), nil
}

// literalPort accepts a port as a number or a quoted number, 1 to 65535.
func literalPort(expr hclsyntax.Expression, what string) (int, error) {
	v, diags := expr.Value(nil)
	if !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
		if n, err := strconv.Atoi(strings.TrimSpace(v.AsString())); err == nil {
			v = cty.NumberIntVal(int64(n))
		}
	}
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, errorAt(expr.Range(), "%s must be a port number from 1 to 65535", what)
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 1 || n > 65535 {
		return 0, errorAt(expr.Range(), "%s must be a port number from 1 to 65535", what)
	}
	return int(n), nil
}

// literalStringList accepts only a list of constant strings.
func literalStringList(expr hclsyntax.Expression, what string) ([]string, error) {
	tuple, ok := expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return nil, errorAt(expr.Range(), "%s must be a list of quoted strings, e.g. [\"payroll\"]", what)
	}
	out := make([]string, 0, len(tuple.Exprs))
	for _, item := range tuple.Exprs {
		s, err := literalString(item, what+" items")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// topString reads an optional top-level string; null, as Terraform allows
// for any variable, counts as absent.
func topString(body *hclsyntax.Body, name string) (string, error) {
	attr, ok := body.Attributes[name]
	if !ok || isNull(attr.Expr) {
		return "", nil
	}
	return literalString(attr.Expr, name)
}

func itemString(obj *hclsyntax.ObjectConsExpr, name string) (string, error) {
	item, ok := findItem(obj, name)
	if !ok || isNull(item.ValueExpr) {
		return "", nil
	}
	return literalString(item.ValueExpr, "rds_config."+name)
}

func isNull(expr hclsyntax.Expression) bool {
	v, diags := expr.Value(nil)
	return !diags.HasErrors() && v.IsNull()
}

// environment is the top-level environment attribute when it is a plain
// string; other shapes are the stack's own business and not compared.
func environment(body *hclsyntax.Body) string {
	attr, ok := body.Attributes["environment"]
	if !ok {
		return ""
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func findItem(obj *hclsyntax.ObjectConsExpr, name string) (hclsyntax.ObjectConsItem, bool) {
	for _, item := range obj.Items {
		if key, err := keyString(item.KeyExpr); err == nil && key == name {
			return item, true
		}
	}
	return hclsyntax.ObjectConsItem{}, false
}

// Error is a problem at a place in a tfvars file. Its text starts with
// file:line,column; the fields let the Actions runtime annotate that line.
type Error struct {
	File         string
	Line, Column int
	msg          string
}

func (e *Error) Error() string { return e.msg }

// errorAt reports a problem at r.
func errorAt(r hcl.Range, format string, args ...any) error {
	return &Error{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column, msg: rangeOf(r) + ": " + fmt.Sprintf(format, args...)}
}

// diagError keeps the HCL parser's own words and the place of its first error.
func diagError(prefix string, diags hcl.Diagnostics) error {
	e := &Error{msg: prefix + diags.Error()}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			e.File, e.Line, e.Column = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
			break
		}
	}
	return e
}

func rangeOf(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}
