// Package secrets fetches the master and application credentials from AWS
// Secrets Manager with few round trips, and validates their JSON.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/goldenpath/rds-provision/internal/awsconfig"
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
	// ErrBinary: the secret holds only SecretBinary, no SecretString.
	ErrBinary = errors.New("secret holds only SecretBinary")
	// ErrTimeout: Secrets Manager did not answer within the call's bound.
	ErrTimeout = errors.New("Secrets Manager did not answer in time")
)

// Bounds of one Secrets Manager call, so a hung endpoint (a stalled
// connection, a proxy that never answers) fails the run instead of holding
// it forever: each HTTP attempt, connection included, is cut after
// DefaultAttemptTimeout and retried with backoff, all attempts together
// within DefaultCallTimeout.
const (
	DefaultAttemptTimeout = awsconfig.DefaultAttemptTimeout
	DefaultCallTimeout    = 45 * time.Second
	DefaultMaxAttempts    = awsconfig.DefaultMaxAttempts
	DefaultMaxBackoff     = awsconfig.DefaultMaxBackoff
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
	case errors.Is(e.Err, ErrBinary):
		return "Secret " + e.Path + " holds only SecretBinary: store its JSON as SecretString (binary secrets are not supported)"
	}
	return fmt.Sprintf("read secret %s: %v", e.Path, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// API is the part of the Secrets Manager client used here: reads for
// provision, versions and labels for rotation, creation for
// --create-missing-secrets.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	GetRandomPassword(ctx context.Context, in *secretsmanager.GetRandomPasswordInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

// Client reads secrets through API.
type Client struct {
	api API
	// callTimeout bounds each call with its retries; 0 means no bound.
	callTimeout time.Duration
	mu          sync.Mutex
	// batchDenied remembers that the IAM policy refuses BatchGetSecretValue,
	// so later calls go straight to GetSecretValue.
	batchDenied bool
}

// New wraps an API, for tests and callers with their own client; each call
// is bounded by DefaultCallTimeout.
func New(api API) *Client { return &Client{api: api, callTimeout: DefaultCallTimeout} }

// AWSOptions configure NewAWSWith; zero values take the defaults.
type AWSOptions struct {
	Region         string
	Endpoint       string        // overrides the SDK's endpoint resolution (AWS_ENDPOINT_URL_SECRETS_MANAGER)
	AttemptTimeout time.Duration // one HTTP attempt, connection included
	CallTimeout    time.Duration // one call with all its retries
	MaxAttempts    int
	MaxBackoff     time.Duration // longest wait between attempts
}

// NewAWS builds a client for region with NewAWSWith's defaults.
func NewAWS(ctx context.Context, region string) (*Client, error) {
	return NewAWSWith(ctx, AWSOptions{Region: region})
}

// NewAWSWith builds a client with the SDK's default credential chain and
// configuration (AWS_ENDPOINT_URL_SECRETS_MANAGER included), standard
// retries with backoff, and the attempt and call bounds of o.
func NewAWSWith(ctx context.Context, o AWSOptions) (*Client, error) {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: o.Region, AttemptTimeout: o.AttemptTimeout, MaxAttempts: o.MaxAttempts, MaxBackoff: o.MaxBackoff})
	if err != nil {
		return nil, err
	}
	return NewFromConfig(cfg, o), nil
}

// NewFromConfig builds a client from a loaded configuration (shared with
// the RDS client); o gives the endpoint override and the call bound.
func NewFromConfig(cfg aws.Config, o AWSOptions) *Client {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	api := secretsmanager.NewFromConfig(cfg, func(so *secretsmanager.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return &Client{api: api, callTimeout: o.CallTimeout}
}

// bound limits one call, its retries included, to the client's call timeout.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.callTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.callTimeout)
}

// timedOut turns an error of a call cut by its bound (or by every attempt
// timing out) into ErrTimeout, keeping the cause; the caller's own
// cancellation stays what it is.
func (c *Client) timedOut(parent context.Context, err error) error {
	if parent.Err() != nil {
		return err
	}
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
		return fmt.Errorf("%w (each call is limited to %s with its retries): %w", ErrTimeout, c.callTimeout, err)
	}
	return err
}

// Get reads one secret string with GetSecretValue.
func (c *Client) Get(ctx context.Context, path string) (string, error) {
	res := c.get(ctx, path)
	return res.Value, res.Err
}

