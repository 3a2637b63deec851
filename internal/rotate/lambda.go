package rotate

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/pgsession"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// Event is a Secrets Manager rotation event, as it invokes a rotation
// function.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
}

// LambdaConfig is the rotation function's configuration, from its
// environment (LambdaConfigFromEnv).
type LambdaConfig struct {
	MasterSecret     string           // RDSP_MASTER_SECRET (required): name or ARN
	MasterEndpoint   secrets.Endpoint // RDSP_DB_HOST, RDSP_DB_PORT, RDSP_DB_NAME
	Identifier       string           // RDSP_DB_INSTANCE: the instance, for DescribeDBInstances
	SSLMode          string           // RDSP_SSLMODE, default verify-full
	SSLRootCert      string           // RDSP_SSLROOTCERT, default the RDS bundle (beside bootstrap on Lambda) when verifying
	LockTimeout      time.Duration    // RDSP_LOCK_TIMEOUT, default 2m (the function's timeout must exceed it)
	StatementTimeout time.Duration    // RDSP_STATEMENT_TIMEOUT, default 30s
}

// RDSBundle is where the image carries the AWS RDS CA bundle.
const RDSBundle = "/etc/ssl/certs/rds-global-bundle.pem"

// LambdaConfigFromEnv reads the configuration; errors name the variable.
func LambdaConfigFromEnv(getenv func(string) string) (LambdaConfig, error) {
	c := LambdaConfig{
		MasterSecret: getenv("RDSP_MASTER_SECRET"),
		MasterEndpoint: secrets.Endpoint{
			Host: getenv("RDSP_DB_HOST"), DBName: getenv("RDSP_DB_NAME"),
		},
		Identifier:       getenv("RDSP_DB_INSTANCE"),
		SSLMode:          cmp.Or(getenv("RDSP_SSLMODE"), pgsession.DefaultSSLMode),
		SSLRootCert:      getenv("RDSP_SSLROOTCERT"),
		LockTimeout:      2 * time.Minute,
		StatementTimeout: 30 * time.Second,
	}
	if c.SSLRootCert == "" && (c.SSLMode == "verify-full" || c.SSLMode == "verify-ca") {
		c.SSLRootCert = RDSBundle
		if root := getenv("LAMBDA_TASK_ROOT"); root != "" {
			// make lambda packs the bundle beside bootstrap.
			c.SSLRootCert = root + "/rds-global-bundle.pem"
		}
	}
	if c.MasterSecret == "" {
		return c, errors.New("RDSP_MASTER_SECRET is not set: give the rotation function the name or ARN of the RDS master secret")
	}
	if v := getenv("RDSP_DB_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("RDSP_DB_PORT=%q: want a port from 1 to 65535", v)
		}
		c.MasterEndpoint.Port = n
	}
	for name, dst := range map[string]*time.Duration{"RDSP_LOCK_TIMEOUT": &c.LockTimeout, "RDSP_STATEMENT_TIMEOUT": &c.StatementTimeout} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("%s=%q: want a positive duration such as 2m", name, v)
			}
			*dst = d
		}
	}
	return c, nil
}

// Handler answers rotation events with the same four steps as rotate. The
// secret names its role and database (fields username and dbname, which
// --create-missing-secrets and the reference Terraform write); setSecret
// changes the role only after it accepts the secret's AWSCURRENT password,
// so a secret cannot point the function at another tenant's role.
type Handler struct {
	Config  LambdaConfig
	Secrets Store
	RDS     secrets.InstanceFinder // nil: no DescribeDBInstances
	Random  io.Reader              // default crypto/rand
	Log     io.Writer              // CloudWatch (standard error)
}

// Handle runs one step for one event.
func (h *Handler) Handle(ctx context.Context, ev Event) error {
	red := audit.NewLog()
	hide := func(s string) { red.Redact(s) }
	logf := func(format string, args ...any) {
		if h.Log != nil {
			fmt.Fprintf(h.Log, "%s\n", red.Scrub(fmt.Sprintf(format, args...)))
		}
	}
	err := h.handle(ctx, ev, hide, logf)
	if err != nil {
		// Secrets Manager records the error and retries the rotation.
		err = errors.New(red.Scrub(err.Error()))
		logf("[ERROR] %s %s: %v", ev.Step, ev.SecretID, err)
		return err
	}
	logf("[SUCCESS] %s %s version %s", ev.Step, ev.SecretID, ev.ClientRequestToken)
	return nil
}

