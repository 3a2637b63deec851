// Package cli parses the command line of rds-provision and dispatches to the
// mode packages; it maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// Env is everything a command takes from its process, so tests can run the
// whole CLI in-process.
type Env struct {
	Stdin  io.Reader // catalog-status --audit -
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
}

// ErrUsage marks a command-line mistake: exit code 2.
var ErrUsage = errors.New("usage error")

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{"provision", "create roles, databases and grants from application_databases", runProvision},
		{"request", "validate a database request, edit catalog and tfvars, open a pull request", runRequest},
		{"changes", "list the environments whose RDS databases changed between two git revisions or two checkouts", runChanges},
		{"catalog-status", "set the catalog status of a provision run's entries (active or failed) from its audit CSV", runCatalogStatus},
		{"rotate", "rotate app passwords with Secrets Manager's rotation steps (--app KEY, or --due by risk tier)", runRotate},
		{"lambda", "answer Secrets Manager rotation events as a rotation function (AWS Lambda)", runLambda},
		{"action", "run as a GitHub Action step (inputs from INPUT_*, see action.yml)", runAction},
		{"version", "print the version, and the commit it was built from", runVersion},
	}
}

// Run executes args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		// A container started by the Actions runner without arguments is the
		// action; anywhere else, no command is a usage error.
		if env.Getenv != nil && env.Getenv("GITHUB_ACTIONS") == "true" && env.Getenv("INPUT_MODE") != "" {
			return exitCode(env, runAction(ctx, nil, env))
		}
		// On AWS Lambda (provided.al2023) the binary is bootstrap, started
		// without arguments: it is the rotation function.
		if env.Getenv != nil && env.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			return exitCode(env, runLambda(ctx, nil, env))
		}
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(env.Stdout)
		return ExitOK
	case "--version", "-version":
		return exitCode(env, runVersion(ctx, args[1:], env))
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(env, c.run(ctx, args[1:], env))
		}
	}
	fmt.Fprintf(env.Stderr, "[ERROR] unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func exitCode(env Env, err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(env.Stderr, "[ERROR] %v\n", err)
		return ExitUsage
	case errors.Is(err, audit.ErrActionsFailed):
		// The run logged its failures, row by row.
		return ExitError
	default:
		fmt.Fprintf(env.Stderr, "[ERROR] %v\n", err)
		return ExitError
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "rds-provision: self-service PostgreSQL databases on a shared AWS RDS instance.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: rds-provision <command> [flags]")
	fmt.Fprintln(w, "       rds-provision --version")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags:")
	fmt.Fprintf(w, "  %-10s %s\n", "--help", "this help")
	fmt.Fprintf(w, "  %-10s %s\n", "--version", "print the version, and the commit it was built from (as the version command)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'rds-provision <command> --help' for the flags of a command.")
}

// usageErrorf wraps a message as a usage error (exit code 2).
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// parseFlags parses a command's flags, with usage and the flag list as its
// help; a mistake or a stray argument is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, usage string) error {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		printFlags(fs.Output(), fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// printFlags lists a command's flags with the double dash users type.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// helpOutput sends --help to standard output, where users page it, and
// usage after a mistake to standard error.
func helpOutput(args []string, env Env) io.Writer {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return env.Stdout
		case "--":
			return env.Stderr
		}
	}
	return env.Stderr
}
