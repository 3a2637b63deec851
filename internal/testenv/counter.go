package testenv

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsCounter is the real Secrets Manager client counting the calls
// that provision makes (GetSecretValue, BatchGetSecretValue), for the
// benchmarks and the tests that bound them.
type SecretsCounter struct {
	*secretsmanager.Client
	calls atomic.Int64
}

// Calls is how many reads were sent so far.
func (c *SecretsCounter) Calls() int64 { return c.calls.Load() }

func (c *SecretsCounter) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.Add(1)
	return c.Client.GetSecretValue(ctx, in, opts...)
}

func (c *SecretsCounter) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	c.calls.Add(1)
	return c.Client.BatchGetSecretValue(ctx, in, opts...)
}
