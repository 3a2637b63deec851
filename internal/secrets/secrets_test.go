package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

var moto *testenv.Moto

func TestMain(m *testing.M) {
	var err error
	moto, err = testenv.StartMoto(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "secrets tests need moto_server:", err)
		os.Exit(1)
	}
	moto.SetEnv()
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

// countingAPI counts calls per operation and can deny the batch call as an
// IAM policy that allows only GetSecretValue would.
type countingAPI struct {
	API
	denyBatch bool
	gets      atomic.Int64
	batches   atomic.Int64
}

func (c *countingAPI) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.gets.Add(1)
	return c.API.GetSecretValue(ctx, in, opts...)
}

func (c *countingAPI) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	c.batches.Add(1)
	if c.denyBatch {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: secretsmanager:BatchGetSecretValue"}
	}
	return c.API.BatchGetSecretValue(ctx, in, opts...)
}

func newAPI(t *testing.T) *secretsmanager.Client {
	t.Helper()
	c, err := NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		t.Fatal(err)
	}
	return c.api.(*secretsmanager.Client)
}

func seed(t *testing.T, api *secretsmanager.Client, name, value string) {
	t.Helper()
	_, err := api.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
}

func TestGetManyBatchesAndFallsBack(t *testing.T) {
	t.Parallel() // its own secret names on the shared moto_server
	api := newAPI(t)
	var paths []string
	for i := range 45 {
		p := fmt.Sprintf("test-getmany/dev/app%02d/postgres", i)
		seed(t, api, p, fmt.Sprintf(`{"password":"pw-%d"}`, i))
		paths = append(paths, p)
	}
	paths = append(paths, "test-getmany/dev/missing/postgres")

	for _, tc := range []struct {
		name        string
		denyBatch   bool
		wantBatches int64
		wantGets    int64
	}{
		{"batch allowed", false, 3, 0},
		{"batch denied", true, 1, 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter := &countingAPI{API: api, denyBatch: tc.denyBatch}
			got, err := New(counter).GetMany(context.Background(), paths)
			if err != nil {
				t.Fatal(err)
			}
			if counter.batches.Load() != tc.wantBatches || counter.gets.Load() != tc.wantGets {
				t.Errorf("calls: batch=%d get=%d, want %d and %d", counter.batches.Load(), counter.gets.Load(), tc.wantBatches, tc.wantGets)
			}
			if got[paths[7]].Value != `{"password":"pw-7"}` || got[paths[7]].Err != nil {
				t.Errorf("app07 = %+v", got[paths[7]])
			}
			missing := got["test-getmany/dev/missing/postgres"]
			if !errors.Is(missing.Err, ErrNotFound) || missing.Err.Error() != "Secret not found: test-getmany/dev/missing/postgres" {
				t.Errorf("missing: %v", missing.Err)
			}
		})
	}
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	_, err := New(newAPI(t)).Get(context.Background(), "test-get/nope")
	if !errors.Is(err, ErrNotFound) || err.Error() != "Secret not found: test-get/nope" {
		t.Fatalf("err = %v", err)
	}
}

func TestParseMaster(t *testing.T) {
	for _, tc := range []struct {
		name, raw, wantErr string
		want               Master
	}{
		{"port as number", `{"host":"h","port":5432,"username":"u","password":"p","dbname":"d","engine":"postgres"}`, "", Master{"h", 5432, "u", "p", "d"}},
		{"port as string", `{"host":"h","port":"6543","username":"u","password":"p","dbname":"d"}`, "", Master{"h", 6543, "u", "p", "d"}},
		{"missing fields", `{"host":"h","password":"hunter2"}`, "missing or invalid field(s) username (need username and password", Master{}},
		{"not json", `hunter2`, "is not a JSON object", Master{}},
		{"port with a fraction", `{"host":"h","port":5432.5,"username":"u","password":"hunter2","dbname":"d"}`, "invalid field(s) port (need username and password; host, port and dbname unless they come from flags, the tfvars or DescribeDBInstances); port must be a whole number from 1 to 65535 (it has a fraction)", Master{}},
		{"port string with a fraction", `{"host":"h","port":"5432.5","username":"u","password":"hunter2","dbname":"d"}`, "port must be a whole number from 1 to 65535 (it has a fraction)", Master{}},
		{"port out of range", `{"host":"h","port":65536,"username":"u","password":"hunter2","dbname":"d"}`, "port must be a whole number from 1 to 65535", Master{}},
		{"port as a word", `{"host":"h","port":"postgres","username":"u","password":"hunter2","dbname":"d"}`, "port must be a whole number from 1 to 65535", Master{}},
		{"password with NUL", `{"host":"h","port":5432,"username":"u","password":"hunter2\u0000x","dbname":"d"}`, "master secret goldenpath/dev/rds/master: password contains a NUL character", Master{}},
		{"password with a lone surrogate", `{"host":"h","port":5432,"username":"u","password":"hunter2\udc00x","dbname":"d"}`, "master secret goldenpath/dev/rds/master: password contains U+FFFD", Master{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveMaster(context.Background(), MasterInput{Path: "goldenpath/dev/rds/master", Raw: tc.raw})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestParseApp(t *testing.T) {
	for _, tc := range []struct {
		name, raw, wantErr string
	}{
		{"password only", `{"password":"s3cret"}`, ""},
		{"matching username", `{"username":"keycloak_user","password":"s3cret"}`, ""},
		{"other username", `{"username":"postgres","password":"s3cret"}`, "does not match tfvars username keycloak_user"},
		{"no password", `{"username":"keycloak_user"}`, "missing or empty field password"},
		{"password a number", `{"password":12345678}`, "field password must be a JSON string (it is a number); quote it in the secret"},
		{"password null", `{"password":null}`, "missing or empty field password"},
		{"not json", `s3cret`, "is not a JSON object"},
		{"password with NUL", `{"password":"s3cret\u0000tail"}`, "app secret goldenpath/dev/keycloak/postgres: password contains a NUL character"},
		{"password with a lone surrogate", `{"password":"s3cret\ud800tail"}`, "app secret goldenpath/dev/keycloak/postgres: password contains U+FFFD"},
		{"password of invalid UTF-8", "{\"password\":\"s3cret\xfftail\"}", "password contains U+FFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseApp("goldenpath/dev/keycloak/postgres", tc.raw, "keycloak_user")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}
