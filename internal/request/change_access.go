package request

import (
	"fmt"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// change-access: an editor becomes a reader or the other way round, in
// place in the entry (its comments and layout stay); provision converges
// the role's privileges to the new level, revoking what it no longer
// includes.

// checkChangeAccess refuses a database that does not exist, a username
// without an entry on it ("use request_type grant") or of another
// database, the owner (its level stays owner), a retired role, and the
// level the role already has.
func checkChangeAccess(f Form, facts Facts, found *findings) {
	if !checkDay2Database(f, facts, found) {
		return
	}
	for _, d := range checkDay2Entry(f, facts, found) {
		switch {
		case d.level() == tfvars.AccessOwner:
			found.add(FieldUsername, fmt.Sprintf("is the owner of database %q in ", f.DatabaseName), ": its role owns the database, so its level stays owner", d.Source)
		case d.Retired:
			found.add(FieldUsername, "is retired in ", ": a retired role's level does not change", d.Source)
		case d.level() == f.AccessLevel:
			found.add(FieldAccessLevel, fmt.Sprintf("is already the level of %q on %q in ", f.Username, f.DatabaseName), ": nothing to change", d.Source)
		}
	}
}

// planChangeAccess sets access_level in each tfvars file's entry and the
// catalog's access record.
func (in *planInput) planChangeAccess(p *Plan) error {
	form, env := in.form, in.env
	p.AccessLevel = form.AccessLevel
	p.Branch = "database/change-access-" + env + "-" + form.DatabaseName + "-" + form.Username
	p.Title = fmt.Sprintf("Change RDS access: %s to %s on %s (%s)", form.Username, form.AccessLevel, form.DatabaseName, env)
	p.CommitMessage = fmt.Sprintf("database: change %s to %s on %s in %s", form.Username, form.AccessLevel, form.DatabaseName, env)
	err := in.update(p, func(f *tfvars.File) []tfvars.Change {
		var out []tfvars.Change
		for _, e := range f.Entries {
			if e.DatabaseName == form.DatabaseName && e.Username == form.Username {
				if p.PreviousLevel == "" {
					p.PreviousLevel = e.AccessLevel
				}
				out = append(out, tfvars.Change{Key: e.Key, AccessLevel: form.AccessLevel})
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	out, changed, err := catalog.ChangeAccess(in.catSrc, env, form.DatabaseName, form.Username, form.AccessLevel, form.User, in.settings.Now)
	return in.catalogEdit(p, out, changed, err)
}
