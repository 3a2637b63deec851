package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogStreamsCSVAndScrubsSecrets(t *testing.T) {
	var stdout bytes.Buffer
	l := NewLog()
	if err := l.AddSink(&stdout, true); err != nil {
		t.Fatal(err)
	}
	l.Redact("hunter2-secret")
	l.Redact("ab") // too short to be a secret: not scrubbed from every message
	at := time.Date(2026, 1, 16, 10, 30, 0, 0, time.UTC)
	rows := []Row{
		{Time: at, Environment: "dev", BuildID: "16-01-26-01", RunID: "12345678", Database: "keycloak", Username: "keycloak_user", Action: ActionCreateRole, Status: Success, Duration: 45 * time.Millisecond, Message: "Role created"},
		{Time: at, Environment: "dev", BuildID: "b", RunID: "r", Database: "x", Username: "y", Action: ActionFetchSecret, Status: Error, Message: "failed with hunter2-secret, \"quoted\", ab"},
	}
	for _, r := range rows {
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	want := "timestamp_utc,environment,build_id,run_id,database,username,action,status,duration_ms,message\n" +
		"2026-01-16T10:30:00Z,dev,16-01-26-01,12345678,keycloak,keycloak_user,create_role,success,45,Role created\n" +
		"2026-01-16T10:30:00Z,dev,b,r,x,y,fetch_secret,error,0,\"failed with [REDACTED], \"\"quoted\"\", ab\"\n"
	if stdout.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if c := l.Counts(); c[Success] != 1 || c[Error] != 1 || !HasErrors(l.Rows()) {
		t.Errorf("counts %v", c)
	}
}

func TestOpenAppendWritesHeaderOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.csv")
	for range 2 {
		f, header, err := OpenAppend(path)
		if err != nil {
			t.Fatal(err)
		}
		l := NewLog()
		l.AddSink(f, header)
		l.Add(Row{Time: time.Unix(0, 0), Action: "a", Status: NoChange})
		f.Close()
	}
	b, _ := os.ReadFile(path)
	if strings.Count(string(b), "timestamp_utc") != 1 || strings.Count(string(b), "\n") != 3 {
		t.Errorf("file:\n%s", b)
	}
}
