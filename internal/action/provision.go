package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/report"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// DefaultSSLRootCert is where the image keeps the AWS RDS global CA bundle.
const DefaultSSLRootCert = "/etc/ssl/certs/rds-global-bundle.pem"

// provisionInputs are the provision mode's inputs, parsed.
type provisionInputs struct {
	env, repoRoot, masterSecret, secretPrefix, region, buildID, runID string
	mode                                                              tfvars.Mode
	sslMode, sslRootCert, auditOutput                                 string
	dryRun, requireApproval, failFast, commentOnPR                    bool
	// parallel is provision.Options.Parallel; 0 = its default.
	parallel int
	// githubEnvironment is the job's GitHub Environment, checked for
	// protection rules; allowUnprotected opts out of that check.
	githubEnvironment                     string
	allowUnprotected, updateCatalogStatus bool
	// auditArtifact names the artifact a later step uploads auditOutput
	// as; the reports link it when the CSV does not fit in them.
	auditArtifact string
}

func (rt *runtime) provisionInputs() (provisionInputs, error) {
	in := provisionInputs{
		env:          rt.input("environment"),
		repoRoot:     rt.input("repo_root"),
		masterSecret: rt.input("master_secret"),
		secretPrefix: rt.input("secret_prefix"),
		region:       rt.input("region"),
		buildID:      rt.input("build_id"),
		runID:        rt.input("run_id"),
		sslMode:      rt.input("sslmode"),
		sslRootCert:  rt.input("sslrootcert"),
		auditOutput:  rt.input("audit_output"),
	}
	in.auditArtifact = rt.input("audit_artifact")
	var errs []error
	// Environment names end up in file names, comment markers and secret
	// paths: the same rule as the command line's --env.
	if naming.CheckEnvironment(in.env) != nil {
		errs = append(errs, rt.inputError("environment", fmt.Sprintf("is %q: want an environment name such as dev, test, staging or prod", in.env)))
	}
	mode, err := tfvars.ParseMode(rt.input("rds_mode"))
	if err != nil {
		errs = append(errs, rt.inputError("rds_mode", err.Error()))
	}
	in.mode = mode
	if in.repoRoot == "" {
		in.repoRoot = "."
	}
	if in.buildID == "" {
		in.buildID = rt.opts.Getenv("GITHUB_RUN_NUMBER")
	}
	if in.runID == "" {
		in.runID = rt.opts.Getenv("GITHUB_RUN_ID")
	}
	for _, b := range []struct {
		name string
		def  bool
		dst  *bool
	}{
		{"dry_run", false, &in.dryRun},
		{"require_approval", true, &in.requireApproval},
		{"fail_fast", true, &in.failFast},
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
	if v := rt.input("parallel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > provision.MaxParallel {
			errs = append(errs, rt.inputError("parallel", fmt.Sprintf("is %q: want a number from 1 (serial) to %d", v, provision.MaxParallel)))
		}
		in.parallel = n
	}
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
	if in.sslRootCert == "" || in.sslRootCert == DefaultSSLRootCert {
		in.sslRootCert = DefaultSSLRootCert
		if _, err := os.Stat(in.sslRootCert); err != nil {
			in.sslRootCert = ""
		}
	}
	return in, errors.Join(errs...)
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

	res, runErr := provision.Run(ctx, provision.Options{
		Env:             in.env,
		RepoRoot:        rt.workspacePath(in.repoRoot),
		Mode:            in.mode,
		MasterSecret:    in.masterSecret,
		SecretPrefix:    in.secretPrefix,
		Region:          in.region,
		BuildID:         in.buildID,
		RunID:           in.runID,
		DryRun:          in.dryRun,
		RequireApproval: in.requireApproval,
		NoFailFast:      !in.failFast,
		Parallel:        in.parallel,
		SSLMode:         in.sslMode,
		SSLRootCert:     in.sslRootCert,
		Getenv:          rt.opts.Getenv,
		Now:             rt.opts.Now,
		Audit:           log,
		Log:             rt.opts.Stdout,
		Mask: func(secret string) {
			log.Redact(secret)
			rt.mask(secret)
		},
		Secrets: rt.opts.Secrets,
	})
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
