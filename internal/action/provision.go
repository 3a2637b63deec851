package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/report"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// DefaultSSLRootCert is where the image keeps the AWS RDS global CA bundle.
const DefaultSSLRootCert = "/etc/ssl/certs/rds-global-bundle.pem"

// provisionInputs are the provision mode's inputs, parsed.
type provisionInputs struct {
	// options are the inputs provision takes, defaulted and checked by
	// provision.Options.Validate, as the command line's are; the run adds
	// its seams (log, audit, mask, secrets) to them.
	options provision.Options
	// env, buildID, runID, dryRun and requireApproval are those options as
	// the gate and the reports read them.
	env, buildID, runID     string
	dryRun, requireApproval bool
	repoRoot, auditOutput   string
	commentOnPR             bool
	// githubEnvironment is the job's GitHub Environment, checked for
	// protection rules; allowUnprotected opts out of that check.
	githubEnvironment                     string
	allowUnprotected, updateCatalogStatus bool
	// auditArtifact names the artifact a later step uploads auditOutput
	// as; the reports link it when the CSV does not fit in them.
	auditArtifact string
}

// optionInputs names the inputs of the provision.Options fields that
// Validate may refuse.
var optionInputs = map[string]string{
	"Env": "environment", "SSLMode": "sslmode", "Parallel": "parallel",
}

func (rt *runtime) provisionInputs() (provisionInputs, error) {
	in := provisionInputs{
		repoRoot:    rt.input("repo_root"),
		auditOutput: rt.input("audit_output"),
	}
	opts := provision.Options{
		Env:          rt.input("environment"),
		MasterSecret: rt.input("master_secret"),
		SecretPrefix: rt.input("secret_prefix"),
		Region:       rt.input("region"),
		BuildID:      cmp.Or(rt.input("build_id"), rt.opts.Getenv("GITHUB_RUN_NUMBER")),
		RunID:        cmp.Or(rt.input("run_id"), rt.opts.Getenv("GITHUB_RUN_ID")),
		SSLMode:      rt.input("sslmode"),
		SSLRootCert:  rt.input("sslrootcert"),
	}
	in.auditArtifact = rt.input("audit_artifact")
	var errs []error
	mode, err := tfvars.ParseMode(rt.input("rds_mode"))
	if err != nil {
		errs = append(errs, rt.inputError("rds_mode", err.Error()))
	}
	opts.Mode = mode
	if in.repoRoot == "" {
		in.repoRoot = "."
	}
	opts.RepoRoot = rt.workspacePath(in.repoRoot)
	var failFast bool
	for _, b := range []struct {
		name string
		def  bool
		dst  *bool
	}{
		{"dry_run", false, &opts.DryRun},
		{"require_approval", true, &opts.RequireApproval},
		{"fail_fast", true, &failFast},
		{"comment_on_pr", true, &in.commentOnPR},
		{"allow_unprotected_environment", false, &in.allowUnprotected},
		{"update_catalog_status", true, &in.updateCatalogStatus},
	} {
		v, err := rt.boolInput(b.name, b.def)
		if err != nil {
			errs = append(errs, err)
		}
		*b.dst = v
	}
	opts.NoFailFast = !failFast
	if v := rt.input("parallel"); v != "" {
		// A typed 0 (or no number) is a mistake, not the default: provision's
		// own rule says what the input takes.
		n, _ := strconv.Atoi(v)
		if err := provision.CheckParallel(n); err != nil {
			errs = append(errs, rt.optionError(err, v))
		} else {
			opts.Parallel = n
		}
	}
	// Environment names end up in file names, comment markers and secret
	// paths: Validate applies the same rule as the command line's --env.
	if err := opts.Validate(); err != nil {
		errs = append(errs, rt.optionErrors(err, map[string]string{
			"Env": opts.Env, "SSLMode": rt.input("sslmode"), "Parallel": rt.input("parallel"),
		}))
	}
	in.options = opts
	in.env, in.buildID, in.runID = opts.Env, opts.BuildID, opts.RunID
	in.dryRun, in.requireApproval = opts.DryRun, opts.RequireApproval
	if in.githubEnvironment = rt.input("github_environment"); in.githubEnvironment == "" {
		in.githubEnvironment = in.env
	}
	if !validEnvironmentName(in.githubEnvironment) {
		errs = append(errs, rt.inputError("github_environment", fmt.Sprintf("is %q: want the name of the job's GitHub Environment", in.githubEnvironment)))
	}
	if slug := rt.input("github_app_slug"); gh.CheckAppSlug(slug) != nil {
		errs = append(errs, rt.inputError("github_app_slug", fmt.Sprintf("is %q: %v", slug, gh.CheckAppSlug(slug))))
	}
	if strings.ContainsAny(in.auditArtifact, "\":<>|*?\\/\r\n") || strings.ContainsFunc(in.auditArtifact, unicode.IsControl) {
		errs = append(errs, rt.inputError("audit_artifact", fmt.Sprintf("is %q: an artifact name has none of \" : < > | * ? \\ / nor line breaks", in.auditArtifact)))
	}
	if in.auditOutput == "" && in.env != "" {
		in.auditOutput = "rds-provision-audit-" + in.env + ".csv"
	}
	// The image's CA bundle is the default, also when the input is empty
	// (a `uses: docker://` step has no action.yml defaults); outside the
	// image (a runner without it) the system roots apply instead.
	if in.options.SSLRootCert == "" || in.options.SSLRootCert == DefaultSSLRootCert {
		in.options.SSLRootCert = DefaultSSLRootCert
		if _, err := os.Stat(in.options.SSLRootCert); err != nil {
			in.options.SSLRootCert = ""
		}
	}
	return in, errors.Join(errs...)
}

