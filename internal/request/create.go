package request

import (
	"fmt"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// create: a new database and its owner role, entered in the tfvars and
// the catalog (SPEC's original request).

// checkCreate refuses a database that exists with another owner ("use
// request_type grant"), a username that belongs elsewhere or already has
// access, a retired database, and a name that is already another entry's
// key (the key names the secret path). The same database and username
// again is a rerun: no problem.
func checkCreate(f Form, facts Facts, found *findings) {
	for _, d := range facts.Databases {
		sameDB, sameUser := d.DatabaseName == f.DatabaseName, d.Username == f.Username
		switch {
		case sameDB && sameUser && d.level() != tfvars.AccessOwner:
			found.add(FieldUsername, fmt.Sprintf("already has %s access to database %q in ", d.level(), d.DatabaseName), "; a database's create request names its owner role, a new username", d.Source)
		case sameDB && sameUser && d.Retired:
			found.add(FieldDatabaseName, "is retired in ", "; a retired database is not created again (its data is kept until it is decommissioned)", d.Source)
		case sameDB && !sameUser && d.level() == tfvars.AccessOwner:
			found.add(FieldDatabaseName, "already exists in ", fmt.Sprintf(" with username %q; to give %q access to it use request_type grant", d.Username, f.Username), d.Source)
		case !sameDB && sameUser:
			found.add(FieldUsername, fmt.Sprintf("is already used by database %q in ", d.DatabaseName), "; each database needs its own username", d.Source)
		case !sameDB && d.Key == f.DatabaseName:
			found.add(FieldDatabaseName, fmt.Sprintf("is already the key of database %q in ", d.DatabaseName), " (the key names the secret path)", d.Source)
		}
	}
}

// planCreate places the database (when the environment declares
// rds_instances) and adds the owner entry to each tfvars file and the
// entry to the catalog, both naming the instance.
func (in *planInput) planCreate(p *Plan) error {
	form, env := in.form, in.env
	p.SecretPath = naming.AppSecretPath(in.settings.SecretPrefix, env, form.DatabaseName)
	p.InstanceClass = in.enums.InstanceClass[form.Size]
	p.Owner, p.Risk, p.OwnerUsername = form.Owner, form.Risk, form.Username
	p.Branch = "database/create-" + env + "-" + form.DatabaseName
	p.Title = fmt.Sprintf("Create RDS Database: %s (%s)", form.DatabaseName, env)
	p.CommitMessage = fmt.Sprintf("database: create %s in %s", form.DatabaseName, env)
	p.Labels = []string{"rds-database", "platform-team", env, form.Risk + "-risk"}
	// A template travels to provision in the tfvars entry, and is recorded
	// in the catalog; "none" writes nothing.
	template := ""
	if form.InitialSchema != schema.None {
		template = form.InitialSchema
	}
	instance := ""
	if in.facts.RDSInstances.declared() {
		placed, rule := place(form.DatabaseName, form.Size, in.facts)
		if rule != "" { // Validate refused it already; never guess
			return &ValidationError{Problems: []FieldError{{Field: FieldSize, Value: QuoteValue(form.Size), Rule: rule}}}
		}
		p.Placement, p.Instance, instance = &placed, placed.Instance, placed.Instance
		p.MasterSecret = in.masterSecret(instance)
	}
	entry := tfvars.NewEntry{Key: form.DatabaseName, DatabaseName: form.DatabaseName, Username: form.Username, InitialSchema: template, Instance: instance}
	if err := in.insert(p, entry); err != nil {
		return err
	}
	out, changed, err := catalog.Upsert(in.catSrc, env, catalog.Entry{
		Name: form.DatabaseName, Owner: form.Owner, RequestedBy: form.User, Domain: form.Domain,
		Risk: form.Risk, Username: form.Username, SizeTier: form.Size,
		InstanceClass: p.InstanceClass, SecretPath: p.SecretPath, InitialSchema: template, Instance: instance,
	}, in.settings.Now)
	return in.catalogEdit(p, out, changed, err)
}
