package rotate

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// countingStore counts the Secrets Manager calls of a run.
type countingStore struct {
	Store
	calls atomic.Int64
}

func (c *countingStore) GetMany(ctx context.Context, p []string) (map[string]secrets.Result, error) {
	c.calls.Add(1)
	return c.Store.GetMany(ctx, p)
}
func (c *countingStore) Describe(ctx context.Context, id string) (secrets.Metadata, error) {
	c.calls.Add(1)
	return c.Store.Describe(ctx, id)
}
func (c *countingStore) GetVersion(ctx context.Context, id, v, s string) (secrets.Version, error) {
	c.calls.Add(1)
	return c.Store.GetVersion(ctx, id, v, s)
}
func (c *countingStore) PutPending(ctx context.Context, id, token, value string) error {
	c.calls.Add(1)
	return c.Store.PutPending(ctx, id, token, value)
}
func (c *countingStore) MoveStage(ctx context.Context, id, stage, to, from string) error {
	c.calls.Add(1)
	return c.Store.MoveStage(ctx, id, stage, to, from)
}
func (c *countingStore) RandomPassword(ctx context.Context) (string, error) {
	c.calls.Add(1)
	return c.Store.RandomPassword(ctx)
}

// BenchmarkRotateApp is one rotate --app run of one entry, the four steps
// against moto and PostgreSQL, with its Secrets Manager calls per run.
func BenchmarkRotateApp(b *testing.B) {
	f := newFixture(b, "rotbench", app{key: "bench_app", db: "rot_bench_db", user: "rot_bench_user", password: "bench-old-password-1", risk: "high"})
	c, err := secrets.NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		b.Fatal(err)
	}
	store := &countingStore{Store: c}
	b.ResetTimer()
	for b.Loop() {
		opts := f.options()
		opts.App, opts.Secrets = "bench_app", store
		if res, err := Run(context.Background(), opts); err != nil || res.Rows[0].Status != "success" {
			b.Fatalf("rotate: %v %+v", err, res.Rows)
		}
	}
	b.ReportMetric(float64(store.calls.Load())/float64(b.N), "secretsmanager-calls/op")
}
