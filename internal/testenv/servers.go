package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// MasterUser is the RDS-like master the tests and the demo provision as.
const MasterUser = "platform_admin"

// Servers are the real servers an integration test package (or the demo)
// shares: PostgreSQL with an RDS-like master, and moto as Secrets Manager.
type Servers struct {
	Postgres *Postgres
	Moto     *Moto
	Secrets  *secretsmanager.Client
}

// Start starts both servers and points this process's AWS SDK at moto.
func Start(ctx context.Context) (*Servers, error) {
	s := &Servers{}
	var err error
	if s.Postgres, err = StartPostgres(ctx, MasterUser); err != nil {
		return nil, err
	}
	if s.Moto, err = StartMoto(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	s.Moto.SetEnv()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-2"))
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("AWS configuration for moto: %w", err)
	}
	s.Secrets = secretsmanager.NewFromConfig(cfg)
	return s, nil
}

// Stop ends both servers.
func (s *Servers) Stop() {
	s.Moto.Stop()
	s.Postgres.Stop()
}

// RunMain is the body of a package's TestMain: it starts the servers,
// hands them to use, runs the tests and stops them. A missing prerequisite
// fails the package with its install hint; it never skips.
func RunMain(m *testing.M, use func(*Servers)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need their servers:", err)
		return 1
	}
	defer s.Stop()
	use(s)
	code := m.Run()
	if left := s.Postgres.leftovers(); left != "" {
		fmt.Fprintf(os.Stderr, "testenv: the tests left behind on the shared server: %s (drop them with Postgres.DropOnCleanup)\n", left)
	}
	return code
}

// PutSecret creates the secret name with value as JSON, or replaces its
// value when it exists.
func (s *Servers) PutSecret(ctx context.Context, name string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = s.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))})
	if err != nil && strings.Contains(err.Error(), "ResourceExists") {
		_, err = s.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(raw))})
	}
	if err != nil {
		return fmt.Errorf("seed secret %s: %w", name, err)
	}
	return nil
}

// MasterSecret is the master secret's JSON for this server, as Terraform
// writes it for RDS.
func (p *Postgres) MasterSecret() map[string]any {
	return map[string]any{
		"host": p.Host, "port": p.Port, "username": p.MasterUser,
		"password": p.MasterPassword, "dbname": p.MasterDB, "engine": "postgres",
	}
}

// MustPutSecret is PutSecret for tests: a failure ends the test.
func (s *Servers) MustPutSecret(t testing.TB, name string, value any) {
	t.Helper()
	if err := s.PutSecret(context.Background(), name, value); err != nil {
		t.Fatal(err)
	}
}

// RunPostgresMain is RunMain for a package whose tests need PostgreSQL
// only: it starts the server, hands it to use, runs the tests and stops it.
func RunPostgresMain(m *testing.M, use func(*Postgres)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p, err := StartPostgres(ctx, MasterUser)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need PostgreSQL:", err)
		return 1
	}
	defer p.Stop()
	use(p)
	code := m.Run()
	if left := p.leftovers(); left != "" {
		fmt.Fprintf(os.Stderr, "testenv: the tests left behind on the shared server: %s (drop them with Postgres.DropOnCleanup)\n", left)
	}
	return code
}