func (h *Handler) handle(ctx context.Context, ev Event, hide func(string), logf func(string, ...any)) error {
	step, err := ParseStep(ev.Step)
	if err != nil {
		return err
	}
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return errors.New("the event needs SecretId and ClientRequestToken")
	}
	m, err := h.Secrets.Describe(ctx, ev.SecretID)
	if err != nil {
		return err
	}
	labels, known := m.Stages[ev.ClientRequestToken]
	switch {
	case slices.Contains(labels, secrets.StageCurrent):
		logf("[NO_CHANGE] version %s of %s is already AWSCURRENT", ev.ClientRequestToken, ev.SecretID)
		return nil
	case !known && step != StepCreate:
		return fmt.Errorf("version %s of %s does not exist: %s needs the version createSecret made", ev.ClientRequestToken, ev.SecretID, step)
	case known && !slices.Contains(labels, secrets.StagePending):
		return fmt.Errorf("version %s of %s is not AWSPENDING (labels %v): not rotating it", ev.ClientRequestToken, ev.SecretID, labels)
	}
	target, err := h.target(ctx, ev.SecretID, hide)
	if err != nil {
		return err
	}
	random := h.Random
	if random == nil {
		random = rand.Reader
	}
	rot := &Rotator{Secrets: h.Secrets, Hide: hide}
	if step == StepCreate {
		return rot.Create(ctx, target, ev.ClientRequestToken)
	}
	master, err := h.master(ctx, hide)
	if err != nil {
		return err
	}
	rot.DB = &DB{Master: master, SSLMode: h.Config.SSLMode, SSLRootCert: h.Config.SSLRootCert,
		StatementTimeout: h.Config.StatementTimeout, LockTimeout: h.Config.LockTimeout, Random: random,
		Infof: func(format string, args ...any) { logf("[INFO] "+format, args...) }}
	s, err := rot.DB.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	switch step {
	case StepSet:
		return rot.Set(ctx, s, target, ev.ClientRequestToken)
	case StepTest:
		return rot.Test(ctx, target, ev.ClientRequestToken)
	default:
		// RotateSecret removes AWSPENDING itself once finishSecret returns.
		return rot.Finish(ctx, s, target, ev.ClientRequestToken, false)
	}
}

// target reads the role and database from the AWSCURRENT version.
func (h *Handler) target(ctx context.Context, id string, hide func(string)) (Target, error) {
	v, err := h.Secrets.GetVersion(ctx, id, "", secrets.StageCurrent)
	if err != nil {
		return Target{}, err
	}
	hide(v.Value)
	var fields struct {
		Username string `json:"username"`
		DBName   string `json:"dbname"`
	}
	if err := json.Unmarshal([]byte(v.Value), &fields); err != nil {
		return Target{}, fmt.Errorf("app secret %s is not a JSON object", id)
	}
	if fields.Username == "" || fields.DBName == "" {
		return Target{}, fmt.Errorf("app secret %s needs the fields username and dbname for the rotation function (the role and its database): add them, or rotate it with rds-provision rotate, which reads them from the tfvars", id)
	}
	return Target{SecretID: id, Username: fields.Username, Database: fields.DBName}, nil
}

func (h *Handler) master(ctx context.Context, hide func(string)) (secrets.Master, error) {
	got, err := h.Secrets.GetMany(ctx, []string{h.Config.MasterSecret})
	if err != nil {
		return secrets.Master{}, err
	}
	res := got[h.Config.MasterSecret]
	hide(res.Value)
	if res.Err != nil {
		return secrets.Master{}, res.Err
	}
	m, err := secrets.ResolveMaster(ctx, secrets.MasterInput{
		Path: h.Config.MasterSecret, Raw: res.Value, ARN: res.ARN, Flags: h.Config.MasterEndpoint,
		Identifier: h.Config.Identifier, RDS: h.RDS,
	})
	if err != nil {
		return secrets.Master{}, err
	}
	hide(m.Password)
	return m, nil
}
