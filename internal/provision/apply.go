package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// role is what the catalog says about one role.
type role struct {
	super, createRole, replication, bypassRLS, canLogin bool
	privilegedMemberOf                                  string
	owns                                                []string
	masterIsMember                                      bool
}

// state is the instance as read once under the lock, then kept current as
// the run changes it.
type state struct {
	roles    map[string]*role  // by name; absent = does not exist
	dbOwners map[string]string // by database; absent = does not exist
	// claimedBy is the owner-level username of each database in the tfvars.
	claimedBy map[string]string
}

func (r *run) apply(ctx context.Context, entries []*entry) error {
	started := r.opts.Now()
	if err := r.preflight(ctx); err != nil {
		r.record(nil, "connect", audit.Error, started, "%v", err)
		return ErrActionsFailed
	}
	conn, err := r.connect(ctx, r.master.DBName)
	if err != nil {
		r.record(nil, "connect", audit.Error, started, "%v", err)
		return ErrActionsFailed
	}
	defer conn.Close(context.Background())

	if err := r.lock(ctx, conn); err != nil {
		r.record(nil, "connect", audit.Error, started, "%v", err)
		return ErrActionsFailed
	}
	defer conn.Exec(context.Background(), sqlUnlock, lockKey)

	st, err := readState(ctx, conn, entries)
	if err != nil {
		r.record(nil, "connect", audit.Error, started, "%v", err)
		return ErrActionsFailed
	}
	for i, e := range entries {
		if r.checkEntry(e) {
			r.provision(ctx, conn, st, e)
		}
		if r.stop(len(entries) - i - 1) {
			break
		}
	}
	return nil
}

// lock takes the instance-wide advisory lock, waiting for a concurrent run.
func (r *run) lock(ctx context.Context, conn *pgx.Conn) error {
	var got bool
	if err := conn.QueryRow(ctx, sqlTryLock, lockKey).Scan(&got); err != nil {
		return fmt.Errorf("take advisory lock: %w", err)
	}
	if got {
		return nil
	}
	r.infof("Another rds-provision run holds the lock on this instance: waiting for it to finish")
	if _, err := conn.Exec(ctx, sqlLock, lockKey); err != nil {
		return fmt.Errorf("wait for advisory lock: %w", err)
	}
	return nil
}

// readState reads every role and database the entries name: one query each,
// whatever the number of entries.
func readState(ctx context.Context, conn *pgx.Conn, entries []*entry) (*state, error) {
	st := &state{roles: map[string]*role{}, dbOwners: map[string]string{}, claimedBy: map[string]string{}}
	var users, dbs []string
	for _, e := range entries {
		if e.invalid != "" {
			continue
		}
		users = append(users, e.Username)
		dbs = append(dbs, e.DatabaseName)
		if e.AccessLevel == tfvars.AccessOwner && st.claimedBy[e.DatabaseName] == "" {
			st.claimedBy[e.DatabaseName] = e.Username
		}
	}
	rows, err := conn.Query(ctx, sqlRoles, users, privilegedPredefined)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	for rows.Next() {
		var name string
		ro := &role{}
		if err := rows.Scan(&name, &ro.super, &ro.createRole, &ro.replication, &ro.bypassRLS, &ro.canLogin, &ro.privilegedMemberOf, &ro.owns, &ro.masterIsMember); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read roles: %w", err)
		}
		st.roles[name] = ro
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	rows, err = conn.Query(ctx, sqlDatabases, dbs)
	if err != nil {
		return nil, fmt.Errorf("read databases: %w", err)
	}
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read databases: %w", err)
		}
		st.dbOwners[name] = owner
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read databases: %w", err)
	}
	return st, nil
}

// refusal says why an existing role must not be taken over, or "".
func (r *run) refusal(e *entry, ro *role, st *state) string {
	switch {
	case e.Username == r.master.Username:
		return "it is the RDS master user"
	case ro == nil:
		return ""
	case ro.super:
		return "it is a superuser"
	case ro.createRole:
		return "it has CREATEROLE"
	case ro.replication:
		return "it has REPLICATION"
	case ro.bypassRLS:
		return "it has BYPASSRLS"
	case ro.privilegedMemberOf != "":
		return "it is a member of the privileged role " + ro.privilegedMemberOf
	case !ro.canLogin:
		return "it exists as a NOLOGIN group role, not an application login"
	}
	// Apps may own databases of their own making (Backstage plugins), but a
	// role that owns a database listed for another username is another
	// tenant's.
	for _, db := range ro.owns {
		if other := st.claimedBy[db]; other != "" && other != e.Username {
			return fmt.Sprintf("it owns database %s, which application_databases gives to %s", db, other)
		}
	}
	return ""
}

// provision runs the three steps of SPEC for one entry.
func (r *run) provision(ctx context.Context, conn *pgx.Conn, st *state, e *entry) {
	if !r.ensureRole(ctx, conn, st, e) {
		return
	}
	owner, ok := r.ensureDatabase(ctx, conn, st, e)
	if !ok {
		return
	}
	r.applyGrants(ctx, st, e, owner)
}