func (c *Client) get(ctx context.Context, path string) Result {
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.GetSecretValue(callCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(path)})
	if err != nil {
		return Result{Err: classify(path, c.timedOut(ctx, err))}
	}
	if out.SecretString == nil {
		return Result{Err: &SecretError{Path: path, Err: ErrBinary}}
	}
	return Result{Value: *out.SecretString, ARN: aws.ToString(out.ARN)}
}

// Result is one secret of GetMany: its string and ARN, or why it could not
// be read.
type Result struct {
	Value string
	ARN   string
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
				return nil, fmt.Errorf("BatchGetSecretValue: %w", c.timedOut(ctx, err))
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
	ctx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: chunk})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	arns := map[string]string{}
	binary := map[string]bool{}
	for _, v := range out.SecretValues {
		for _, id := range []*string{v.Name, v.ARN} {
			switch {
			case id == nil:
			case v.SecretString != nil:
				byName[*id] = *v.SecretString
				arns[*id] = aws.ToString(v.ARN)
			case v.SecretBinary != nil:
				binary[*id] = true
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
			results[path] = Result{Value: value, ARN: arns[path]}
		case failed[path] != nil:
			results[path] = Result{Err: failed[path]}
		case binary[path]:
			results[path] = Result{Err: &SecretError{Path: path, Err: ErrBinary}}
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
			res := c.get(ctx, path)
			mu.Lock()
			results[path] = res
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

// Master is the RDS master secret, its endpoint filled in by
// ResolveMaster when RDS manages it (username and password only).
type Master struct {
	Host     string
	Port     int
	Username string
	Password string
	DBName   string
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
	pv := fields["password"]
	password, ok := pv.(string)
	switch {
	case pv != nil && !ok:
		// Never echo the value: a number may still be the password.
		return App{}, fmt.Errorf("app secret %s: field password must be a JSON string (it is a %s); quote it in the secret", path, jsonKind(pv))
	case password == "":
		return App{}, fmt.Errorf("app secret %s: missing or empty field password", path)
	}
	if err := checkPassword(password); err != nil {
		return App{}, fmt.Errorf("app secret %s: %w", path, err)
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

// errNUL: PostgreSQL passwords are C strings, so a NUL would silently cut
// the password short (libpq sends what comes before it).
var errNUL = errors.New("password contains a NUL character, which PostgreSQL cannot take in a password: generate one without it")

// errReplacement: JSON decoding turns invalid UTF-8 and a lone surrogate
// escape ("\ud800") into U+FFFD, so the role would get a password other
// than the one the application reads (Python keeps the lone surrogate,
// which it cannot even encode), and the application could not log in.
var errReplacement = errors.New("password contains U+FFFD, the mark of invalid UTF-8 or a lone surrogate escape (\\ud800-\\udfff) in the secret: store it as valid UTF-8, or generate one without it")

// checkPassword refuses a password that PostgreSQL or the application's
// JSON reader would see differently from the role's verifier.
func checkPassword(p string) error {
	switch {
	case strings.ContainsRune(p, 0):
		return errNUL
	case strings.ContainsRune(p, utf8.RuneError):
		return errReplacement
	}
	return nil
}

// parsePort accepts the port as a JSON number or a string of digits, as
// Terraform and the RDS console write it, and only a whole number in
// 1..65535: 5432.5 is a typo to report, not a port to round.
func parsePort(v any) (int, error) {
	const rule = "port must be a whole number from 1 to 65535"
	var f float64
	switch p := v.(type) {
	case float64:
		f = p
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			if _, ferr := strconv.ParseFloat(strings.TrimSpace(p), 64); ferr == nil {
				return 0, errors.New(rule + " (it has a fraction)")
			}
			return 0, errors.New(rule)
		}
		f = float64(n)
	case nil:
		return 0, errors.New("port is missing")
	default:
		return 0, errors.New(rule)
	}
	if f != math.Trunc(f) {
		return 0, errors.New(rule + " (it has a fraction)")
	}
	if f < 1 || f > 65535 {
		return 0, errors.New(rule)
	}
	return int(f), nil
}

// jsonKind names the JSON type of a decoded value, for errors that must not
// show the value itself.
func jsonKind(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "string"
}
