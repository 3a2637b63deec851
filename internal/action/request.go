package action

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/goldenpath/rds-provision/internal/report"
	"github.com/goldenpath/rds-provision/internal/request"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// request runs request mode and reports it.
func (rt *runtime) request(ctx context.Context) error {
	form := request.Form{
		RequestType:   rt.input(request.FieldRequestType),
		DatabaseName:  rt.input(request.FieldDatabaseName),
		Username:      rt.input(request.FieldUsername),
		AccessLevel:   rt.input(request.FieldAccessLevel),
		Owner:         rt.input(request.FieldOwner),
		User:          asciiLower(rt.input(request.FieldUser)), // logins are case-insensitive; github.actor keeps case
		Domain:        rt.input(request.FieldDomain),
		Environment:   rt.input(request.FieldEnvironment),
		Risk:          rt.input(request.FieldRisk),
		Size:          rt.input(request.FieldSize),
		InitialSchema: rt.input(request.FieldInitialSchema),
		BaseBranch:    rt.input(request.FieldBaseBranch),
	}
	dryRun, err := rt.boolInput("dry_run", false)
	if err != nil {
		return err
	}
	mode, err := tfvars.ParseMode(rt.input("rds_mode"))
	if err != nil {
		return rt.inputError("rds_mode", err.Error())
	}
	// Who dispatched: the form's user must be that person, unless a bot
	// (Backstage's GitHub App) passed the requester's login.
	dispatch := request.Dispatch{Actor: rt.opts.Getenv("GITHUB_ACTOR"), TriggeringActor: rt.opts.Getenv("GITHUB_TRIGGERING_ACTOR")}
	shown := form.WithDefaults()
	rep := report.Request{DryRun: dryRun, Fields: []report.Field{{Name: request.FieldBaseBranch, Value: shown.BaseBranch}}}
	for _, kv := range shown.Used() {
		if kv[0] != request.FieldBaseBranch {
			rep.Fields = append(rep.Fields, report.Field{Name: kv[0], Value: kv[1]})
		}
	}

	opts := request.Options{
		Form:         form,
		RepoRoot:     rt.workspacePath(firstNonEmpty(rt.input("repo_root"), ".")),
		Mode:         mode,
		SecretPrefix: rt.input("secret_prefix"),
		DryRun:       dryRun,
		Dispatch:     dispatch,
		Now:          rt.opts.Now,
		Stdout:       rt.opts.Stdout,
		Stderr:       rt.opts.Stdout,
	}
	// The files are read from the head of base_branch through the API, so
	// a dry run previews exactly what a real run would propose.
	client, err := rt.github()
	if err != nil {
		rep.Err = err.Error()
		rt.annotate("error", annotation{Title: "rds-provision: github_token", Message: err.Error()})
		rt.addSummary(report.RequestSummary(rep))
		return err
	}
	opts.GitHub = client

	res, runErr := request.Run(ctx, opts)
	rep.Changed, rep.Branch = res.Changed, res.Branch
	rep.PRNumber, rep.PRURL = res.PRNumber, res.PRURL
	rep.Diff, rep.Body = res.Diff, res.Body
	if p := res.Plan; p != nil {
		rep.ReviewTeam, rep.ReviewWhy, rep.ReviewRefused = p.Review.Team, p.Review.Why, p.Review.Refused
		if p.HasInstances() {
			rep.Instance = p.Instance
		}
		if p.Placement != nil {
			rep.Placement = p.Placement.Summary()
		}
		for _, n := range p.Notices {
			rep.Unused = append(rep.Unused, n.String())
		}
		if len(p.Notices) > 0 {
			rt.annotate("notice", annotation{Title: "rds-provision: unused fields", Message: fmt.Sprintf("Not used by request_type %s, so ignored: %s", p.Form.RequestType, joinNotices(p.Notices))})
		}
		switch {
		case p.Review.Refused != "":
			rt.annotate("warning", annotation{Title: "rds-provision: review", Message: fmt.Sprintf("The owning team %s could not be asked to review pull request #%d: %s", p.Review.Team, res.PRNumber, p.Review.Refused)})
		case p.Review.Team == "" && p.Form.RequestType != request.TypeCreate && runErr == nil:
			rt.annotate("warning", annotation{Title: "rds-provision: review", Message: "No owning team asked to review: " + p.Review.Why})
		}
	}

	var invalid *request.ValidationError
	switch {
	case errors.As(runErr, &invalid):
		for _, p := range invalid.Problems {
			rep.Problems = append(rep.Problems, report.Problem{Field: p.Field, Value: p.Value, Rule: p.Rule})
			a := annotation{Title: "Invalid " + p.Field, Message: p.String()}
			a.File, a.Line = rt.workflowInputLine(p.Field)
			rt.annotate("error", a)
		}
	case runErr != nil:
		rep.Err = rt.scrub(runErr.Error())
		rt.annotate("error", rt.errorAnnotation("rds-provision request", runErr, rep.Err))
	}
	rt.addSummary(report.RequestSummary(rep))

	number := ""
	if res.PRNumber > 0 {
		number = strconv.Itoa(res.PRNumber)
	}
	rt.setOutputs(
		"pr_number", number,
		"pr_url", res.PRURL,
		"branch", res.Branch,
		"changed", strconv.FormatBool(res.Changed && runErr == nil),
	)
	switch {
	case runErr != nil:
		return fmt.Errorf("request: %w", runErr)
	case dryRun:
		rt.gha.Infof("Dry run: nothing written, no pull request opened.")
	case res.PRURL != "":
		rt.gha.Infof("Pull request #%d: %s", res.PRNumber, res.PRURL)
	default:
		rt.gha.Infof("No change: %s already holds the %s request for %s in %s.", shown.BaseBranch, shown.RequestType, shown.DatabaseName, shown.Environment)
	}
	return nil
}

func joinNotices(ns []request.Notice) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	return strings.Join(out, ", ")
}

// workflowInputLine finds where the running workflow declares input field,
// so a validation annotation lands on the form field in the workflow file.
// It returns the workflow's path (relative to the repository) and the line,
// or a zero line when the file is not checked out; "" when unknown.
func (rt *runtime) workflowInputLine(field string) (string, int) {
	ref := rt.opts.Getenv("GITHUB_WORKFLOW_REF") // owner/repo/.github/workflows/x.yml@refs/heads/main
	repo := rt.opts.Getenv("GITHUB_REPOSITORY")
	if ref == "" || repo == "" || !strings.HasPrefix(ref, repo+"/") {
		return "", 0
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(ref, repo+"/"), "@")
	f, err := os.Open(rt.workspacePath(path))
	if err != nil {
		return path, 0
	}
	defer f.Close()
	re := regexp.MustCompile(`^\s+` + regexp.QuoteMeta(field) + `:\s*$`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if re.MatchString(sc.Text()) {
			return path, n
		}
	}
	return path, 0
}

// asciiLower lower-cases A-Z only, so no other character can turn into a
// valid one (the Kelvin sign lower-cases to k).
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
