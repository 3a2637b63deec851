package tfvars

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/goldenpath/rds-provision/internal/naming"
)

// Several RDS instances per environment: rds_instances, beside
// application_databases (top-level in the standalone layout, inside
// rds_config in the coupled one), names each instance with its size tier,
// the most databases placement puts on it and, optionally, its master
// secret and endpoint; an entry names its instance with instance = "...":
//
//	rds_instances = {
//	  shared-small-1 = { tier = "small", max_databases = 80 }
//	  shared-large-1 = { tier = "large", max_databases = 10, master_secret = "goldenpath/prod/rds/shared-large-1/master" }
//	}
//
// A file without rds_instances is one implicit instance, exactly as
// before: its entries name none (an entry that does is refused), and its
// master secret is <prefix>/<env>/rds/master.

// MaxDatabasesLimit bounds max_databases: far above what one instance
// holds, low enough that no arithmetic on it overflows.
const MaxDatabasesLimit = 100000

// Instance is one RDS instance of an environment: an item of
// rds_instances, or the implicit instance of a file that declares none.
type Instance struct {
	// Name is the rds_instances key; empty for the implicit instance.
	Name string
	// Tier is the size tier (the form's size: small, medium, large, ...)
	// of the databases placement puts on it; empty for the implicit
	// instance, which takes every size.
	Tier string
	// MaxDatabases is the most databases (owner entries, retired ones
	// included: their data stays) placement puts on it; 0 for the
	// implicit instance: no limit.
	MaxDatabases int
	// MasterSecret is master_secret as written; empty for the default,
	// see MasterSecretPath.
	MasterSecret string
	// The instance's endpoint, for an RDS-managed master secret that
	// holds only username and password: rds_endpoint, rds_port and
	// identifier in its object (for the implicit instance, the file's
	// own); empty or 0 when absent. A declared instance never takes the
	// file-level ones: they name one server.
	Endpoint   string
	Port       int
	Identifier string
	Line       int // line of the key; 0 for the implicit instance
}

// Implicit reports whether i is the one instance of a file without
// rds_instances.
func (i Instance) Implicit() bool { return i.Name == "" }

// MasterSecretPath is the Secrets Manager id of the instance's master
// credentials: its master_secret, else <prefix>/<env>/rds/<name>/master,
// and <prefix>/<env>/rds/master for the implicit instance
// (naming.InstanceMasterSecretPath).
func (i Instance) MasterSecretPath(prefix, env string) string {
	if i.MasterSecret != "" {
		return i.MasterSecret
	}
	return naming.InstanceMasterSecretPath(prefix, env, i.Name)
}

// Instances returns the environment's instances: those rds_instances
// declares, in file order, or, for a file that declares none, the one
// implicit instance (Name empty, with the file's endpoint). Provision
// runs each with its own master secret and the entries EntriesOn gives.
func (f *File) Instances() []Instance {
	if len(f.RDSInstances) > 0 {
		return append([]Instance(nil), f.RDSInstances...)
	}
	return []Instance{{Endpoint: f.Endpoint, Port: f.Port, Identifier: f.Identifier}}
}

// Instance returns the declared instance called name, or the implicit
// instance for "" in a file without rds_instances.
func (f *File) Instance(name string) (Instance, bool) {
	for _, i := range f.Instances() {
		if i.Name == name {
			return i, true
		}
	}
	return Instance{}, false
}

// InstanceNames lists the declared instances' names, sorted.
func (f *File) InstanceNames() []string {
	var out []string
	for _, i := range f.RDSInstances {
		out = append(out, i.Name)
	}
	sort.Strings(out)
	return out
}

// EntriesOn returns the entries on the instance called name, in tfvars
// order ("" in a file without rds_instances: every entry).
func (f *File) EntriesOn(name string) []Entry {
	var out []Entry
	for _, e := range f.Entries {
		if e.Instance == name {
			out = append(out, e)
		}
	}
	return out
}

// Databases counts the databases on the instance called name: its owner
// entries, retired ones included (a retired database keeps its data on
// the instance until it is decommissioned).
func (f *File) Databases(name string) int {
	n := 0
	for _, e := range f.Entries {
		if e.Instance == name && e.AccessLevel == AccessOwner {
			n++
		}
	}
	return n
}

