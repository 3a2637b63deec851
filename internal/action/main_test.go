package action

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

// The package's integration tests share one PostgreSQL server (RDS-like
// master, never a superuser) and one moto_server; each test uses its own
// environment name, secrets, databases and roles.
var (
	servers *testenv.Servers
	pg      *testenv.Postgres
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(s *testenv.Servers) { servers, pg = s, s.Postgres }))
}

// runner is one step of a workflow job as the GitHub runner sets it up for
// a Docker action: INPUT_* and GITHUB_* variables, and the files behind
// GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH.
type runner struct {
	t         *testing.T
	workspace string
	env       map[string]string
}

func newRunner(t *testing.T, workspace string) *runner {
	t.Helper()
	files := t.TempDir()
	r := &runner{t: t, workspace: workspace, env: map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    workspace,
		"GITHUB_OUTPUT":       filepath.Join(files, "set_output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(files, "step_summary"),
		"GITHUB_EVENT_PATH":   filepath.Join(files, "event.json"),
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_REPOSITORY":   "goldenpath/infra",
		"GITHUB_RUN_ID":       "12345678",
		"GITHUB_RUN_NUMBER":   "42",
		"GITHUB_RUN_ATTEMPT":  "1",
		"RUNNER_TEMP":         files,
	}}
	return r
}

// input sets an action input the way the runner does: INPUT_ + the name
// upper-cased, underscores kept.
func (r *runner) input(name, value string) *runner {
	r.env["INPUT_"+strings.ToUpper(name)] = value
	return r
}

func (r *runner) event(name string, payload any) *runner {
	r.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.env["GITHUB_EVENT_PATH"], raw, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.env["GITHUB_EVENT_NAME"] = name
	return r
}

// stepResult is what one run left behind.
type stepResult struct {
	err     error
	log     string            // stdout: workflow commands and log lines
	outputs map[string]string // parsed GITHUB_OUTPUT of this run
	summary string            // GITHUB_STEP_SUMMARY of this run
}

func (r *runner) run(opts ...func(*Options)) stepResult {
	r.t.Helper()
	// Like the runner, give each step fresh output and summary files.
	os.Remove(r.env["GITHUB_OUTPUT"])
	os.Remove(r.env["GITHUB_STEP_SUMMARY"])
	var log bytes.Buffer
	o := Options{
		Getenv: func(k string) string { return r.env[k] },
		Stdout: &log,
		Now:    time.Now,
		Sleep:  func(time.Duration) {},
	}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := stepResult{err: Run(ctx, o), log: log.String()}
	res.outputs = parseOutputs(r.t, r.env["GITHUB_OUTPUT"])
	summary, _ := os.ReadFile(r.env["GITHUB_STEP_SUMMARY"])
	res.summary = string(summary)
	return res
}

// parseOutputs reads a GITHUB_OUTPUT file of name<<DELIM / value / DELIM
// records.
func parseOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}