// optionErrors annotates each option provision.Options.Validate refused
// as the input that gave it; raw holds the inputs as given, by field.
func (rt *runtime) optionErrors(err error, raw map[string]string) error {
	var out []error
	for _, e := range unjoin(err) {
		out = append(out, rt.optionError(e, raw[optionField(e)]))
	}
	return errors.Join(out...)
}

// optionError annotates one refused option as its input, given as raw.
func (rt *runtime) optionError(err error, raw string) error {
	var oe *provision.OptionError
	if !errors.As(err, &oe) || optionInputs[oe.Field] == "" {
		return err
	}
	return rt.inputError(optionInputs[oe.Field], fmt.Sprintf("is %q: %s", raw, oe.Want))
}

func optionField(err error) string {
	var oe *provision.OptionError
	if errors.As(err, &oe) {
		return oe.Field
	}
	return ""
}

// unjoin lists the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// provision runs provision mode and reports it.
func (rt *runtime) provision(ctx context.Context) error {
	in, err := rt.provisionInputs()
	if err != nil {
		return err
	}

	gate, err := rt.checkEnvironment(ctx, in)
	if err != nil {
		return rt.refuseProvision(in, err)
	}
	if gate.Unprotected != "" {
		rt.annotate("warning", annotation{Title: "rds-provision " + in.env + ": no approval", Message: gate.Unprotected})
		rt.addSummary(report.UnprotectedBanner(gate.Unprotected))
	}

	log := audit.NewLog()
	rt.scrub = log.Scrub
	auditPath := rt.workspacePath(in.auditOutput)
	f, header, err := audit.OpenAppend(auditPath)
	if err != nil {
		rt.annotate("error", annotation{Title: "rds-provision: audit_output", Message: err.Error()})
		return err
	}
	defer f.Close()
	if err := log.AddSink(f, header); err != nil {
		return err
	}

	opts := in.options
	opts.Getenv, opts.Now, opts.Secrets = rt.opts.Getenv, rt.opts.Now, rt.opts.Secrets
	opts.Audit, opts.Log = log, rt.opts.Stdout
	// Provision redacts every secret it reads from its rows, log lines and
	// errors itself (Options.Audit); the runner's add-mask covers the rest
	// of the job's log.
	opts.Mask = rt.mask
	res, runErr := provision.Run(ctx, opts)
	rows := log.Rows()

	rep := report.Provision{
		Environment: in.env,
		DryRun:      in.dryRun,
		Rows:        rows,
		TfvarsPath:  rt.relToWorkspace(res.TfvarsPath),
		Mode:        string(res.Mode),
		BuildID:     in.buildID,
		RunID:       in.runID,
		RunURL:      rt.runURL(),
		Artifact:    in.auditArtifact,
	}
	if res.TfvarsPath == "" {
		rep.TfvarsPath = ""
	}
	if runErr != nil && !errors.Is(runErr, provision.ErrActionsFailed) {
		rep.Err = log.Scrub(runErr.Error())
		rt.annotate("error", rt.errorAnnotation("rds-provision "+in.env, runErr, rep.Err))
	}
	rt.annotateRows(res, rows)

	// A dry run on a pull request is its plan: shown in the summary and in
	// the pull request's plan comment, the only GitHub call it makes.
	planPR := 0
	if in.dryRun {
		planPR = rt.planPullRequest()
	}
	if planPR > 0 {
		rep.HeadSHA = eventHeadSHA(rt.opts.Getenv("GITHUB_EVENT_PATH"))
		rt.addSummary(report.PlanSummary(rep))
	} else {
		rt.addSummary(report.ProvisionSummary(rep))
	}
	counts := audit.Count(rows)
	commentURL := ""
	switch {
	case in.commentOnPR && planPR > 0:
		commentURL = rt.commentPlan(ctx, planPR, rep)
	case in.commentOnPR && !in.dryRun:
		commentURL = rt.commentOnPullRequest(ctx, in.env, report.ProvisionComment(rep))
	}
	catalogCommit := ""
	if in.updateCatalogStatus && !in.dryRun && !errors.Is(runErr, provision.ErrApproval) {
		catalogCommit = rt.updateCatalogStatus(ctx, in, res, rows)
	}
	if catalogCommit != "" {
		rt.setOutputs("catalog_commit", catalogCommit)
	}
	rt.setOutputs(
		"audit_csv", rt.relToWorkspace(auditPath),
		"success_count", strconv.Itoa(counts[audit.Success]),
		"no_change_count", strconv.Itoa(counts[audit.NoChange]),
		"warning_count", strconv.Itoa(counts[audit.Warning]),
		"error_count", strconv.Itoa(counts[audit.Error]),
		"dry_run_count", strconv.Itoa(counts[audit.DryRun]),
		"pr_comment_url", commentURL,
	)
	if runErr != nil {
		return fmt.Errorf("provision %s: %w", in.env, runErr)
	}
	return nil
}

