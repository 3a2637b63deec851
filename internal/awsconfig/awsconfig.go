// Package awsconfig loads the AWS SDK configuration every AWS client of
// rds-provision shares (Secrets Manager, RDS): the default credential chain
// and the SDK's own settings (AWS_ENDPOINT_URL_<SERVICE> included), standard
// retries with backoff, and a bound on each HTTP attempt, so a hung
// endpoint fails the run instead of holding it.
package awsconfig

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Defaults of Options.
const (
	DefaultAttemptTimeout = 10 * time.Second
	DefaultMaxAttempts    = 5
	DefaultMaxBackoff     = 2 * time.Second
)

// Options configure Load; zero values take the defaults.
type Options struct {
	Region         string
	AttemptTimeout time.Duration // one HTTP attempt, connection included
	MaxAttempts    int
	MaxBackoff     time.Duration // longest wait between attempts
}

// Load builds the configuration.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = o.MaxBackoff
				so.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
			})
		}),
		// http.Client.Timeout cuts one attempt; the SDK reports it as a
		// retryable connection error, so the retryer tries again.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(o.AttemptTimeout)),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