// CheckTiers refuses a declared instance whose tier is not one of tiers,
// the form's size vocabulary (the request's enums, or the infra repo's
// override of them), with a file:line error naming the tiers. The reader
// checks only a tier's shape: its vocabulary is the form's, which this
// package does not import.
func (f *File) CheckTiers(tiers []string) error {
	for _, i := range f.RDSInstances {
		known := false
		for _, t := range tiers {
			known = known || t == i.Tier
		}
		if !known {
			return &Error{File: f.Path, Line: i.Line, msg: fmt.Sprintf("%s:%d: rds_instances.%s.tier is %q: want one of the form's size tiers, %s (the enum override schemas/metadata/enums.yaml may list others)", f.Path, i.Line, i.Name, i.Tier, strings.Join(tiers, ", "))}
		}
	}
	return nil
}

// instanceAttributes are the attributes an rds_instances item may have.
var instanceAttributes = []string{"tier", "max_databases", "master_secret", "rds_endpoint", "rds_port", "identifier"}

// readInstances reads the rds_instances map.
func readInstances(expr hclsyntax.Expression) ([]Instance, error) {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, errorAt(expr.Range(), "rds_instances must be a map { name = { tier = \"...\", max_databases = N } }")
	}
	if len(obj.Items) == 0 {
		return nil, errorAt(expr.Range(), "rds_instances declares no instance: declare at least one (name = { tier = \"small\", max_databases = 80 }), or remove rds_instances for the environment's one implicit instance")
	}
	seen := map[string]int{}
	secrets := map[string]Instance{}
	out := make([]Instance, 0, len(obj.Items))
	for _, item := range obj.Items {
		name, err := keyString(item.KeyExpr)
		if err != nil {
			return nil, err
		}
		kr := item.KeyExpr.Range()
		if err := naming.CheckInstance(name); err != nil {
			return nil, errorAt(kr, "rds_instances key %q: %v", name, err)
		}
		if first, dup := seen[name]; dup {
			return nil, errorAt(kr, "duplicate rds_instances key %q (first at line %d)", name, first)
		}
		seen[name] = kr.Start.Line
		inst, err := readInstance(name, kr.Start.Line, item.ValueExpr)
		if err != nil {
			return nil, err
		}
		if inst.MasterSecret != "" {
			if o, dup := secrets[inst.MasterSecret]; dup {
				return nil, errorAt(kr, "rds_instances.%s.master_secret is %q, as rds_instances.%s's (line %d): each instance has its own master secret (the same credentials would be the same server twice)", name, inst.MasterSecret, o.Name, o.Line)
			}
			secrets[inst.MasterSecret] = inst
		}
		out = append(out, inst)
	}
	return out, nil
}

func readInstance(name string, line int, expr hclsyntax.Expression) (Instance, error) {
	inst := Instance{Name: name, Line: line}
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return inst, errorAt(expr.Range(), "rds_instances.%s must be an object { tier = \"...\", max_databases = N }", name)
	}
	seen := map[string]bool{}
	for _, item := range obj.Items {
		attr, err := keyString(item.KeyExpr)
		if err != nil {
			return inst, err
		}
		if seen[attr] {
			return inst, errorAt(item.KeyExpr.Range(), "rds_instances.%s: duplicate attribute %q", name, attr)
		}
		seen[attr] = true
		what := "rds_instances." + name + "." + attr
		vr := item.ValueExpr.Range()
		switch attr {
		case "max_databases":
			if inst.MaxDatabases, err = literalCount(item.ValueExpr, what); err != nil {
				return inst, err
			}
			continue
		case "rds_port":
			if isNull(item.ValueExpr) {
				continue
			}
			if inst.Port, err = literalPort(item.ValueExpr, what); err != nil {
				return inst, err
			}
			continue
		case "tier", "master_secret", "rds_endpoint", "identifier":
		default:
			return inst, errorAt(item.KeyExpr.Range(), "rds_instances.%s: unknown attribute %q (want %s)", name, attr, strings.Join(instanceAttributes, ", "))
		}
		if attr != "tier" && isNull(item.ValueExpr) {
			continue // optional: null is absent, as Terraform reads it
		}
		value, err := literalString(item.ValueExpr, what)
		if err != nil {
			return inst, err
		}
		switch attr {
		case "tier":
			if err := naming.CheckTier(value); err != nil {
				return inst, errorAt(vr, "%s is %q: %v", what, value, err)
			}
			inst.Tier = value
		case "master_secret":
			if err := naming.CheckMasterSecret(value); err != nil {
				return inst, errorAt(vr, "%s is %q: %v", what, value, err)
			}
			inst.MasterSecret = value
		case "rds_endpoint":
			inst.Endpoint = value
		case "identifier":
			inst.Identifier = value
		}
	}
	for _, required := range []struct{ attr, example string }{
		{"tier", `tier = "small"`},
		{"max_databases", "max_databases = 80"},
	} {
		if !seen[required.attr] {
			return inst, errorAt(expr.Range(), "rds_instances.%s: missing required attribute %q (e.g. %s): placement puts a request of the instance's size tier on it while it holds fewer than max_databases databases", name, required.attr, required.example)
		}
	}
	return inst, nil
}

