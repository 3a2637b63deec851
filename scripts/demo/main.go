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
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"

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

	step("Starting a throwaway PostgreSQL with an RDS-like master (platform_admin: CREATEROLE, CREATEDB, not superuser) and moto_server as AWS Secrets Manager")
	servers, err := testenv.Start(ctx)
	if err != nil {
		return err
	}
	defer servers.Stop()
	fmt.Printf("    PostgreSQL on %s:%d\n", servers.Postgres.Host, servers.Postgres.Port)
	fmt.Printf("    AWS_ENDPOINT_URL_SECRETS_MANAGER=%s\n", servers.Moto.URL)

	step("Seeding secrets for " + infraRepo + " (what make rds-apply would create)")
	if err := seed(ctx, servers); err != nil {
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
		for k, v := range servers.Moto.Env() {
			fmt.Printf("export %s=%s\n", k, v)
		}
		fmt.Printf("bin/rds-provision provision --env dev --tfvars %s --master-secret goldenpath/dev/rds/master --sslmode disable\n", tfvars.StandalonePath(infraRepo, "dev"))
		// The passwords are this throwaway server's, printed so the
		// result can be inspected (\dp, \ddp, has_table_privilege).
		fmt.Printf("psql %q   # the RDS-like master\n", servers.Postgres.MasterURL())
		fmt.Printf("psql %q   # superuser, for inspection only\n", servers.Postgres.AdminURL)
		if servers.Postgres.LogPath != "" {
			fmt.Printf("tail -f %s   # every statement (log_statement = all)\n", servers.Postgres.LogPath)
		}
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

func seed(ctx context.Context, servers *testenv.Servers) error {
	path, mode, err := tfvars.Locate(infraRepo, "dev", tfvars.ModeAuto)
	if err != nil {
		return err
	}
	file, err := tfvars.Load(path, mode)
	if err != nil {
		return err
	}
	secrets := map[string]any{"goldenpath/dev/rds/master": servers.Postgres.MasterSecret()}
	names := []string{"goldenpath/dev/rds/master"}
	for _, e := range file.Entries {
		name := "goldenpath/dev/" + e.Key + "/postgres"
		secrets[name] = map[string]any{"username": e.Username, "password": randomPassword()}
		names = append(names, name)
	}
	for _, name := range names {
		if err := servers.PutSecret(ctx, name, secrets[name]); err != nil {
			return err
		}
		fmt.Printf("    %s\n", name)
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}
