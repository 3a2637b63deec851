package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// Step is one step of Secrets Manager's rotation protocol.
type Step string

// The four steps, in the order they run.
const (
	StepCreate Step = "createSecret"
	StepSet    Step = "setSecret"
	StepTest   Step = "testSecret"
	StepFinish Step = "finishSecret"
)

// Steps lists the steps in order.
var Steps = []Step{StepCreate, StepSet, StepTest, StepFinish}

// ParseStep accepts a step's name as Secrets Manager sends it.
func ParseStep(s string) (Step, error) {
	for _, st := range Steps {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown rotation step %q: want createSecret, setSecret, testSecret or finishSecret", s)
}

// Store is the Secrets Manager side of rotation; *secrets.Client is the
// real one.
type Store interface {
	GetMany(ctx context.Context, paths []string) (map[string]secrets.Result, error)
	Describe(ctx context.Context, id string) (secrets.Metadata, error)
	GetVersion(ctx context.Context, id, versionID, stage string) (secrets.Version, error)
	PutPending(ctx context.Context, id, token, value string) error
	MoveStage(ctx context.Context, id, stage, to, from string) error
	RandomPassword(ctx context.Context) (string, error)
}

// Target is one application secret and the role and database it belongs
// to.
type Target struct {
	SecretID string
	Username string
	Database string
}

// Rotator runs the steps. Every step is idempotent and reads where it is
// from the staging labels and the role, so a run that died after any step
// is completed by the next one:
//
//   - createSecret stores a new password as the version token, labelled
//     AWSPENDING, unless that version has a value already;
//   - setSecret sets the role's verifier from the pending password, unless
//     the role accepts it already; the role must accept the AWSCURRENT
//     password first (or the pending one), which proves the secret is that
//     role's and not another tenant's;
//   - testSecret logs in as the role with the pending password into its
//     database;
//   - finishSecret moves AWSCURRENT to the token's version (Secrets Manager
//     labels the old one AWSPREVIOUS), only after checking again, under
//     the lock, that the role accepts the pending password. AWSCURRENT is
//     never moved to a password the role refuses.
//
// Between setSecret and finishSecret the role has the pending password and
// AWSCURRENT still the previous one: PostgreSQL keeps one password per
// role, so this window exists in every single-user rotation. A run keeps it
// to one login and one API call; SIGTERM in it still finishes; a run that
// is killed in it leaves it open until the next rotate run finishes it (or
// a provision run sets the role back to AWSCURRENT, which is consistent
// too, and the next rotation sets the pending password again).
type Rotator struct {
	Secrets Store
	DB      *DB
	// Hide registers a secret value with the caller's redaction and mask
	// as soon as it is read or made.
	Hide func(string)
}

// versionPassword reads a version's JSON and its password; the username,
// when the secret has one, must be the role's.
func (r *Rotator) versionPassword(ctx context.Context, t Target, versionID, stage string) (map[string]any, string, string, error) {
	v, err := r.Secrets.GetVersion(ctx, t.SecretID, versionID, stage)
	if err != nil {
		return nil, "", "", err
	}
	r.hide(v.Value)
	app, err := secrets.ParseApp(t.SecretID, v.Value, t.Username)
	if err != nil {
		return nil, "", "", err
	}
	r.hide(app.Password)
	var fields map[string]any
	if err := json.Unmarshal([]byte(v.Value), &fields); err != nil {
		return nil, "", "", fmt.Errorf("app secret %s is not a JSON object", t.SecretID)
	}
	return fields, app.Password, v.ID, nil
}

func (r *Rotator) hide(s string) {
	if r.Hide != nil && s != "" {
		r.Hide(s)
	}
}

// Create is createSecret: a new password from GetRandomPassword, the other
// fields of the AWSCURRENT version kept, stored as version token with the
// label AWSPENDING.
func (r *Rotator) Create(ctx context.Context, t Target, token string) error {
	if _, _, _, err := r.versionPassword(ctx, t, token, secrets.StagePending); err == nil {
		return nil // made by an earlier run
	} else if !errors.Is(err, secrets.ErrNotFound) {
		return err
	}
	fields, _, _, err := r.versionPassword(ctx, t, "", secrets.StageCurrent)
	if err != nil {
		return err
	}
	password, err := r.Secrets.RandomPassword(ctx)
	if err != nil {
		return err
	}
	r.hide(password)
	fields["password"] = password
	raw, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return r.Secrets.PutPending(ctx, t.SecretID, token, string(raw))
}

// Set is setSecret, as the master on s.
func (r *Rotator) Set(ctx context.Context, s *Session, t Target, token string) error {
	if err := s.checkRole(ctx, t.Username); err != nil {
		return err
	}
	_, pending, _, err := r.versionPassword(ctx, t, token, secrets.StagePending)
	if err != nil {
		return err
	}
	ok, err := r.DB.accepts(ctx, t.Username, pending, t.Database)
	if err != nil {
		return err
	}
	if ok {
		return nil // set by an earlier run
	}
	_, current, _, err := r.versionPassword(ctx, t, "", secrets.StageCurrent)
	if err != nil {
		return err
	}
	if ok, err := r.DB.accepts(ctx, t.Username, current, t.Database); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("role %s accepts neither the AWSCURRENT nor the AWSPENDING password of %s: its password no longer matches the secret (changed by hand, or not provisioned yet); run rds-provision provision, which sets it from AWSCURRENT, then rotate again. Nothing was changed", t.Username, t.SecretID)
	}
	return s.setPassword(ctx, t.Username, pending)
}

// Test is testSecret: a login as the role with the pending password into
// its database.
func (r *Rotator) Test(ctx context.Context, t Target, token string) error {
	_, pending, _, err := r.versionPassword(ctx, t, token, secrets.StagePending)
	if err != nil {
		return err
	}
	if err := r.DB.login(ctx, t.Username, pending, t.Database); err != nil {
		if errors.Is(err, errRejected) {
			return fmt.Errorf("role %s does not accept the AWSPENDING password of %s: setSecret has not run or was undone (a provision run sets AWSCURRENT); the next rotation sets it again", t.Username, t.SecretID)
		}
		return err
	}
	return nil
}

// Finish is finishSecret: AWSCURRENT moves to the token's version, whose
// password the role is checked to accept first, on s (under the lock).
// dropPending also removes AWSPENDING from it, as a rotation run outside
// Secrets Manager must (RotateSecret does it itself).
func (r *Rotator) Finish(ctx context.Context, s *Session, t Target, token string, dropPending bool) error {
	m, err := r.Secrets.Describe(ctx, t.SecretID)
	if err != nil {
		return err
	}
	current := m.VersionWith(secrets.StageCurrent)
	if current != token {
		if err := r.Test(ctx, t, token); err != nil {
			return fmt.Errorf("AWSCURRENT not moved: %w", err)
		}
		if err := r.Secrets.MoveStage(ctx, t.SecretID, secrets.StageCurrent, token, current); err != nil {
			return err
		}
	}
	if dropPending && containsStage(m.Stages[token], secrets.StagePending) {
		if err := r.Secrets.MoveStage(ctx, t.SecretID, secrets.StagePending, "", token); err != nil {
			return fmt.Errorf("AWSCURRENT moved, but removing AWSPENDING failed (harmless; the next run removes it): %w", err)
		}
	}
	return nil
}

func containsStage(stages []string, stage string) bool {
	for _, s := range stages {
		if s == stage {
			return true
		}
	}
	return false
}
