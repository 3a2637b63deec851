package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goldenpath/rds-provision/internal/changes"
)

const changesUsage = `Usage: rds-provision changes --before REV --after REV [--repo-root DIR] [--by-instance] [--output FILE]
       rds-provision changes --before-dir DIR --after-dir DIR [--by-instance] [--output FILE]

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

With --before and --after, both revisions are read with git (git ls-tree,
git cat-file): they must be in the clone (actions/checkout with
fetch-depth: 0). --before 0000000000000000000000000000000000000000,
GitHub's "before" of a new branch, means nothing before: every environment
with databases is listed.

With --before-dir and --after-dir, two checkouts (the infra repository's
root at each side, e.g. a git worktree of the old revision) are read
without git, as the image does, which has no git; an empty --before-dir
means nothing before. Files are read only inside the two directories: a
symlink that resolves outside is an error.

  $ git worktree add --detach old "$BEFORE"
  $ rds-provision changes --before-dir old --after-dir . --output changes.json

--by-instance prints the changed instances instead, as a JSON list of
environment and instance pairs (a matrix's include list), for an
environment whose tfvars declares several instances (rds_instances): the
instances whose entries, catalog entries, master_secret or endpoint
differ. An instance is "" for an environment without rds_instances (its one
implicit instance), or when a side's tfvars does not parse and its
instances cannot be told:

  $ rds-provision changes --by-instance --before "$BEFORE" --after "$GITHUB_SHA"
  [{"environment":"dev","instance":""},{"environment":"prod","instance":"shared-large-1"}]

--output also writes the list to FILE (replaced whole, or not at all).

Exit status: 0 with the list, 1 when a revision or directory cannot be
read, 2 for a usage error.

Flags:
`

// changesOptions is what the changes command parsed.
type changesOptions struct {
	Changes changes.Options
	// Output also receives the list (--output), replaced whole.
	Output string
	// ByInstance lists environment and instance pairs (--by-instance)
	// instead of environments.
	ByInstance bool
	Stdout     io.Writer
}

func runChanges(ctx context.Context, args []string, env Env) error {
	return changesCommand(ctx, args, env, changesRun)
}

// changesCommand parses the changes command's flags into changesOptions
// and hands them to runF: changesRun, or in flag tests a function that
// keeps them, so those tests run no git.
func changesCommand(ctx context.Context, args []string, env Env, runF func(context.Context, *changesOptions) error) error {
	fs := flag.NewFlagSet("changes", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, env))
	var opts changes.Options
	var output string
	fs.StringVar(&opts.Before, "before", "", "revision before the change: a SHA, branch or tag (required unless --before-dir; all zeros means none)")
	fs.StringVar(&opts.After, "after", "HEAD", "revision after the change")
	fs.StringVar(&opts.RepoRoot, "repo-root", ".", "infra repository root (inside a git clone holding both revisions)")
	fs.StringVar(&opts.BeforeDir, "before-dir", "", "infra repository root as it was before, read without git (empty directory: nothing before)")
	fs.StringVar(&opts.AfterDir, "after-dir", "", "infra repository root as it is after, read without git")
	fs.StringVar(&output, "output", "", "also write the JSON list to this `file`")
	byInstance := fs.Bool("by-instance", false, `list the changed instances as {"environment","instance"} pairs instead of environments`)
	if err := parseFlags(fs, args, changesUsage); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["output"] && output == "" {
		return usageErrorf("--output must not be empty")
	}
	if set["before-dir"] || set["after-dir"] {
		for _, name := range []string{"before", "after", "repo-root"} {
			if set[name] {
				return usageErrorf("--%s cannot be used with --before-dir/--after-dir: compare two revisions or two directories", name)
			}
		}
		opts.Before, opts.After, opts.RepoRoot = "", "", ""
		for _, d := range []struct{ flag, dir string }{{"before-dir", opts.BeforeDir}, {"after-dir", opts.AfterDir}} {
			if d.dir == "" {
				return usageErrorf("--%s is required with --before-dir/--after-dir (an empty directory for nothing before)", d.flag)
			}
			if fi, err := os.Stat(d.dir); err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return usageErrorf("--%s %s: %v", d.flag, d.dir, err)
			} else if !fi.IsDir() {
				return usageErrorf("--%s %s is not a directory", d.flag, d.dir)
			}
		}
	} else {
		if opts.Before == "" {
			return usageErrorf("--before is required (a revision, or %s for none), or --before-dir and --after-dir", changes.ZeroRev)
		}
		if opts.After == "" {
			return usageErrorf("--after must not be empty")
		}
	}
	return runF(ctx, &changesOptions{Changes: opts, Output: output, ByInstance: *byInstance, Stdout: env.Stdout})
}

// changesRun prints the environments whose RDS entries changed, or their
// instances that did.
func changesRun(ctx context.Context, o *changesOptions) error {
	output := o.Output
	var list any
	if o.ByInstance {
		pairs, err := changes.Instances(ctx, o.Changes)
		if err != nil {
			return err
		}
		if pairs == nil {
			pairs = []changes.EnvInstance{}
		}
		list = pairs
	} else {
		envs, err := changes.Environments(ctx, o.Changes)
		if err != nil {
			return err
		}
		if envs == nil {
			envs = []string{}
		}
		list = envs
	}
	out, err := json.Marshal(list)
	if err != nil {
		return err
	}
	out = append(out, '\n')
	if output != "" {
		if err := writeWhole(output, out); err != nil {
			return fmt.Errorf("write --output %s: %w", output, err)
		}
	}
	_, err = o.Stdout.Write(out)
	return err
}

// writeWhole replaces file with data through a temporary file beside it,
// so a reader never sees a half-written list.
func writeWhole(file string, data []byte) error {
	t, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".rds-provision-*")
	if err != nil {
		return err
	}
	_, err = t.Write(data)
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(t.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(t.Name(), file)
	}
	if err != nil {
		os.Remove(t.Name())
	}
	return err
}