func (r *run) ensureRole(ctx context.Context, conn *pgx.Conn, st *state, e *entry) bool {
	started := r.opts.Now()
	ro := st.roles[e.Username]
	if why := r.refusal(e, ro, st); why != "" {
		r.record(e, audit.ActionCreateRole, audit.Error, started, "Refusing to manage role %s: %s; the role was left unchanged. Choose another username for application_databases.%s", e.Username, why, e.Key)
		return false
	}
	verifier, err := scramVerifier(e.password, r.opts.Random)
	if err != nil {
		r.record(e, audit.ActionCreateRole, audit.Error, started, "%v", err)
		return false
	}
	if ro == nil {
		if _, err := conn.Exec(ctx, createRoleSQL(e.Username, verifier, r.master.Username)); err != nil {
			r.record(e, audit.ActionCreateRole, audit.Error, started, "Failed to create role %s: %s", e.Username, pgMessage(err))
			return false
		}
		st.roles[e.Username] = &role{canLogin: true, masterIsMember: true}
		r.recordAs(e, audit.ActionCreateRole, audit.Success, started, "Role created", "Role created: "+e.Username)
		return true
	}
	stmt := alterRoleSQL(e.Username, verifier)
	if !ro.masterIsMember {
		stmt += "; " + grantMembershipSQL(e.Username, r.master.Username)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		r.record(e, audit.ActionCreateRole, audit.Error, started, "Failed to update role %s: %s", e.Username, pgMessage(err))
		return false
	}
	ro.masterIsMember = true
	r.record(e, audit.ActionCreateRole, audit.NoChange, started, "Password updated for existing role: %s", e.Username)
	return true
}

// ensureDatabase returns the database's owner and whether grants may follow.
func (r *run) ensureDatabase(ctx context.Context, conn *pgx.Conn, st *state, e *entry) (string, bool) {
	started := r.opts.Now()
	owner, exists := st.dbOwners[e.DatabaseName]
	if e.AccessLevel != tfvars.AccessOwner {
		if !exists {
			r.record(e, audit.ActionCreateDatabase, audit.Error, started, "Database %s does not exist: an %s entry needs it created first (list its owner entry before application_databases.%s)", e.DatabaseName, e.AccessLevel, e.Key)
			return "", false
		}
		r.record(e, audit.ActionCreateDatabase, audit.NoChange, started, "Database %s exists with owner %s (access_level %s)", e.DatabaseName, owner, e.AccessLevel)
		return owner, true
	}
	switch {
	case !exists:
		if _, err := conn.Exec(ctx, createDatabaseSQL(e.DatabaseName, e.Username)); err != nil {
			r.record(e, audit.ActionCreateDatabase, audit.Error, started, "Failed to create database %s: %s", e.DatabaseName, pgMessage(err))
			return "", false
		}
		st.dbOwners[e.DatabaseName] = e.Username
		r.record(e, audit.ActionCreateDatabase, audit.Success, started, "Database created: %s with owner %s", e.DatabaseName, e.Username)
		return e.Username, true
	case owner == e.Username:
		r.record(e, audit.ActionCreateDatabase, audit.NoChange, started, "Database %s exists with owner %s", e.DatabaseName, owner)
		return owner, true
	default:
		r.record(e, audit.ActionCreateDatabase, audit.Warning, started, "Database %s exists but owner is %s, expected %s", e.DatabaseName, owner, e.Username)
		r.record(e, audit.ActionApplyGrants, audit.Warning, time.Time{}, "Grants on %s skipped because its owner is %s: if safe, run ALTER DATABASE %s OWNER TO %s and re-run", e.DatabaseName, owner, ident(e.DatabaseName), ident(e.Username))
		return owner, false
	}
}

// applyGrants revokes PUBLIC's rights on the database and grants the access
// level, inside the target database, in one round trip; comparing the ACLs
// before and after tells success from no_change.
func (r *run) applyGrants(ctx context.Context, st *state, e *entry, owner string) {
	started := r.opts.Now()
	conn, err := r.connect(ctx, e.DatabaseName)
	if err != nil {
		r.record(e, audit.ActionApplyGrants, audit.Error, started, "%v", err)
		return
	}
	defer conn.Close(context.Background())

	var before, after string
	batch := &pgx.Batch{}
	batch.Queue(sqlACLFingerprint).QueryRow(func(row pgx.Row) error { return row.Scan(&before) })
	stmts := append(databaseGrantsSQL(e.DatabaseName, e.Username, e.AccessLevel), schemaGrantsSQL(e.Username, owner, e.AccessLevel)...)
	for _, s := range stmts {
		batch.Queue(s)
	}
	batch.Queue(sqlACLFingerprint).QueryRow(func(row pgx.Row) error { return row.Scan(&after) })
	// A batch runs as one implicit transaction: all grants apply or none.
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		r.record(e, audit.ActionApplyGrants, audit.Error, started, "Failed to grant %s on %s to %s: %s", grantLabel(e.AccessLevel), e.DatabaseName, e.Username, pgMessage(err))
		return
	}
	if before == after {
		r.record(e, audit.ActionApplyGrants, audit.NoChange, started, "Grants already in place: %s on %s to %s", grantLabel(e.AccessLevel), e.DatabaseName, e.Username)
		return
	}
	r.record(e, audit.ActionApplyGrants, audit.Success, started, "Granted %s on %s to %s", grantLabel(e.AccessLevel), e.DatabaseName, e.Username)
}
