package request

import (
	"fmt"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// retire: retired = true on the username's entry, or on every entry of
// the database when its owner is named (the database retires with its
// owner). Provision then makes each role NOLOGIN, ends its sessions and
// keeps the data; deletion is the break-glass decommission. The catalog
// moves the records (and, for the owner, the database) to decommissioning.

// checkRetire refuses a database that does not exist and a username
// without an entry on it. Entries already retired are a rerun: no problem.
func checkRetire(f Form, facts Facts, found *findings) {
	if !checkDay2Database(f, facts, found) {
		return
	}
	checkDay2Entry(f, facts, found)
}

// planRetire sets retired = true in each tfvars file and records the
// request in the catalog.
func (in *planInput) planRetire(p *Plan) error {
	form, env := in.form, in.env
	whole := form.Username == p.OwnerUsername
	if whole {
		p.Branch = "database/retire-" + env + "-" + form.DatabaseName
		p.Title = fmt.Sprintf("Retire RDS database: %s (%s)", form.DatabaseName, env)
		p.CommitMessage = fmt.Sprintf("database: retire %s in %s", form.DatabaseName, env)
	} else {
		p.Branch = "database/retire-" + env + "-" + form.DatabaseName + "-" + form.Username
		p.Title = fmt.Sprintf("Retire RDS access: %s on %s (%s)", form.Username, form.DatabaseName, env)
		p.CommitMessage = fmt.Sprintf("database: retire %s on %s in %s", form.Username, form.DatabaseName, env)
	}
	var grants []catalog.Access
	seen := map[string]bool{}
	err := in.update(p, func(f *tfvars.File) []tfvars.Change {
		var out []tfvars.Change
		for _, e := range f.Entries {
			if e.DatabaseName != form.DatabaseName || !whole && e.Username != form.Username {
				continue
			}
			if !e.Retired {
				out = append(out, tfvars.Change{Key: e.Key, Retire: true})
			}
			if !seen[e.Username] {
				seen[e.Username] = true
				p.Retired = append(p.Retired, RetiredRole{Username: e.Username, AccessLevel: e.AccessLevel, Already: e.Retired})
				if e.AccessLevel != tfvars.AccessOwner {
					grants = append(grants, catalog.Access{Username: e.Username, Level: e.AccessLevel})
				}
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	out, changed, err := catalog.Retire(in.catSrc, env, form.DatabaseName, catalog.Retirement{Grants: grants, Database: whole, By: form.User}, in.settings.Now)
	return in.catalogEdit(p, out, changed, err)
}