// literalCount accepts a whole number from 1 to MaxDatabasesLimit,
// unquoted.
func literalCount(expr hclsyntax.Expression, what string) (int, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, errorAt(expr.Range(), "%s must be a whole number from 1 to %d, unquoted (e.g. 80)", what, MaxDatabasesLimit)
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 1 || n > MaxDatabasesLimit {
		return 0, errorAt(expr.Range(), "%s must be a whole number from 1 to %d, unquoted (e.g. 80)", what, MaxDatabasesLimit)
	}
	return int(n), nil
}

// resolveInstances applies the instance rule to every entry: in a file
// without rds_instances no entry names an instance; in a file that
// declares them, an entry names one it declares, and an entry that names
// none is on the only instance when there is exactly one, and refused
// when there are several (placing it would be a guess: the fix is to name
// its instance).
func resolveInstances(f *File, places []entryPlace) error {
	if len(f.RDSInstances) == 0 {
		for i, e := range f.Entries {
			if e.Instance != "" {
				return errorAt(*places[i].instance, "application_databases.%s.instance is %q, but the file declares no rds_instances: declare the environment's instances (rds_instances = { %s = { tier = \"...\", max_databases = N } }), or remove instance for the environment's one implicit instance", e.Key, e.Instance, e.Instance)
			}
		}
		return nil
	}
	names := f.InstanceNames()
	declared := map[string]bool{}
	for _, n := range names {
		declared[n] = true
	}
	var missing []string
	first := -1
	for i := range f.Entries {
		e := &f.Entries[i]
		switch {
		case e.Instance != "" && !declared[e.Instance]:
			return errorAt(*places[i].instance, "application_databases.%s.instance is %q, which rds_instances does not declare (it declares %s): name one of them, or declare it", e.Key, e.Instance, strings.Join(names, ", "))
		case e.Instance != "":
		case len(names) == 1:
			e.Instance = names[0]
		default:
			missing = append(missing, e.Key)
			if first < 0 {
				first = i
			}
		}
	}
	if first >= 0 {
		return errorAt(places[first].key, "application_databases.%s names no instance, and rds_instances declares %d (%s): add instance = \"...\" to %s, naming the instance its database is on (an entry without one is on the only instance only while there is one)", f.Entries[first].Key, len(names), strings.Join(names, ", "), listKeys(missing))
	}
	return nil
}

// listKeys names the entries an error concerns, at most five of them.
func listKeys(keys []string) string {
	if len(keys) == 1 {
		return "it"
	}
	shown := keys
	if len(shown) > 5 {
		shown = shown[:5]
	}
	s := fmt.Sprintf("each of the %d entries without one (%s", len(keys), strings.Join(shown, ", "))
	if len(keys) > len(shown) {
		s += ", ..."
	}
	return s + ")"
}

// SameInstances reports whether two files declare the same instances, in
// the same order (their lines aside).
func SameInstances(a, b []Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Line, y.Line = 0, 0
		if x != y {
			return false
		}
	}
	return true
}
