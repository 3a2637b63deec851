package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/goldenpath/rds-provision/internal/changes"
)

const changesUsage = `Usage: rds-provision changes --before REV --after REV [--repo-root DIR]

Prints, as a JSON list on standard output, the environments whose RDS
databases differ between two revisions of the infra repository: the parsed
application_databases entries (standalone envs/<env>-rds or coupled
envs/<env> with rds_config, picked as provision's auto mode picks them) and
the catalog entries (rds-catalog.yaml for dev, rds-catalog-<env>.yaml for
the others; a shared catalog's entry belongs to its metadata.environment).
An edit that changes neither (a node count, a comment, a catalog status)
names nothing:

  $ rds-provision changes --before "$BEFORE" --after "$GITHUB_SHA"
  ["dev","test"]

Both revisions are read with git (git ls-tree, git cat-file): they must be
in the clone (actions/checkout with fetch-depth: 0). --before
0000000000000000000000000000000000000000, GitHub's "before" of a new
branch, means nothing before: every environment with databases is listed.

Exit status: 0 with the list, 1 when a revision cannot be read, 2 for a
usage error.

Flags:
`

func runChanges(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("changes", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var opts changes.Options
	fs.StringVar(&opts.Before, "before", "", "revision before the change: a SHA, branch or tag (required; all zeros means none)")
	fs.StringVar(&opts.After, "after", "HEAD", "revision after the change")
	fs.StringVar(&opts.RepoRoot, "repo-root", ".", "infra repository root (inside a git clone holding both revisions)")
	if err := parseFlags(fs, args, changesUsage); err != nil {
		return err
	}
	if opts.Before == "" {
		return usageErrorf("--before is required (a revision, or %s for none)", changes.ZeroRev)
	}
	if opts.After == "" {
		return usageErrorf("--after must not be empty")
	}
	envs, err := changes.Environments(ctx, opts)
	if err != nil {
		return err
	}
	if envs == nil {
		envs = []string{}
	}
	out, err := json.Marshal(envs)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
	return err
}
