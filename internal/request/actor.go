package request

import (
	"strings"

	"github.com/goldenpath/rds-provision/internal/naming"
)

// Dispatch is who started a request run in GitHub Actions, as the runner
// tells it (GITHUB_ACTOR, GITHUB_TRIGGERING_ACTOR). The form's user is
// checked against it: a person can only request as themself; a bot
// (Backstage's GitHub App) requests for the person whose login it passes.
type Dispatch struct {
	// Actor dispatched the workflow (github.actor; on a re-run, who
	// dispatched the first attempt). Empty outside GitHub Actions.
	Actor string
	// TriggeringActor started this attempt (github.triggering_actor): a
	// re-run's, when it differs from Actor.
	TriggeringActor string
}

// Bot reports whether a bot dispatched the workflow: a GitHub App's login
// ends in [bot].
func (d Dispatch) Bot() bool { return isBot(d.Actor) }

// Rerun is the login that re-ran the workflow, "" when this attempt was
// started by its dispatcher.
func (d Dispatch) Rerun() string {
	if d.TriggeringActor == "" || strings.EqualFold(d.TriggeringActor, d.Actor) {
		return ""
	}
	return d.TriggeringActor
}

func isBot(login string) bool { return strings.HasSuffix(login, "[bot]") }

// checkUser checks the form's user: a GitHub login, and when a person
// dispatched the workflow, that person. A bot's own login is refused: the
// bot must pass the requester's.
func checkUser(f Form, d Dispatch, add func(field, value, rule string, args ...any)) {
	switch {
	case f.User == "":
		add(FieldUser, f.User, "is required (the requesting GitHub login)")
	case isBot(f.User):
		add(FieldUser, f.User, "is a bot's login: a dispatching bot passes the login of the person who asked (Backstage: the signed-in user's github.com/user-login annotation)")
	default:
		if err := naming.CheckGitHubLogin(f.User); err != nil {
			add(FieldUser, f.User, "%v", err)
			return
		}
		if d.Actor != "" && !d.Bot() && !strings.EqualFold(d.Actor, f.User) {
			add(FieldUser, f.User, "is not who dispatched the workflow (GITHUB_ACTOR %s): a person can only request as themself; only a bot (a login ending in [bot], such as Backstage's GitHub App) passes another person's login", QuoteValue(d.Actor))
		}
	}
}
