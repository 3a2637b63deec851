package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/schema"
)

// The schema template of an owner entry (initial_schema, apply_schema):
// what its database holds (schema.Inspect, in a read-only session logged
// in as the owner role: the marker is the tenant's own table, which the
// master never reads), the plan's apply_schema step, its execution
// (schema.Apply, as the owner), and what it says. The templates themselves
// are internal/schema's.

// Kinds of apply_schema step.
const (
	SchemaApply         Kind = "schema.apply"          // the template (or its newer version) applied
	SchemaDecided       Kind = "schema.decided"        // already applied, or objects it did not create: left alone
	SchemaCheckAsOwner  Kind = "schema.check_as_owner" // real run: inspected and applied in the owner's session after its password is set
	SchemaInspectLater  Kind = "schema.inspect_later"  // dry run: the owner cannot log in yet
	SchemaUninspectable Kind = "schema.uninspectable"  // the database could not be inspected
	SchemaUnknown       Kind = "schema.unknown"        // no such template
	SchemaSkipped       Kind = "schema.skipped"        // warning: its entry's grants were skipped
)

// schema plans an owner entry's initial_schema: schema.Decide on what the
// state read found (nothing, for a database this plan creates).
func (p *planner) schema(i int, e *entry) {
	s := Step{Action: audit.ActionApplySchema}
	t, err := schema.Lookup(e.InitialSchema)
	if err != nil {
		s.Kind, s.Status, s.say = SchemaUnknown, audit.Error, schemaFacts{key: e.Key, err: err}
		p.add(i, e, s)
		return
	}
	f := schemaFacts{db: e.DatabaseName, user: e.Username, label: t.Label()}
	db := p.st.databases[e.DatabaseName]
	// What applies the template: its own transaction, in the owner's session.
	apply := Step{Action: audit.ActionApplySchema, On: e.DatabaseName, Template: t.Name, Tenant: true}
	var st schema.State
	if !db.created {
		var login *ownerLoginError
		switch {
		case db.schema != nil:
			st = *db.schema
		case errors.As(db.schemaErr, &login) && !p.in.dryRun:
			// The create_role step sets the owner's password first: Apply
			// then inspects and decides in the owner's session, and the
			// row says what it did.
			apply.Kind, apply.Status, apply.say = SchemaCheckAsOwner, audit.Success, f
			p.add(i, e, apply)
			return
		case errors.As(db.schemaErr, &login):
			f.err = login
			s.Kind, s.Status, s.say = SchemaInspectLater, audit.Warning, f
			p.add(i, e, s)
			return
		default:
			f.err = db.schemaErr
			if f.err == nil {
				f.err = db.readErr
			}
			s.Kind, s.Status, s.Tenant, s.say = SchemaUninspectable, audit.Error, true, f
			p.add(i, e, s)
			return
		}
	}
	d := schema.Decide(t, st)
	f.decision = &d
	s.Kind, s.say = SchemaDecided, f
	s.Status, _ = d.Row(e.DatabaseName, false)
	if d.Action == schema.ActionApply {
		apply.Kind, apply.Status, apply.say = SchemaApply, s.Status, f
		s = apply
	}
	p.add(i, e, s)
}

// schemaSkipped says that an owner entry's initial_schema is not applied
// because its grants were skipped, so the preview names the template too.
func (p *planner) schemaSkipped(i int, e *entry, why string) {
	if e.InitialSchema == "" {
		return
	}
	p.add(i, e, Step{Kind: SchemaSkipped, Action: audit.ActionApplySchema, Status: audit.Warning,
		say: schemaFacts{db: e.DatabaseName, label: e.InitialSchema, why: why}})
}

// ownerLoginError says the owner role could not log in to its database to
// inspect it for its initial_schema: before the real run's create_role step
// its password may differ from its secret, or the secret may not exist yet.
type ownerLoginError struct {
	owner, db, secret string
	err               error
}

func (e *ownerLoginError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("its owner %s has no password to log in with yet (secret %s cannot be read)", e.owner, e.secret)
	}
	return fmt.Sprintf("its owner %s cannot log in to %s with the password from %s (%s)", e.owner, e.db, e.secret, pgMessage(e.err))
}

func (e *ownerLoginError) Unwrap() error { return e.err }

// inspectAsOwner reads what the owner entry e's initial_schema needs
// (schema.Inspect) in a read-only session logged in as the owner role: the
// marker is the tenant's own table, which the master never reads.
func (r *run) inspectAsOwner(ctx context.Context, e *entry) (*schema.State, error) {
	if e.password == "" {
		return nil, &ownerLoginError{owner: e.Username, db: e.DatabaseName, secret: e.SecretPath}
	}
	conn, err := r.connectAs(ctx, e.DatabaseName, e.Username, e.password)
	if isLoginError(err) {
		return nil, &ownerLoginError{owner: e.Username, db: e.DatabaseName, secret: e.SecretPath, err: err}
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	sctx, cancel := r.statementContext(ctx, 0)
	defer cancel()
	// Two queries, one snapshot.
	tx, err := conn.BeginTx(sctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("inspect %s as %s: %w", e.DatabaseName, e.Username, err)
	}
	defer tx.Rollback(context.Background())
	st, err := schema.Inspect(sctx, tx, e.Username)
	if err != nil {
		return nil, err
	}
	return &st, tx.Commit(sctx)
}

// applySchema applies an initial_schema template as the owner role. Apply
// decides again under its own lock, so the row says what it really did
// (the outcome's decision, render.go).
func (r *run) applySchema(ctx context.Context, conn *pgx.Conn, s Step) (*schema.Decision, error) {
	t, err := schema.Lookup(s.Template)
	if err != nil {
		return nil, err
	}
	d, err := schema.Apply(ctx, conn, t, s.Username)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// schemaFacts are what an apply_schema step says.
type schemaFacts struct {
	db, user, key string
	label         string           // the template and version: basic-app (v1)
	decision      *schema.Decision // what schema.Decide found
	err           error            // why it could not be inspected, or no template
	why           string           // SchemaSkipped: why the grants were skipped
}

func (f schemaFacts) words(k Kind) wording {
	fail := fmt.Sprintf("Failed to apply schema template %s to %s", f.label, f.db)
	switch k {
	case SchemaApply:
		_, msg := f.decision.Row(f.db, false)
		return wording{message: msg, preview: f.decision.Plan(f.db), fail: fail}
	case SchemaDecided:
		_, msg := f.decision.Row(f.db, false)
		return wording{message: msg}
	case SchemaCheckAsOwner:
		return wording{message: fmt.Sprintf("Schema template %s checked in %s as its owner %s", f.label, f.db, f.user), fail: fail}
	case SchemaInspectLater:
		return wording{message: fmt.Sprintf("Cannot inspect database %s for its initial_schema %s yet: %v; the real run sets that password first (create_role step), then inspects the database and applies the template in the owner's own session",
			f.db, f.label, f.err)}
	case SchemaUninspectable:
		return wording{message: fmt.Sprintf("Cannot inspect database %s for its initial_schema %s: %v", f.db, f.label, f.err)}
	case SchemaUnknown:
		return wording{message: fmt.Sprintf("application_databases.%s.initial_schema: %v", f.key, f.err)}
	case SchemaSkipped:
		return wording{message: fmt.Sprintf("initial_schema %s not applied to %s: %s; it is applied once the grants are", f.label, f.db, f.why)}
	}
	return wording{}
}
