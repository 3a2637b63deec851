package cli

import (
	"context"
	"flag"

	"github.com/goldenpath/rds-provision/internal/action"
)

// runAction runs rds-provision as a GitHub Action: the "mode" input
// (INPUT_MODE) picks request or provision, and internal/action runs the same
// request.Run and provision.Run as the command line, reporting through the
// Actions runtime (outputs, job summary, annotations, masks, PR comment).
// action.yml passes "action" as the container's argument.
func runAction(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("action", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		env.Stderr.Write([]byte("Usage: rds-provision action\n\n" +
			"Runs as a GitHub Action step: inputs come from INPUT_* variables (mode,\n" +
			"environment, database_name, ...; see action.yml), results go to\n" +
			"GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.\n"))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("action takes no arguments; set the inputs in the workflow step")
	}
	return action.Run(ctx, action.Options{
		Getenv: env.Getenv,
		Stdout: env.Stdout, // the job log: workflow commands and log lines in one ordered stream
		Now:    env.Now,
	})
}
