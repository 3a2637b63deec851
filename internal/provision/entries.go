package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/scram"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// entry is one application_databases item with what this run learnt of it.
type entry struct {
	tfvars.Entry
	SecretPath string
	invalid    string // why the entry is refused before any I/O
	password   string
	verifier   string // SCRAM verifier of password, computed once per run
	secretErr  error
}

// prepare validates names and computes secret paths, without I/O.
// masterUsername is the tfvars master_username, refused as an app role.
// An entry with a bad name is marked invalid (an error row of its own);
// entries that conflict with each other refuse the whole run, before
// anything is changed, since no order of running them is right.
func (r *run) prepare(in []tfvars.Entry, masterUsername string) ([]*entry, error) {
	out := make([]*entry, 0, len(in))
	secretOf := map[string]string{} // username -> secret path of its first entry
	seen := map[[2]string]string{}  // database+username -> key
	for _, te := range in {
		e := &entry{Entry: te, SecretPath: te.SecretName}
		if e.SecretPath == "" {
			e.SecretPath = naming.AppSecretPath(r.opts.SecretPrefix, r.opts.Env, te.Key)
		}
		e.invalid = r.invalidReason(te)
		if e.invalid == "" && masterUsername != "" && te.Username == masterUsername {
			e.invalid = fmt.Sprintf("Refusing to manage role %s: it is the RDS master user (master_username in the tfvars); choose another username for application_databases.%s", te.Username, te.Key)
		}
		if e.invalid == "" {
			pair := [2]string{te.DatabaseName, te.Username}
			if first, dup := seen[pair]; dup {
				return nil, fmt.Errorf("application_databases.%s (line %d) repeats database %s and username %s of entry %s: one entry per role and database; remove one (nothing was changed)", te.Key, te.Line, te.DatabaseName, te.Username, first)
			} else if path, ok := secretOf[te.Username]; ok && path != e.SecretPath {
				return nil, fmt.Errorf("username %s is provisioned from secret %s, and application_databases.%s (line %d) would set another password from %s: a role has one password; give the entry its own username, or secret_name = %q (nothing was changed)", te.Username, path, te.Key, te.Line, e.SecretPath, path)
			}
			seen[pair] = te.Key
			if _, ok := secretOf[te.Username]; !ok {
				secretOf[te.Username] = e.SecretPath
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (r *run) invalidReason(te tfvars.Entry) string {
	at := fmt.Sprintf("application_databases.%s (line %d)", te.Key, te.Line)
	if err := naming.CheckKey(te.Key); err != nil {
		return fmt.Sprintf("%s: key %s", at, err)
	}
	if err := naming.CheckDatabase(te.DatabaseName); err != nil {
		return fmt.Sprintf("%s: database_name %s", at, err)
	}
	if err := naming.CheckUsername(te.Username); err != nil {
		return fmt.Sprintf("Refusing to manage role %s: %s: username %s", te.Username, at, err)
	}
	if te.SecretName != "" {
		if err := naming.CheckSecretName(te.SecretName); err != nil {
			return fmt.Sprintf("%s: secret_name %s", at, err)
		}
	}
	return ""
}

// fetchSecrets reads the master and every app secret in as few calls as
// Secrets Manager allows, masks every value, and validates the JSON.
func (r *run) fetchSecrets(ctx context.Context, entries []*entry) error {
	started := r.opts.Now()
	paths := []string{r.opts.MasterSecret}
	for _, e := range entries {
		if e.invalid == "" {
			paths = append(paths, e.SecretPath)
		}
	}
	got, err := r.opts.Secrets.GetMany(ctx, paths)
	if err != nil {
		r.record(nil, audit.ActionFetchSecret, audit.Error, started, "Failed to read secrets from Secrets Manager: %v", err)
		return ErrActionsFailed
	}
	for _, res := range got {
		r.hideValue(res.Value)
	}
	master := got[r.opts.MasterSecret]
	if master.Err != nil {
		r.record(nil, audit.ActionFetchSecret, audit.Error, started, "%v: the master secret is needed to connect (create it, or pass --master-secret)", master.Err)
		return ErrActionsFailed
	}
	r.master, err = secrets.ResolveMaster(ctx, secrets.MasterInput{
		Path: r.opts.MasterSecret, Raw: master.Value, ARN: master.ARN,
		Flags: r.opts.MasterEndpoint, Tfvars: r.tfvarsEndpoint, Identifier: r.identifier, RDS: r.opts.RDS,
	})
	if err != nil {
		r.record(nil, audit.ActionFetchSecret, audit.Error, started, "%v", err)
		return ErrActionsFailed
	}
	r.hide(r.master.Password)
	var hashed []*entry
	for _, e := range entries {
		if e.invalid != "" {
			continue
		}
		res := got[e.SecretPath]
		if res.Err != nil {
			if errors.Is(res.Err, secrets.ErrNotFound) {
				e.secretErr = fmt.Errorf("%w: create it with make rds-apply ENV=%s (Terraform creates the app secrets)", res.Err, r.opts.Env)
			} else {
				e.secretErr = res.Err
			}
			continue
		}
		app, err := secrets.ParseApp(e.SecretPath, res.Value, e.Username)
		if err != nil {
			e.secretErr = err
			continue
		}
		e.password = app.Password
		r.hide(app.Password)
		hashed = append(hashed, e)
	}
	r.verifiers(hashed)
	return nil
}

// verifiers computes the entries' SCRAM verifiers (4096 PBKDF2 rounds
// each) on every CPU. The salts are read from Options.Random first, in
// order, so a given reader gives the same verifiers.
func (r *run) verifiers(entries []*entry) {
	salts := make([][]byte, len(entries))
	for i, e := range entries {
		salts[i] = make([]byte, 16)
		if _, err := io.ReadFull(r.opts.Random, salts[i]); err != nil {
			e.secretErr = fmt.Errorf("generate SCRAM salt: %w", err)
		}
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, e := range entries {
		if e.secretErr != nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			if e.verifier, err = scram.Verifier(e.password, bytes.NewReader(salts[i])); err != nil {
				e.secretErr = err
			}
		}()
	}
	wg.Wait()
}

// hideValue hides a secret value as read and, when it is a JSON object,
// its password: a text may echo the password alone before the value is
// parsed (an RDS API error while resolving the master's endpoint).
func (r *run) hideValue(raw string) {
	r.hide(raw)
	var v struct {
		Password any `json:"password"`
	}
	if json.Unmarshal([]byte(raw), &v) == nil {
		if p, ok := v.Password.(string); ok {
			r.hide(p)
		}
	}
}

// hide registers a secret value with the audit scrubber and the caller's
// mask (add-mask in GitHub Actions).
func (r *run) hide(value string) {
	if value == "" {
		return
	}
	r.audit.Redact(value)
	r.opts.Mask(value)
}

// pgMessage renders a PostgreSQL error with the remedy the runbook gives.
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	msg := pgErr.Message
	switch pgErr.Code {
	case "42501": // insufficient_privilege
		msg += ": verify the master user has CREATEROLE and CREATEDB (SELECT rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user) and is a member of the roles it manages"
	case "55P03": // lock_not_available: the session's lock_timeout
		msg += fmt.Sprintf(": another session held a lock this statement needs for longer than the session's lock_timeout (%s, or --statement-timeout when shorter), such as an open transaction of the role or database owner (see pg_stat_activity and pg_locks); end it and re-run", sessionLockTimeout)
	}
	return msg
}