// annotateRows puts each error and warning row on the line of its entry in
// the tfvars, where the fix usually goes.
func (rt *runtime) annotateRows(res provision.Result, rows []audit.Row) {
	lines := map[string]int{}
	for _, e := range res.Entries {
		lines[e.DatabaseName+"\x00"+e.Username] = e.Line
	}
	for _, r := range rows {
		level := map[audit.Status]string{audit.Error: "error", audit.Warning: "warning"}[r.Status]
		if level == "" {
			continue
		}
		a := annotation{Title: fmt.Sprintf("%s %s: %s", r.Environment, r.Action, r.Database), Message: r.Message}
		if line := lines[r.Database+"\x00"+r.Username]; line > 0 {
			a.File, a.Line = rt.relToWorkspace(res.TfvarsPath), line
		}
		rt.annotate(level, a)
	}
}

// refuseProvision reports a provisioning refused before it started.
func (rt *runtime) refuseProvision(in provisionInputs, err error) error {
	msg := err.Error()
	rt.annotate("error", annotation{Title: "rds-provision " + in.env, Message: msg})
	rt.addSummary(report.ProvisionSummary(report.Provision{
		Environment: in.env, BuildID: in.buildID, RunID: in.runID, RunURL: rt.runURL(), Err: msg,
	}))
	return fmt.Errorf("provision %s: %w", in.env, err)
}
