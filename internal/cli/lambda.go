package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/rotate"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

const lambdaUsage = `Usage: rds-provision lambda [--event FILE]

Runs as a Secrets Manager rotation function on AWS Lambda (runtime
provided.al2023, the binary named bootstrap): each invocation is one step
(createSecret, setSecret, testSecret, finishSecret) of the rotation
RotateSecret started, with the same code as rds-provision rotate, under the
advisory lock provision takes. The app secret must hold username and dbname
besides password; setSecret changes a role only after it accepts the
secret's AWSCURRENT password.

Configuration (the function's environment):
  RDSP_MASTER_SECRET      name or ARN of the RDS master secret (required)
  RDSP_DB_HOST, RDSP_DB_PORT, RDSP_DB_NAME
                          the endpoint, when the master secret is RDS-managed
                          (username and password only); else found with
                          DescribeDBInstances
  RDSP_DB_INSTANCE        the instance identifier, checked first by that lookup
  RDSP_SSLMODE            default verify-full; RDSP_SSLROOTCERT default the
                          RDS CA bundle make lambda packs beside bootstrap
                          (/etc/ssl/certs/rds-global-bundle.pem off Lambda)
  RDSP_LOCK_TIMEOUT       wait for a provision run's lock, default 2m
  RDSP_STATEMENT_TIMEOUT  default 30s
  AWS_REGION              set by Lambda

--event FILE runs one event (JSON: Step, SecretId, ClientRequestToken)
outside Lambda, with the same configuration, and exits: a step by hand.

Flags:
`

func runLambda(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("lambda", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var eventFile string
	fs.StringVar(&eventFile, "event", "", "run this one rotation event (JSON) and exit, outside Lambda")
	if err := parseFlags(fs, args, lambdaUsage); err != nil {
		return err
	}
	inLambda := env.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	if eventFile == "" && !inLambda {
		return errors.New("rds-provision lambda answers Secrets Manager rotation events inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set); outside it, pass --event FILE, or use rds-provision rotate")
	}
	cfg, err := rotate.LambdaConfigFromEnv(env.Getenv)
	if err != nil {
		return err
	}
	region := env.Getenv("AWS_REGION")
	sm, err := secrets.NewAWS(ctx, region)
	if err != nil {
		return err
	}
	rds, err := rdsapi.NewAWS(ctx, region)
	if err != nil {
		return err
	}
	h := &rotate.Handler{Config: cfg, Secrets: sm, RDS: rds, Log: env.Stderr}
	if eventFile == "" {
		lambda.StartWithOptions(h.Handle, lambda.WithContext(ctx))
		return nil
	}
	raw, err := os.ReadFile(eventFile)
	if err != nil {
		return fmt.Errorf("read the event: %w", err)
	}
	var ev rotate.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return usageErrorf("--event %s: not a rotation event (JSON with Step, SecretId, ClientRequestToken): %v", eventFile, err)
	}
	if err := h.Handle(ctx, ev); err != nil {
		return audit.ErrActionsFailed // Handle logged it
	}
	return nil
}
