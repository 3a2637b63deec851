package request

import (
	"fmt"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// grant: a new role with editor or reader access to a database an owner
// entry lists. Its entry's key is its username (keys name the secret
// path, <prefix>/<env>/<key>/postgres, so the role gets its own secret);
// the catalog records the grant under the database's entry.

// checkGrant refuses a database that does not exist ("use request_type
// create"), a retired one, its owner's own username, a username that
// already has another level ("use request_type change-access"), is
// retired, belongs to another database, or is already another entry's key.
// The same grant again is a rerun: no problem.
func checkGrant(f Form, facts Facts, found *findings) {
	if !checkDay2Database(f, facts, found) {
		return
	}
	for _, o := range ownerRows(facts, f.DatabaseName) {
		switch {
		case o.Retired:
			found.add(FieldDatabaseName, "is retired in ", ": a retired database takes no new access", o.Source)
		case o.Username == f.Username:
			found.add(FieldUsername, fmt.Sprintf("is the owner of database %q in ", f.DatabaseName), ": the owner has every privilege on it already", o.Source)
		}
	}
	for _, d := range facts.Databases {
		sameDB, sameUser := d.DatabaseName == f.DatabaseName, d.Username == f.Username
		switch {
		case sameDB && sameUser && d.level() == tfvars.AccessOwner:
			// The owner: reported above.
		case sameDB && sameUser && d.Retired:
			found.add(FieldUsername, fmt.Sprintf("had access to %q and is retired in ", f.DatabaseName), ": a retired role is not given access again; choose a new username", d.Source)
		case sameDB && sameUser && d.level() != f.AccessLevel:
			found.add(FieldAccessLevel, fmt.Sprintf("is not the level %q has on %q: it has %s in ", f.Username, f.DatabaseName, d.level()), "; to change it use request_type change-access", d.Source)
		case !sameDB && sameUser:
			found.add(FieldUsername, fmt.Sprintf("is already used by database %q in ", d.DatabaseName), "; a role serves one database, so choose another username", d.Source)
		case d.Key == f.Username && !(sameDB && sameUser):
			found.add(FieldUsername, fmt.Sprintf("is already the key of database %q's entry in ", d.DatabaseName), " (a grant's key is its username, and the key names the secret path)", d.Source)
		}
	}
}

// planGrant adds the editor or reader entry after the others in each
// tfvars file, on its database's instance, and the access record to the
// catalog.
func (in *planInput) planGrant(p *Plan) error {
	form, env := in.form, in.env
	p.AccessLevel = form.AccessLevel
	p.SecretPath = naming.AppSecretPath(in.settings.SecretPrefix, env, form.Username)
	p.Branch = "database/grant-" + env + "-" + form.DatabaseName + "-" + form.Username
	p.Title = fmt.Sprintf("Grant RDS access: %s (%s) on %s (%s)", form.Username, form.AccessLevel, form.DatabaseName, env)
	p.CommitMessage = fmt.Sprintf("database: grant %s on %s to %s in %s", form.AccessLevel, form.DatabaseName, form.Username, env)
	// The role is given access on its database's instance (p.Instance,
	// set by day2 when the environment declares instances).
	instance := ""
	if in.facts.RDSInstances.declared() {
		instance = p.Instance
	}
	entry := tfvars.NewEntry{Key: form.Username, DatabaseName: form.DatabaseName, Username: form.Username, AccessLevel: form.AccessLevel, Instance: instance}
	if err := in.insert(p, entry); err != nil {
		return err
	}
	out, changed, err := catalog.Grant(in.catSrc, env, form.DatabaseName, catalog.Access{
		Username: form.Username, Level: form.AccessLevel, Team: form.Owner, RequestedBy: form.User,
	}, in.settings.Now)
	return in.catalogEdit(p, out, changed, err)
}
