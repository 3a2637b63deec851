package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrUnprotectedEnvironment refuses a non-dev provisioning whose GitHub
// Environment holds nobody back: no required reviewers and no wait timer.
var ErrUnprotectedEnvironment = errors.New("unprotected GitHub Environment")

// approvalGate is the outcome of checking the job's GitHub Environment.
type approvalGate struct {
	// Unprotected is set when the caller opted out with
	// allow_unprotected_environment and the environment has no protection
	// rule; the summary says so loudly.
	Unprotected string
}

// checkEnvironment verifies, before any database or Secrets Manager access,
// that a provisioning which changes a non-dev environment runs behind a
// GitHub Environment that someone must approve. ALLOW_DB_PROVISION=true
// only says the job names an Environment; GitHub creates a missing one
// unprotected, and required reviewers on private repositories need a paid
// plan, so the flag alone proves nothing. A dry run changes nothing and is
// not checked; without ALLOW_DB_PROVISION the provisioning refuses anyway.
func (rt *runtime) checkEnvironment(ctx context.Context, in provisionInputs) (approvalGate, error) {
	if !in.requireApproval || in.env == "dev" || in.dryRun || rt.opts.Getenv("ALLOW_DB_PROVISION") != "true" {
		return approvalGate{}, nil
	}
	name := in.githubEnvironment
	optOut := "set the input allow_unprotected_environment: true to provision without approval (the job summary flags it)"
	client, err := rt.github()
	if err != nil && in.allowUnprotected {
		return approvalGate{Unprotected: fmt.Sprintf("GitHub Environment %q could not be checked (%v) and allow_unprotected_environment is true: nobody approved this run.", name, err)}, nil
	}
	if err != nil {
		return approvalGate{}, fmt.Errorf("%w: cannot check GitHub Environment %q: %v; or %s", ErrUnprotectedEnvironment, name, err, optOut)
	}
	env, err := client.Environment(ctx, name)
	if err != nil {
		if in.allowUnprotected {
			return approvalGate{Unprotected: fmt.Sprintf("GitHub Environment %q could not be checked (%v) and allow_unprotected_environment is true: nobody approved this run.", name, err)}, nil
		}
		return approvalGate{}, fmt.Errorf("%w: cannot check GitHub Environment %q: %v; give the job permissions: actions: read, or %s", ErrUnprotectedEnvironment, name, err, optOut)
	}
	if env.Protected() {
		rule := fmt.Sprintf("%d required reviewer(s)", env.Reviewers)
		if env.Reviewers == 0 {
			rule = fmt.Sprintf("a %d-minute wait timer", env.WaitTimer)
		}
		rt.gha.Infof("GitHub Environment %q is protected (%s): provisioning %s.", name, rule, in.env)
		if env.Reviewers > 0 && !env.PreventSelfReview {
			// Not refused: a team of one cannot do otherwise. But whoever
			// pushed may be the one who approves.
			rt.annotate("warning", annotation{Title: "rds-provision " + in.env + ": self-approval", Message: fmt.Sprintf(
				"GitHub Environment %q lets a required reviewer approve a run they triggered themselves; turn on \"Prevent self-review\" at %s so a second person approves provisioning %s.",
				name, env.SettingsURL, in.env)})
		}
		return approvalGate{}, nil
	}
	problem := "has no protection rule (required reviewers or wait timer)"
	if !env.Exists {
		problem = "does not exist (GitHub creates it, unprotected, when a job names it)"
	}
	if in.allowUnprotected {
		return approvalGate{Unprotected: fmt.Sprintf("GitHub Environment %q %s and allow_unprotected_environment is true: nobody approved this run of %s.", name, problem, in.env)}, nil
	}
	return approvalGate{}, fmt.Errorf("%w: GitHub Environment %q %s, so nobody approves provisioning %s. Add required reviewers or a wait timer at %s (on a private or internal repository, required reviewers and wait timers need GitHub Enterprise), or %s",
		ErrUnprotectedEnvironment, name, problem, in.env, env.SettingsURL, optOut)
}

// validEnvironmentName accepts what GitHub accepts for an environment name:
// up to 255 characters, no control characters.
func validEnvironmentName(s string) bool {
	return s != "" && len(s) <= 255 && strings.TrimSpace(s) == s && !strings.ContainsFunc(s, unicode.IsControl)
}
