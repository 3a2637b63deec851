package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Moto is a running moto_server standing in for AWS Secrets Manager.
type Moto struct {
	URL    string
	cmd    *exec.Cmd
	clock  string        // offset file of a clocked moto, "" otherwise
	offset time.Duration // what Advance added
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers.
func StartMoto(ctx context.Context) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf(`moto_server not found: install it with pip install "moto[server]"`)
	}
	return startMoto(ctx, func(port int) *exec.Cmd {
		return exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	})
}

// clockedMoto runs moto_server with time.time moved forward by the number
// of seconds in the file argv[1], read at every call: moto stamps secret
// versions (CreatedDate) with it, so a test can let days pass in step with
// its own clock.
const clockedMoto = `import sys, time
_real, _path = time.time, sys.argv[1]
def _now():
    try:
        with open(_path) as f:
            return _real() + float(f.read().strip() or 0)
    except (OSError, ValueError):
        return _real()
time.time = _now
sys.argv = ["moto_server"] + sys.argv[2:]
from moto.server import main
main()
`

// StartMotoClocked starts moto_server with a clock that Advance moves
// forward, for tests of what is due after days (rotation periods). It runs
// moto's server from the python3 on PATH, which must have moto installed.
func StartMotoClocked(ctx context.Context) (*Moto, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf(`python3 not found: moto_server needs it (pip install "moto[server]")`)
	}
	if out, err := exec.Command(py, "-c", "import moto.server").CombinedOutput(); err != nil {
		return nil, fmt.Errorf(`the python3 on PATH (%s) cannot import moto.server: install it with pip install "moto[server]": %v: %s`, py, err, out)
	}
	dir, err := os.MkdirTemp("", "rdsp-moto-clock-")
	if err != nil {
		return nil, err
	}
	clock := filepath.Join(dir, "offset")
	if err := os.WriteFile(clock, []byte("0"), 0o600); err != nil {
		return nil, err
	}
	m, err := startMoto(ctx, func(port int) *exec.Cmd {
		return exec.Command(py, "-c", clockedMoto, clock, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	m.clock = clock
	return m, nil
}

// Advance moves a clocked moto's time forward by d (in total, since it
// started: offsets add up).
func (m *Moto) Advance(d time.Duration) error {
	if m.clock == "" {
		return fmt.Errorf("this moto_server has no clock: start it with StartMotoClocked")
	}
	m.offset += d
	return os.WriteFile(m.clock, []byte(strconv.FormatFloat(m.offset.Seconds(), 'f', 3, 64)), 0o600)
}

// Offset is how far Advance moved the clock.
func (m *Moto) Offset() time.Duration { return m.offset }

func startMoto(ctx context.Context, command func(port int) *exec.Cmd) (*Moto, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := command(port)
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
	if m.clock != "" {
		os.RemoveAll(filepath.Dir(m.clock))
	}
}
