package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ReadCSV reads back what WriteCSV wrote, and names the line of a row it
// cannot read.
func TestReadCSV(t *testing.T) {
	at := time.Date(2026, 1, 16, 10, 30, 0, 0, time.UTC)
	rows := []Row{
		{Time: at, Environment: "dev", BuildID: "16-01-26-01", RunID: "12345678", Database: "keycloak", Username: "keycloak_user",
			Action: ActionCreateRole, Status: Success, Duration: 45 * time.Millisecond, Message: "Role created"},
		{Time: at, Environment: "dev", BuildID: "16-01-26-01", RunID: "12345678", Database: "keycloak", Username: "keycloak_user",
			Action: ActionCreateDatabase, Status: Warning, Message: "Database keycloak exists but owner is postgres, expected keycloak_user\n\"quoted\""},
	}
	var b strings.Builder
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	header := strings.Join(Header, ",") + "\n"
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "audit CSV is empty"},
		{"no header", "2026-01-16T10:30:00Z,dev,b,r,d,u,create_role,success,1,m\n", "line 1 is not the header"},
		{"bad status", header + "2026-01-16T10:30:00Z,dev,b,r,d,u,create_role,done,1,m\n", `audit CSV line 2: status "done"`},
		{"bad time", header + "yesterday,dev,b,r,d,u,create_role,success,1,m\n", `audit CSV line 2: timestamp_utc "yesterday"`},
		{"bad duration", header + "2026-01-16T10:30:00Z,dev,b,r,d,u,create_role,success,-1,m\n", `audit CSV line 2: duration_ms "-1"`},
		{"short row", header + "2026-01-16T10:30:00Z,dev\n", "wrong number of fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadCSV(strings.NewReader(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
