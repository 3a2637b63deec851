package action

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"github.com/goldenpath/rds-provision/internal/report"
)

// The plan comment: one per pull request, holding one section per
// environment (internal/report renders and merges the sections). Each
// environment's dry-run job replaces its own section and keeps the others,
// so the reviewer reads every environment's plan in one place, and a rerun
// edits the comment instead of adding one.

// planPullRequest is the pull request a dry run reports its plan on: the one
// a pull_request or pull_request_target event names; 0 for other events.
func (rt *runtime) planPullRequest() int {
	switch rt.opts.Getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_target":
		return eventPullRequest(rt.opts.Getenv("GITHUB_EVENT_PATH"))
	}
	return 0
}

// eventHeadSHA is the head commit of the pull request the event names, to
// say which commit a plan describes; "" when the event has none.
func eventHeadSHA(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var ev struct {
		PullRequest *struct {
			Head struct {
				SHA string `json:"sha"`
			} `json:"head"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.PullRequest == nil || !shaRE.MatchString(ev.PullRequest.Head.SHA) {
		return ""
	}
	return ev.PullRequest.Head.SHA
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// commentPlan puts this environment's plan in the pull request's plan
// comment, creating the comment on the first run and editing it after. It
// returns the comment's URL, or "" when commenting failed, which is a
// warning: the plan is in the job summary anyway.
func (rt *runtime) commentPlan(ctx context.Context, number int, r report.Provision) string {
	warn := func(format string, args ...any) string {
		rt.annotate("warning", annotation{Title: "rds-provision: pull request comment", Message: fmt.Sprintf(format, args...)})
		return ""
	}
	client, err := rt.commenter(ctx)
	if err != nil {
		return warn("Not commenting the plan on the pull request: %v", err)
	}
	section := report.PlanSection(r)
	// current is the body of the tool's own plan comment only (the token's
	// account wrote it): a forged copy of the marker contributes no section.
	url, updated, err := client.UpsertCommentWith(ctx, number, report.PlanMarker, func(current string) string {
		return report.MergePlanComment(current, r.Environment, section)
	})
	if url, ok := rt.otherAuthor(url, err); ok {
		return url
	}
	if err != nil {
		return warn("Could not comment the plan on pull request #%d: %v", number, err)
	}
	verb := "Posted"
	if updated {
		verb = "Updated"
	}
	rt.gha.Infof("%s the %s plan on pull request #%d: %s", verb, r.Environment, number, url)
	return url
}
