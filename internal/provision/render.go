package provision

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// The one renderer of a run's words. A planned Step carries its Kind and
// the facts of its resource (a phrase), an executed one its stepOutcome;
// this file turns them into the four things a run says: the row's message
// (the CSV), the log line, the dry run's preview, and the failure an error
// row reports. The sentences themselves stay with their resource, beside
// the rule that decides them (role.go, database.go, grants.go,
// schema_step.go, secrets.go, entries.go), each resource's in one words
// method.

// A phrase is what a step says, as facts: its resource's words method
// makes the sentences of each Kind from them.
type phrase interface {
	words(k Kind) wording
}

// wording is a step's sentences in each form a run shows them.
type wording struct {
	message string // the row's message when the step ran as planned
	line    string // the log line, when it says more than message; empty: message
	preview string // the dry run's message, when it differs; empty: message
	fail    string // what an error row says before the server's message
}

func (s Step) words() wording {
	if s.say == nil {
		return wording{}
	}
	return s.say.words(s.Kind)
}

// planRow is the row a step has when it runs as planned: its planned
// status and its message.
func planRow(s Step) (audit.Status, string) {
	return s.Status, s.words().message
}

// previewRow is the dry run's row of a step: a change is dry_run, and
// says what would happen.
func previewRow(s Step) (audit.Status, string) {
	w := s.words()
	status := s.Status
	if status == audit.Success {
		status = audit.DryRun
	}
	return status, cmp.Or(w.preview, w.message)
}

// outcomeRow is a real run's row of an executed step: its status,
// message and log line, from what executing it gave.
func outcomeRow(s Step, o stepOutcome) (status audit.Status, msg, line string) {
	w := s.words()
	switch {
	case o.notRun != "":
		msg = fmt.Sprintf("Not run: database %s failed (%s); re-run once that is fixed", o.notRun, o.notRunWhy)
		return audit.Error, msg, msg
	case o.err != nil:
		msg = w.fail + ": " + pgMessage(o.err)
		return audit.Error, msg, msg
	case o.schema != nil:
		// What schema.Apply did, which it decided again under its lock.
		status, msg = o.schema.Row(s.On, false)
		return status, msg, msg
	}
	return s.Status, w.message, cmp.Or(w.line, w.message)
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

// article puts "a" or "an" before an access level.
func article(level string) string {
	if strings.ContainsRune("aeiou", rune(level[0])) {
		return "an " + level
	}
	return "a " + level
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
