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

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/scram"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// The run's secrets: the master's and every entry's, read in as few calls
// as Secrets Manager allows, each value redacted (and handed to
// Options.Mask) as soon as it is read; the app passwords' SCRAM verifiers;
// and what a fetch_secret step says.

// Kinds of fetch_secret step.
const (
	SecretUnreadable Kind = "secret.unreadable" // the app secret could not be read or parsed
	SecretNotYet     Kind = "secret.not_yet"    // dry run: the app secret does not exist yet (Terraform makes it)
)

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

// secretFacts are what a fetch_secret step says.
type secretFacts struct {
	err       error // SecretUnreadable
	path, env string
}

func (f secretFacts) words(k Kind) wording {
	if k == SecretNotYet {
		return wording{message: fmt.Sprintf("Secret %s does not exist yet: terraform apply creates it (make rds-apply ENV=%s); planning as if it did", f.path, f.env)}
	}
	return wording{message: f.err.Error()}
}
