package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// runtimeAPI is the part of AWS Lambda's runtime API a provided.al2023
// function uses: it hands out one event, then records the function's
// answer (the invocation response or error endpoint).
type runtimeAPI struct {
	event  string
	mu     sync.Mutex
	served bool
	answer chan string // "response: <body>" or "error: <body>"
}

func (r *runtimeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	const next = "/2018-06-01/runtime/invocation/next"
	r.mu.Lock()
	first := !r.served
	r.served = true
	r.mu.Unlock()
	switch {
	case req.Method == http.MethodGet && req.URL.Path == next && first:
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-2:123456789012:function:rds-provision-rotation-dev")
		io.WriteString(w, r.event)
	case req.Method == http.MethodGet && req.URL.Path == next:
		<-req.Context().Done() // no second event
	case req.Method == http.MethodPost && req.URL.Path == "/2018-06-01/runtime/invocation/req-1/response":
		body, _ := io.ReadAll(req.Body)
		w.WriteHeader(http.StatusAccepted)
		r.answer <- "response: " + string(body)
	case req.Method == http.MethodPost && req.URL.Path == "/2018-06-01/runtime/invocation/req-1/error":
		body, _ := io.ReadAll(req.Body)
		w.WriteHeader(http.StatusAccepted)
		r.answer <- "error: " + string(body)
	default:
		http.Error(w, "unexpected "+req.Method+" "+req.URL.Path, http.StatusNotFound)
		r.answer <- "unexpected: " + req.Method + " " + req.URL.Path
	}
}

// The built binary, started without arguments under the Lambda runtime
// (as provided.al2023 starts bootstrap), is the rotation function.
func TestBootstrapAnswersARotationEvent(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../../cmd/rds-provision")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	const secret = "goldenpath/boot/app/postgres"
	servers.MustPutSecret(t, "goldenpath/boot/rds/master", pg.MasterSecret())
	servers.MustPutSecret(t, secret, map[string]any{"username": "boot_user", "password": "boot-old-password-1", "dbname": "boot_db"})
	api := &runtimeAPI{event: `{"Step":"createSecret","SecretId":"` + secret + `","ClientRequestToken":"5d0c2a4e-0000-4000-8000-0000000b0075"}`, answer: make(chan string, 4)}
	srv := httptest.NewServer(api)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"), "RDSP_MASTER_SECRET=goldenpath/boot/rds/master", "RDSP_SSLMODE=disable", "AWS_REGION=eu-west-2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case got := <-api.answer:
		if !strings.HasPrefix(got, "response: ") {
			t.Fatalf("the function answered %s\n%s", got, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("no answer from the function within a minute\n%s", stderr.String())
	}
	out, err := servers.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret), VersionStage: aws.String("AWSPENDING")})
	if err != nil || aws.ToString(out.VersionId) != "5d0c2a4e-0000-4000-8000-0000000b0075" {
		t.Errorf("after createSecret: AWSPENDING version %q, %v; want the event's token", aws.ToString(out.VersionId), err)
	}
}
