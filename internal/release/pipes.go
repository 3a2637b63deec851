package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// earlyExitRE matches a pipe (not ||) into a reader that may exit before
// its writer is done: head, grep -q / --quiet / -m N / --max-count, sed
// with a q command. Under set -o pipefail (GitHub's `shell: bash`, .ci/run,
// scripts/*.sh) the writer then dies of SIGPIPE (exit 141) whenever it
// writes after the reader left, and the step fails by timing: `terraform
// version | head -1` did so in .ci/run under load.
var earlyExitRE = regexp.MustCompile(`(?:^|[^|])\|[ \t]*(?:head\b|grep\b[^|;&]*[ \t](?:-[A-Za-z]*[qm]|--quiet|--silent|--max-count)|sed\b[^|;&]*\dq\b)`)

// ScriptFiles are the files whose shell CI or a caller's workflow runs:
// .ci/run, scripts/*.sh, the Makefile, the workflows and the examples.
func ScriptFiles(root string) ([]string, error) {
	return globFiles(root, ".ci/run", "scripts/*.sh", "Makefile", ".github/workflows/*.yml", ".github/workflows/*.yaml", "examples/*.yml", "examples/*.yaml")
}

// CheckPipes reports every pipeline in ScriptFiles that can fail on
// SIGPIPE (see earlyExitRE). Read the output whole first (v="$(cmd)",
// then "${v%%$'\n'*}" for its first line) or let the command stop itself
// (grep -m 1 PATTERN FILE).
func CheckPipes(root string) error {
	files, err := ScriptFiles(root)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no scripts found under %s", root)
	}
	return checkFiles(root, files, checkPipesIn)
}

// globFiles lists the files under root that match patterns, in order.
func globFiles(root string, patterns ...string) ([]string, error) {
	var files []string
	for _, pattern := range patterns {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	return files, nil
}

// checkFiles runs check on each file's text, named relative to root.
func checkFiles(root string, files []string, check func(name, text string) []error) error {
	var errs []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rel, _ := filepath.Rel(root, f)
		errs = append(errs, check(filepath.ToSlash(rel), string(raw))...)
	}
	return errors.Join(errs...)
}

func checkPipesIn(name, text string) []error {
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		code := strings.TrimSpace(line)
		if strings.HasPrefix(code, "#") {
			continue
		}
		if earlyExitRE.MatchString(code) {
			errs = append(errs, fmt.Errorf("%s:%d: %s: a pipe into a reader that may exit early fails under pipefail when the writer gets SIGPIPE (exit 141); read the output whole first, or use the command's own limit (grep -m 1 PATTERN FILE)", name, i+1, code))
		}
	}
	return errs
}
