package rotate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/secrets"
	"github.com/goldenpath/rds-provision/internal/testenv"
)

// The package's tests share one PostgreSQL and one moto_server whose clock
// they move forward (rotation periods are days), so they run one after
// another; each uses its own environment, secrets and roles.
var (
	pg   *testenv.Postgres
	moto *testenv.Moto
	sm   *secretsmanager.Client
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if pg, err = testenv.StartPostgres(ctx, testenv.MasterUser); err != nil {
		fmt.Fprintln(os.Stderr, "rotate tests need PostgreSQL:", err)
		return 1
	}
	defer pg.Stop()
	if moto, err = testenv.StartMotoClocked(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "rotate tests need moto_server:", err)
		return 1
	}
	defer moto.Stop()
	moto.SetEnv()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-2"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sm = secretsmanager.NewFromConfig(cfg)
	return m.Run()
}

// now is the tests' clock, in step with moto's.
func now() time.Time { return time.Now().Add(moto.Offset()) }

func advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := moto.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// app is one application_databases entry with its catalog risk.
type app struct {
	key, db, user, password, risk string
}

type fixture struct {
	t    testing.TB
	env  string
	dir  string
	apps []app
}

// newFixture writes the tfvars and catalog of env, the master and app
// secrets, and provisions the roles and databases with provision.
func newFixture(t testing.TB, env string, apps ...app) *fixture {
	t.Helper()
	f := &fixture{t: t, env: env, dir: t.TempDir(), apps: apps}
	var tf, cat strings.Builder
	tf.WriteString("aws_region = \"eu-west-2\"\nmaster_username = \"" + testenv.MasterUser + "\"\napplication_databases = {\n")
	cat.WriteString("version: \"1.0\"\ndatabases:\n")
	var dbs, roles []string
	for _, a := range apps {
		fmt.Fprintf(&tf, "  %s = {\n    database_name = %q\n    username = %q\n  }\n", a.key, a.db, a.user)
		if a.risk != "" {
			fmt.Fprintf(&cat, "  %s:\n    metadata:\n      risk: %s\n      environment: %s\n", a.db, a.risk, env)
		}
		f.put(f.secret(a.key), map[string]any{"username": a.user, "password": a.password})
		dbs, roles = append(dbs, a.db), append(roles, a.user)
	}
	tf.WriteString("}\n")
	pg.DropOnCleanup(t, dbs, roles)
	f.write("terraform.tfvars", tf.String())
	f.write(catalog.Path(env), cat.String())
	f.put("goldenpath/"+env+"/rds/master", pg.MasterSecret())
	var logs bytes.Buffer
	if _, err := provision.Run(context.Background(), provision.Options{
		Env: env, TfvarsPath: filepath.Join(f.dir, "terraform.tfvars"), SSLMode: "disable", SkipPreflight: true,
		Getenv: func(string) string { return "" }, Log: &logs,
	}); err != nil {
		t.Fatalf("provision: %v\n%s", err, logs.String())
	}
	return f
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	path := filepath.Join(f.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) put(name string, value any) {
	f.t.Helper()
	raw, _ := json.Marshal(value)
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))})
	if err != nil && strings.Contains(err.Error(), "ResourceExists") {
		_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(raw))})
	}
	if err != nil {
		f.t.Fatalf("seed secret %s: %v", name, err)
	}
}

func (f *fixture) secret(key string) string { return "goldenpath/" + f.env + "/" + key + "/postgres" }

// outcome is one rotate run's result and output.
type outcome struct {
	res    Result
	err    error
	csv    string
	log    string
	masked []string
}

func (f *fixture) options() Options {
	return Options{
		Env: f.env, TfvarsPath: filepath.Join(f.dir, "terraform.tfvars"), RepoRoot: f.dir,
		SSLMode: "disable", Now: now, Random: nil,
	}
}

func (f *fixture) rotate(mutate ...func(*Options)) outcome {
	f.t.Helper()
	opts := f.options()
	for _, m := range mutate {
		m(&opts)
	}
	var out outcome
	var csv, log bytes.Buffer
	opts.Audit = audit.NewLog()
	if err := opts.Audit.AddSink(&csv, true); err != nil {
		f.t.Fatal(err)
	}
	opts.Log = &log
	opts.Mask = func(s string) { out.masked = append(out.masked, s) }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out.res, out.err = Run(ctx, opts)
	out.csv, out.log = csv.String(), log.String()
	return out
}

// rows lists "user:status" of the rotate_secret rows.
func (o outcome) rows() []string {
	var s []string
	for _, r := range o.res.Rows {
		s = append(s, r.Username+":"+string(r.Status))
	}
	return s
}

// version reads a secret version by stage, as the tests must: moto 5.2.1
// leaves GetSecretValue without a stage (and BatchGetSecretValue) on the
// old version after UpdateSecretVersionStage moves AWSCURRENT, where real
// Secrets Manager returns the new one.
func version(t *testing.T, id, stage string) (versionID, password string) {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatalf("read %s %s: %v", id, stage, err)
	}
	var v struct{ Password string }
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId), v.Password
}

// stages maps each version of a secret to its labels.
func stages(t *testing.T, id string) map[string][]string {
	t.Helper()
	out, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.VersionIdsToStages
}

// logsIn reports whether user logs in to db with password.
func logsIn(user, password, db string) bool {
	conn, err := pgx.Connect(context.Background(), pg.URL(user, password, db))
	if err != nil {
		return false
	}
	conn.Close(context.Background())
	return true
}

// rotator is what a run or the rotation function uses, for the tests that
// stop after a step.
func rotator(t *testing.T) (*Rotator, *DB) {
	t.Helper()
	c, err := secrets.NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		t.Fatal(err)
	}
	master := secrets.Master{Host: pg.Host, Port: pg.Port, Username: pg.MasterUser, Password: pg.MasterPassword, DBName: pg.MasterDB}
	db := &DB{Master: master, SSLMode: "disable", StatementTimeout: time.Minute, LockTimeout: time.Minute, Random: rand.Reader}
	return &Rotator{Secrets: c, DB: db}, db
}
