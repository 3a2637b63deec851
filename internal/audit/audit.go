// Package audit records one row per provisioning action and writes them as
// the CSV of SPEC, to standard output and optionally to a file.
package audit

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Status of one action.
type Status string

// Statuses, in the order summaries list them.
const (
	Success  Status = "success"
	NoChange Status = "no_change"
	Warning  Status = "warning"
	Error    Status = "error"
	DryRun   Status = "dry_run"
)

// LogPrefix is the status's mark on a human log line, in the runbook's
// words: [SUCCESS], [NO_CHANGE], [WARNING], [ERROR], [DRY-RUN].
func (s Status) LogPrefix() string {
	switch s {
	case Success:
		return "[SUCCESS]"
	case NoChange:
		return "[NO_CHANGE]"
	case Warning:
		return "[WARNING]"
	case DryRun:
		return "[DRY-RUN]"
	}
	return "[ERROR]"
}

// ErrActionsFailed means a run's failures are on record: error rows, each
// logged as it was recorded, or a failure the run logged itself. Every
// command returns this one error for it (provision, rotate, the rotation
// function), so a caller exits 1 without printing it again.
var ErrActionsFailed = errors.New("one or more actions failed")

// Statuses lists every status in display order.
var Statuses = []Status{Success, NoChange, Warning, Error, DryRun}

// Actions recorded by provisioning.
const (
	ActionFetchSecret    = "fetch_secret"
	ActionCreateRole     = "create_role"
	ActionCreateDatabase = "create_database"
	ActionApplyGrants    = "apply_grants"
	ActionApplySchema    = "apply_schema"  // initial_schema template, see internal/schema
	ActionRotateSecret   = "rotate_secret" // rds-provision rotate, see internal/rotate
)

// DefaultBuildID and DefaultRunID fill the build_id and run_id columns of
// a run outside CI (SPEC).
const (
	DefaultBuildID = "manual"
	DefaultRunID   = "local"
)

// Header is the CSV header line of SPEC.
var Header = []string{"timestamp_utc", "environment", "build_id", "run_id", "database", "username", "action", "status", "duration_ms", "message"}

// Row is one audit record.
type Row struct {
	Time        time.Time
	Environment string
	BuildID     string
	RunID       string
	Database    string
	Username    string
	Action      string
	Status      Status
	Duration    time.Duration
	Message     string
}

// Record renders the row as CSV fields.
func (r Row) Record() []string {
	return []string{
		r.Time.UTC().Format(time.RFC3339),
		r.Environment, r.BuildID, r.RunID, r.Database, r.Username, r.Action,
		string(r.Status),
		strconv.FormatInt(r.Duration.Milliseconds(), 10),
		r.Message,
	}
}

// Log collects rows, streams each to its sinks as it is added, and scrubs
// registered secret values from every message as a last line of defence.
type Log struct {
	mu      sync.Mutex
	rows    []Row
	sinks   []*csv.Writer
	secrets []string
}

// NewLog returns an empty log; add sinks with AddSink.
func NewLog() *Log { return &Log{} }

// AddSink streams rows to w as CSV, starting with the header when header is true.
func (l *Log) AddSink(w io.Writer, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(Header); err != nil {
			return fmt.Errorf("write audit header: %w", err)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write audit header: %w", err)
		}
	}
	l.mu.Lock()
	l.sinks = append(l.sinks, cw)
	l.mu.Unlock()
	return nil
}

// minRedactLength keeps one- to three-character values, which no real
// secret is, from shredding every message that happens to contain them.
const minRedactLength = 4

// Redact registers a secret value that must never appear in a message.
func (l *Log) Redact(secret string) {
	if len(secret) < minRedactLength {
		return
	}
	l.mu.Lock()
	l.secrets = append(l.secrets, secret)
	l.mu.Unlock()
}

// Scrub replaces every registered secret in s.
func (l *Log) Scrub(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.scrubLocked(s)
}

func (l *Log) scrubLocked(s string) string {
	for _, secret := range l.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// Add records r and writes it to every sink.
func (l *Log) Add(r Row) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.Message = l.scrubLocked(r.Message)
	l.rows = append(l.rows, r)
	var errs []error
	for _, s := range l.sinks {
		if err := s.Write(r.Record()); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Flush()
		errs = append(errs, s.Error())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	return nil
}

// Rows returns a copy of the rows recorded so far.
func (l *Log) Rows() []Row {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Row(nil), l.rows...)
}

// Counts returns how many rows have each status.
func (l *Log) Counts() map[Status]int {
	return Count(l.Rows())
}

// Count tallies rows per status.
func Count(rows []Row) map[Status]int {
	c := map[Status]int{}
	for _, r := range rows {
		c[r.Status]++
	}
	return c
}

// HasErrors reports whether any row has status error.
func HasErrors(rows []Row) bool {
	return Count(rows)[Error] > 0
}

// OpenAppend opens path for appending rows; header is true when the file is
// new or empty, so the caller writes the header exactly once per file.
func OpenAppend(path string) (f *os.File, header bool, err error) {
	f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("open audit output %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("stat audit output %s: %w", path, err)
	}
	return f, st.Size() == 0, nil
}

// WriteCSV writes the header and rows to w: the whole audit as one document.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.Record()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
