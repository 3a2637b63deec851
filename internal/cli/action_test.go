package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath/rds-provision/internal/action"
)

func TestRunActionReadsInputMode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr error
		wantLog string
	}{
		{"no mode", nil, map[string]string{"GITHUB_ACTIONS": "true"}, action.ErrInput, "::error title=rds-provision%3A input mode::input mode is required"},
		{"stray argument", []string{"provision"}, map[string]string{}, ErrUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runAction(context.Background(), tt.args, Env{
				Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string { return tt.env[k] },
				Now:    time.Now,
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantLog) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantLog, stdout.String())
			}
		})
	}
}

func TestNoArgumentsUnderActionsRunsTheAction(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		code int
		want string
	}{
		{"actions runner", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MODE": "bogus"}, ExitError, "::error title=rds-provision%3A input mode::"},
		{"terminal", map[string]string{}, ExitUsage, "Usage: rds-provision <command>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cliRun(t, tc.env)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}
