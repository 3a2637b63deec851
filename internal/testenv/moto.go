package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Moto is a running moto_server standing in for AWS Secrets Manager.
type Moto struct {
	URL string
	cmd *exec.Cmd
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers.
func StartMoto(ctx context.Context) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf(`moto_server not found: install it with pip install "moto[server]"`)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			m.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 30s: %v", m.URL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Env returns the AWS SDK environment that points Secrets Manager and RDS at moto
// with dummy credentials.
func (m *Moto) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": m.URL,
		"AWS_ENDPOINT_URL_RDS":             m.URL,
		"AWS_ACCESS_KEY_ID":                "testing",
		"AWS_SECRET_ACCESS_KEY":            "testing",
		"AWS_REGION":                       "eu-west-2",
		"AWS_EC2_METADATA_DISABLED":        "true",
	}
}

// SetEnv exports Env into this process, for tests that use the default
// credential chain.
func (m *Moto) SetEnv() {
	for k, v := range m.Env() {
		os.Setenv(k, v)
	}
}

// Stop ends the server.
func (m *Moto) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Kill()
	m.cmd.Wait()
}
