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
	return actionCommand(ctx, args, env, func(ctx context.Context, o *action.Options) error { return action.Run(ctx, *o) })
}

// actionCommand checks that the action command has no arguments and hands
// the action's options to runF: action.Run, or in flag tests a function
// that keeps them.
func actionCommand(ctx context.Context, args []string, env Env, runF func(context.Context, *action.Options) error) error {
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
	return runF(ctx, &action.Options{
		Getenv: env.Getenv,
		Stdout: env.Stdout, // the job log: workflow commands and log lines in one ordered stream
		Now:    env.Now,
	})
}
