// Package secrets fetches the master and application credentials from AWS
// Secrets Manager with few round trips, and validates their JSON.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// BatchSize is BatchGetSecretValue's limit of secret ids per call.
const BatchSize = 20

// fallbackConcurrency bounds parallel GetSecretValue calls when the batch
// call is denied.
const fallbackConcurrency = 8

// Sentinel errors callers branch on; SecretError wraps them with the path.
var (
	ErrNotFound     = errors.New("secret not found")
	ErrAccessDenied = errors.New("access denied to secret")
)

// SecretError names the secret that could not be read. Its text keeps the
// runbook's words ("Secret not found: <path>") and never holds a value.
type SecretError struct {
	Path string
	Err  error  // ErrNotFound, ErrAccessDenied or another cause
	Code string // AWS error code when there is one
}

func (e *SecretError) Error() string {
	switch {
	case errors.Is(e.Err, ErrNotFound):
		return "Secret not found: " + e.Path
	case errors.Is(e.Err, ErrAccessDenied):
		return "Access denied to secret: " + e.Path
	}
	return fmt.Sprintf("read secret %s: %v", e.Path, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// API is the part of the Secrets Manager client used here.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// Client reads secrets through API.
type Client struct {
	api API
	mu  sync.Mutex
	// batchDenied remembers that the IAM policy refuses BatchGetSecretValue,
	// so later calls go straight to GetSecretValue.
	batchDenied bool
}

// New wraps an API, for tests and callers with their own client.
func New(api API) *Client { return &Client{api: api} }

// NewAWS builds a client with the SDK's default credential chain and
// configuration (AWS_ENDPOINT_URL_SECRETS_MANAGER included) and standard
// retries with backoff.
func NewAWS(ctx context.Context, region string) (*Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 })
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return New(secretsmanager.NewFromConfig(cfg)), nil
}

// Get reads one secret string with GetSecretValue.
func (c *Client) Get(ctx context.Context, path string) (string, error) {
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(path)})
	if err != nil {
		return "", classify(path, err)
	}
	if out.SecretString == nil {
		return "", &SecretError{Path: path, Err: errors.New("secret has no SecretString (binary secrets are not supported)")}
	}
	return *out.SecretString, nil
}

// Result is one secret of GetMany: its string, or why it could not be read.
type Result struct {
	Value string
	Err   error
}

// GetMany reads every path with BatchGetSecretValue, 20 ids a call, and falls
// back to GetSecretValue per secret when the batch call is denied, as many
// IAM policies allow only GetSecretValue. Per-secret failures are returned
// in the map; the error is for failures of the whole operation.
func (c *Client) GetMany(ctx context.Context, paths []string) (map[string]Result, error) {
	unique := dedupe(paths)
	results := make(map[string]Result, len(unique))
	for start := 0; start < len(unique); start += BatchSize {
		chunk := unique[start:min(start+BatchSize, len(unique))]
		if !c.isBatchDenied() {
			err := c.batch(ctx, chunk, results)
			if err == nil {
				continue
			}
			if !isAccessDenied(err) {
				return nil, fmt.Errorf("BatchGetSecretValue: %w", err)
			}
			c.mu.Lock()
			c.batchDenied = true
			c.mu.Unlock()
		}
		c.each(ctx, chunk, results)
	}
	return results, nil
}

func (c *Client) isBatchDenied() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batchDenied
}

func (c *Client) batch(ctx context.Context, chunk []string, results map[string]Result) error {
	out, err := c.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: chunk})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, v := range out.SecretValues {
		if v.SecretString == nil {
			continue
		}
		for _, id := range []*string{v.Name, v.ARN} {
			if id != nil {
				byName[*id] = *v.SecretString
			}
		}
	}
	failed := map[string]error{}
	for _, e := range out.Errors {
		id := aws.ToString(e.SecretId)
		failed[id] = classifyCode(id, aws.ToString(e.ErrorCode))
	}
	for _, path := range chunk {
		switch value, ok := byName[path]; {
		case ok:
			results[path] = Result{Value: value}
		case failed[path] != nil:
			results[path] = Result{Err: failed[path]}
		default:
			// Absent from both lists: Secrets Manager reports missing ids as
			// errors, so this is a secret without a string value.
			results[path] = Result{Err: &SecretError{Path: path, Err: ErrNotFound}}
		}
	}
	return nil
}

func (c *Client) each(ctx context.Context, chunk []string, results map[string]Result) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, fallbackConcurrency)
	for _, path := range chunk {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			value, err := c.Get(ctx, path)
			mu.Lock()
			results[path] = Result{Value: value, Err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
}

func dedupe(paths []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func classify(path string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return classifyCodeWrap(path, apiErr.ErrorCode(), err)
	}
	return &SecretError{Path: path, Err: err}
}

func classifyCode(path, code string) error {
	return classifyCodeWrap(path, code, errors.New(code))
}

func classifyCodeWrap(path, code string, cause error) error {
	switch code {
	case "ResourceNotFoundException":
		return &SecretError{Path: path, Err: ErrNotFound, Code: code}
	case "AccessDeniedException", "AccessDenied", "DecryptionFailure", "KMSAccessDeniedException":
		return &SecretError{Path: path, Err: ErrAccessDenied, Code: code}
	}
	return &SecretError{Path: path, Err: cause, Code: code}
}

func isAccessDenied(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException":
			return true
		}
	}
	return false
}

// Master is the RDS master secret.
type Master struct {
	Host     string
	Port     int
	Username string
	Password string
	DBName   string
}

// ParseMaster validates the master secret's JSON: host, port (string or
// number), username, password and dbname are required. Errors name fields,
// never values.
func ParseMaster(path, raw string) (Master, error) {
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return Master{}, fmt.Errorf("master secret %s is not a JSON object", path)
	}
	var m Master
	var missing []string
	str := func(name string, dst *string) {
		v, ok := fields[name].(string)
		if !ok || v == "" {
			missing = append(missing, name)
			return
		}
		*dst = v
	}
	str("host", &m.Host)
	str("username", &m.Username)
	str("password", &m.Password)
	str("dbname", &m.DBName)
	switch p := fields["port"].(type) {
	case float64:
		m.Port = int(p)
	case string:
		m.Port, _ = strconv.Atoi(strings.TrimSpace(p))
	}
	if m.Port <= 0 || m.Port > 65535 {
		missing = append(missing, "port")
	}
	if len(missing) > 0 {
		return Master{}, fmt.Errorf("master secret %s: missing or invalid field(s) %s (need host, port, username, password, dbname)", path, strings.Join(missing, ", "))
	}
	return m, nil
}

// App is an application's secret.
type App struct {
	Username string // optional in the secret
	Password string
}

// ParseApp validates an app secret: password required; username, when
// present, must equal the tfvars username.
func ParseApp(path, raw, wantUsername string) (App, error) {
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return App{}, fmt.Errorf("app secret %s is not a JSON object", path)
	}
	var a App
	password, ok := fields["password"].(string)
	if !ok || password == "" {
		return App{}, fmt.Errorf("app secret %s: missing or empty field password", path)
	}
	a.Password = password
	if u, present := fields["username"]; present {
		name, ok := u.(string)
		if !ok || name != wantUsername {
			return App{}, fmt.Errorf("app secret %s: username does not match tfvars username %s", path, wantUsername)
		}
		a.Username = name
	}
	return a, nil
}
