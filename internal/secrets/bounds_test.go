package secrets

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// hangingServer accepts Secrets Manager requests and never answers, as a
// stalled proxy or endpoint does; it counts the attempts it saw.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var attempts atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, &attempts
}

// TestHungEndpointIsBounded: each attempt is cut and retried, and the call
// as a whole is cut, so a run reports the hang instead of waiting forever.
func TestHungEndpointIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         AWSOptions
		wantAttempts int64
	}{
		// Every attempt times out: the retryer tries MaxAttempts times.
		{"attempts cut and retried", AWSOptions{AttemptTimeout: 200 * time.Millisecond, MaxAttempts: 3, MaxBackoff: 10 * time.Millisecond, CallTimeout: time.Minute}, 3},
		// One attempt would wait a minute: the call bound cuts it.
		{"call bound", AWSOptions{AttemptTimeout: time.Minute, MaxAttempts: 5, CallTimeout: 300 * time.Millisecond}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []string{"Get", "GetMany"} {
				t.Run(op, func(t *testing.T) {
					srv, attempts := hangingServer(t)
					o := tc.opts
					o.Region, o.Endpoint = "eu-west-2", srv.URL
					c, err := NewAWSWith(context.Background(), o)
					if err != nil {
						t.Fatal(err)
					}
					if op == "Get" {
						_, err = c.Get(context.Background(), "test-hang/dev/app/postgres")
					} else {
						_, err = c.GetMany(context.Background(), []string{"test-hang/dev/app/postgres"})
					}
					if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "Secrets Manager did not answer in time") {
						t.Fatalf("err = %v, want ErrTimeout", err)
					}
					if got := attempts.Load(); got != tc.wantAttempts {
						t.Errorf("server saw %d attempts, want %d", got, tc.wantAttempts)
					}
				})
			}
		})
	}
}

// TestCallerCancellationIsNotATimeout: a cancelled run says so.
func TestCallerCancellationIsNotATimeout(t *testing.T) {
	srv, _ := hangingServer(t)
	c, err := NewAWSWith(context.Background(), AWSOptions{Region: "eu-west-2", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = c.Get(ctx, "test-hang/dev/app/postgres")
	if err == nil || errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled and not ErrTimeout", err)
	}
}

// TestBoundsKeepWorkingAgainstMoto: the bounded client reads secrets from
// a server that answers.
func TestBoundsKeepWorkingAgainstMoto(t *testing.T) {
	api := newAPI(t)
	seed(t, api, "test-bounds/dev/app/postgres", `{"password":"pw"}`)
	c, err := NewAWSWith(context.Background(), AWSOptions{Region: "eu-west-2", AttemptTimeout: 5 * time.Second, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetMany(context.Background(), []string{"test-bounds/dev/app/postgres"})
	if err != nil || got["test-bounds/dev/app/postgres"].Value != `{"password":"pw"}` {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// TestBinaryOnlySecret: a secret with SecretBinary and no SecretString is
// named as such by both read paths, not reported missing.
func TestBinaryOnlySecret(t *testing.T) {
	api := newAPI(t)
	const path = "test-binary/dev/app/postgres"
	if _, err := api.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(path), SecretBinary: []byte(`{"password":"pw"}`)}); err != nil {
		t.Fatal(err)
	}
	want := "Secret test-binary/dev/app/postgres holds only SecretBinary: store its JSON as SecretString (binary secrets are not supported)"
	for _, tc := range []struct {
		name      string
		denyBatch bool
	}{{"BatchGetSecretValue", false}, {"GetSecretValue", true}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New(&countingAPI{API: api, denyBatch: tc.denyBatch}).GetMany(context.Background(), []string{path})
			if err != nil {
				t.Fatal(err)
			}
			if e := got[path].Err; !errors.Is(e, ErrBinary) || errors.Is(e, ErrNotFound) || e.Error() != want {
				t.Fatalf("err = %v, want %q", e, want)
			}
		})
	}
}
