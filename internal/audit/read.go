package audit

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxCSVSize bounds an audit CSV that ReadCSV reads: a run over a thousand
// databases writes well under 1 MiB.
const MaxCSVSize = 64 << 20

// ReadCSV reads an audit CSV as WriteCSV and the sinks write it: SPEC's
// header, then rows. A file that --audit-output appended several runs to
// holds them all, in order. Errors name the line.
func ReadCSV(r io.Reader) ([]Row, error) {
	lr := &io.LimitedReader{R: r, N: MaxCSVSize + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1 // the header is checked below, by name
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("audit CSV is empty: want the header " + strings.Join(Header, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("audit CSV: %w", err)
	}
	if !slices.Equal(head, Header) {
		return nil, fmt.Errorf("audit CSV: line 1 is not the header %s", strings.Join(Header, ","))
	}
	cr.FieldsPerRecord = len(Header)
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("audit CSV: over %d MiB", MaxCSVSize>>20)
		}
		if err != nil {
			return nil, fmt.Errorf("audit CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row, err := parseRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("audit CSV line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("audit CSV: over %d MiB", MaxCSVSize>>20)
	}
	return rows, nil
}

// parseRecord is Row.Record read back.
func parseRecord(rec []string) (Row, error) {
	t, err := time.Parse(time.RFC3339, rec[0])
	if err != nil {
		return Row{}, fmt.Errorf("timestamp_utc %q: want RFC 3339, e.g. 2026-01-16T10:30:00Z", rec[0])
	}
	status := Status(rec[7])
	if !slices.Contains(Statuses, status) {
		return Row{}, fmt.Errorf("status %q: want one of success, no_change, warning, error, dry_run", rec[7])
	}
	ms, err := strconv.ParseInt(rec[8], 10, 64)
	if err != nil || ms < 0 {
		return Row{}, fmt.Errorf("duration_ms %q: want a whole number of milliseconds", rec[8])
	}
	return Row{
		Time: t, Environment: rec[1], BuildID: rec[2], RunID: rec[3], Database: rec[4], Username: rec[5],
		Action: rec[6], Status: status, Duration: time.Duration(ms) * time.Millisecond, Message: rec[9],
	}, nil
}
