package request

import (
	"fmt"
	"sort"
	"strings"

	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Placement: which instance a create request puts its database on, when
// the environment's tfvars declares several (rds_instances). The rule,
// pure and deterministic, so the same files always give the same choice:
//
//  1. a database that already has its owner entry stays where it is (a
//     rerun, or the request of a database already made): a database never
//     moves, since moving it is a migration;
//  2. otherwise, among the instances whose tier is the requested size and
//     that hold fewer databases than their max_databases, the one with
//     the fewest databases, ties going to the first name in byte order.
//
// Databases are counted as tfvars owner entries on the instance, retired
// ones included (their data stays until decommissioned); editor and reader
// entries add no database. No instance of the tier, or none with room, is
// a validation problem of the size field, naming the tier and the remedy.

// Placement is where a create request puts its database, and why.
type Placement struct {
	Instance string // the rds_instances key chosen
	Tier     string // the requested size
	// Existing is true when the database's owner entry was already on
	// Instance: it stays there.
	Existing bool
	Source   string // the tfvars file whose rds_instances was read
	// Candidates are the instances of the tier, in the rule's order:
	// fewest databases first, ties by name; the full ones last.
	Candidates []Candidate
	// Others are the instances of other tiers, by name, with their tier.
	Others []Candidate
}

// Candidate is one instance as placement saw it.
type Candidate struct {
	Name         string
	Tier         string
	Databases    int // owner entries on it
	MaxDatabases int
}

// Room reports whether the instance takes another database.
func (c Candidate) Room() bool { return c.Databases < c.MaxDatabases }

// InstanceFacts are the environment's declared instances, read from its
// first tfvars file (the coupled one in coupled mode; the other, when
// edited too, must declare the same).
type InstanceFacts struct {
	Source    string
	Instances []tfvars.Instance
}

// declared reports whether the environment declares instances.
func (f InstanceFacts) declared() bool { return len(f.Instances) > 0 }

// find returns the instance called name.
func (f InstanceFacts) find(name string) (tfvars.Instance, bool) {
	for _, i := range f.Instances {
		if i.Name == name {
			return i, true
		}
	}
	return tfvars.Instance{}, false
}

// place applies the rule to a create request of database on tier. It
// returns the placement, or the size field's problem (rule text) when the
// database cannot be placed. facts.Databases gives the counts (the tfvars
// entries of the instances' source) and the database's own entry.
func place(database, tier string, facts Facts) (Placement, string) {
	in := facts.RDSInstances
	p := Placement{Tier: tier, Source: in.Source}
	counts := map[string]int{}
	existing := ""
	for _, d := range facts.Databases {
		if !d.InTfvars || d.Source != in.Source || d.level() != tfvars.AccessOwner {
			continue
		}
		counts[d.Instance]++
		if d.DatabaseName == database {
			existing = d.Instance
		}
	}
	for _, i := range in.Instances {
		c := Candidate{Name: i.Name, Tier: i.Tier, Databases: counts[i.Name], MaxDatabases: i.MaxDatabases}
		if i.Tier == tier {
			p.Candidates = append(p.Candidates, c)
		} else {
			p.Others = append(p.Others, c)
		}
	}
	sort.Slice(p.Candidates, func(a, b int) bool {
		x, y := p.Candidates[a], p.Candidates[b]
		if x.Room() != y.Room() {
			return x.Room()
		}
		if x.Databases != y.Databases {
			return x.Databases < y.Databases
		}
		return x.Name < y.Name
	})
	sort.Slice(p.Others, func(a, b int) bool { return p.Others[a].Name < p.Others[b].Name })

	if existing != "" {
		inst, _ := in.find(existing)
		if inst.Tier != tier {
			return p, fmt.Sprintf("does not fit database %q: it is on instance %s (tier %s) in %s, and a database stays on its instance; request size %s for it (moving it to another tier is a migration, not a request)",
				database, existing, inst.Tier, in.Source, inst.Tier)
		}
		p.Instance, p.Existing = existing, true
		return p, ""
	}
	switch {
	case len(p.Candidates) == 0:
		return p, fmt.Sprintf("has no instance in %s: rds_instances declares none of tier %s (%s); add one (rds_instances = { NAME = { tier = %q, max_databases = N } }), or request a size that has one",
			in.Source, tier, tiersOf(p.Others), tier)
	case !p.Candidates[0].Room():
		var full []string
		for _, c := range p.Candidates {
			full = append(full, fmt.Sprintf("%s holds %d of %d", c.Name, c.Databases, c.MaxDatabases))
		}
		return p, fmt.Sprintf("has no instance with room in %s: every instance of tier %s is full (%s); add an instance of tier %s to rds_instances, or raise max_databases of one",
			in.Source, tier, strings.Join(full, ", "), tier)
	}
	p.Instance = p.Candidates[0].Name
	return p, ""
}

// Summary says in one line where the database went and why, for the
// job summary: the tier, the chosen instance's count and the others'.
func (p Placement) Summary() string {
	if p.Existing {
		return fmt.Sprintf("already there: a database stays on its instance (size %s)", p.Tier)
	}
	var others []string
	var chosen Candidate
	for _, c := range p.Candidates {
		if c.Name == p.Instance {
			chosen = c
			continue
		}
		others = append(others, fmt.Sprintf("%s %d of %d", c.Name, c.Databases, c.MaxDatabases))
	}
	s := fmt.Sprintf("placed by size %s: %s holds %d of %d databases, the fewest with room", p.Tier, chosen.Name, chosen.Databases, chosen.MaxDatabases)
	if len(others) > 0 {
		s += "; " + strings.Join(others, ", ")
	}
	return s
}

// tiersOf lists the tiers of instances as "name tier, ...".
func tiersOf(cs []Candidate) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" is "+c.Tier)
	}
	return strings.Join(out, ", ")
}
