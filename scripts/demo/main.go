// Command demo runs rds-provision end to end on local parts: a throwaway
// PostgreSQL with an RDS-like master, moto_server as Secrets Manager, and
// the sample infra repo in testdata/infra. It drives the runbook's own make
// targets (dry run, first run, second run), prints the CSV, and stops what
// it started. With DEMO_KEEP=1 it leaves both servers running and prints
// the environment to use them.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/goldenpath/rds-provision/internal/testenv"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

const infraRepo = "testdata/infra"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	step("Starting a throwaway PostgreSQL with an RDS-like master (platform_admin: CREATEROLE, CREATEDB, not superuser)")
	pg, err := testenv.StartPostgres(ctx, "platform_admin")
	if err != nil {
		return err
	}
	defer pg.Stop()
	fmt.Printf("    PostgreSQL on %s:%d\n", pg.Host, pg.Port)

	step("Starting moto_server as AWS Secrets Manager")
	moto, err := testenv.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer moto.Stop()
	moto.SetEnv()
	fmt.Printf("    AWS_ENDPOINT_URL_SECRETS_MANAGER=%s\n", moto.URL)

	step("Seeding secrets for " + infraRepo + " (what make rds-apply would create)")
	if err := seed(ctx, pg); err != nil {
		return err
	}

	makeArgs := []string{"-s", "ENV=dev", "INFRA_REPO=" + infraRepo, "SSLMODE=disable", "BUILD_ID=demo-01"}
	step("make rds-provision-auto-dry-run ENV=dev")
	if _, err := runMake(append([]string{"rds-provision-auto-dry-run", "RUN_ID=dry-run"}, makeArgs...)); err != nil {
		return err
	}
	step("make rds-provision-auto ENV=dev  (first run: creates roles, databases, grants)")
	first, err := runMake(append([]string{"rds-provision-auto", "RUN_ID=first"}, makeArgs...))
	if err != nil {
		return err
	}
	step("make rds-provision-auto ENV=dev  (second run: nothing to change)")
	second, err := runMake(append([]string{"rds-provision-auto", "RUN_ID=second"}, makeArgs...))
	if err != nil {
		return err
	}
	step("CSV audit of the first run (standard output)")
	fmt.Print(first)
	step("CSV audit of the second run (standard output)")
	fmt.Print(second)

	if os.Getenv("DEMO_KEEP") == "1" {
		step("DEMO_KEEP=1: servers stay up until Ctrl-C. In another shell:")
		for k, v := range moto.Env() {
			fmt.Printf("export %s=%s\n", k, v)
		}
		fmt.Printf("bin/rds-provision provision --env dev --tfvars %s --master-secret goldenpath/dev/rds/master --sslmode disable\n", tfvars.StandalonePath(infraRepo, "dev"))
		<-ctx.Done()
	}
	step("Stopping PostgreSQL and moto_server")
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

// runMake runs a make target, passing its log through and returning the CSV
// it printed on standard output.
func runMake(args []string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command("make", args...)
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(os.Stderr)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("make %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

func seed(ctx context.Context, pg *testenv.Postgres) error {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(tfvars.DefaultRegion))
	if err != nil {
		return err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	path, mode, err := tfvars.Locate(infraRepo, "dev", tfvars.ModeAuto)
	if err != nil {
		return err
	}
	file, err := tfvars.Load(path, mode)
	if err != nil {
		return err
	}
	put := func(name string, value map[string]any) error {
		raw, _ := json.Marshal(value)
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))})
		if err != nil {
			return fmt.Errorf("create secret %s: %w", name, err)
		}
		fmt.Printf("    %s\n", name)
		return nil
	}
	if err := put("goldenpath/dev/rds/master", map[string]any{
		"host": pg.Host, "port": pg.Port, "username": pg.MasterUser,
		"password": pg.MasterPassword, "dbname": pg.MasterDB, "engine": "postgres",
	}); err != nil {
		return err
	}
	for _, e := range file.Entries {
		if err := put("goldenpath/dev/"+e.Key+"/postgres", map[string]any{"username": e.Username, "password": randomPassword()}); err != nil {
			return err
		}
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}
