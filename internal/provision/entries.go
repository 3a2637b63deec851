package provision

import (
	"fmt"

	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// The entries of application_databases as this run knows them: validated
// names and secret paths, before any I/O. A bad name is an entry's own
// error row (validate); entries that conflict with each other refuse the
// whole run. Their secrets are read by secrets.go.

// EntryInvalid is the validate step of an entry whose names are refused.
const EntryInvalid Kind = "entry.invalid"

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

// entryFacts are what a validate step of a refused entry says: the
// reason invalidReason gave.
type entryFacts struct{ reason string }

func (f entryFacts) words(Kind) wording { return wording{message: f.reason} }
