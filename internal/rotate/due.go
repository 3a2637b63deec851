package rotate

import (
	"context"
	"fmt"
	"time"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// Day is 24 hours, the unit of rotation periods.
const Day = 24 * time.Hour

// Period is the rotation period of a catalog risk level (SPEC's risk
// table): 14 days for high and access, 30 for none, low and medium. A
// missing or unknown risk gets the shorter period, and known says so.
func Period(risk string) (period time.Duration, known bool) {
	switch risk {
	case "high", "access":
		return 14 * Day, true
	case "none", "low", "medium":
		return 30 * Day, true
	}
	return 14 * Day, false
}

// State is where a secret stands: when its password last changed and
// whether a rotation is in progress.
type State struct {
	Meta secrets.Metadata
	// LastRotated is the newest of Secrets Manager's LastRotatedDate (set
	// when RotateSecret rotates it: Lambda mode) and the creation of its
	// AWSCURRENT version (a rotate run, a manual PutSecretValue, or the
	// secret's creation); the secret's CreatedDate when neither is known.
	LastRotated time.Time
	// Pending is the version id of a rotation in progress: AWSPENDING on a
	// version that is not AWSCURRENT. Empty when none.
	Pending string
}

// ReadState reads a secret's state: DescribeSecret, and the AWSCURRENT
// version by its label (for its creation date; never the unlabelled
// default, which moto 5.2.1 leaves on the old version after
// UpdateSecretVersionStage).
func ReadState(ctx context.Context, store Store, id string, hide func(string)) (State, error) {
	m, err := store.Describe(ctx, id)
	if err != nil {
		return State{}, err
	}
	if m.Deleted {
		return State{}, fmt.Errorf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret) or remove the entry", id)
	}
	st := State{Meta: m, LastRotated: m.Created}
	cur, err := store.GetVersion(ctx, id, "", secrets.StageCurrent)
	if err != nil {
		return State{}, err
	}
	if hide != nil {
		hide(cur.Value)
	}
	if cur.Created.After(st.LastRotated) {
		st.LastRotated = cur.Created
	}
	if m.LastRotated.After(st.LastRotated) {
		st.LastRotated = m.LastRotated
	}
	if p := m.VersionWith(secrets.StagePending); p != "" && p != cur.ID {
		st.Pending = p
	}
	return st, nil
}

// Due reports whether a secret last rotated at last is due at now for a
// period, and when it is (or was) due.
func Due(last, now time.Time, period time.Duration) (bool, time.Time) {
	at := last.Add(period)
	return !now.Before(at), at
}
