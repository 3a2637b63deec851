// Package action runs rds-provision as a GitHub Action. It reads the
// action's inputs, runs request or provision mode — the same implementation
// the command line uses — and reports the way GitHub shows it: step outputs,
// a job summary, ::error annotations on the offending field or tfvars line,
// add-mask for every secret value as soon as it is read, and for provision
// one audit comment per environment on the merged pull request.
//
// Everything it takes from the process (environment, output streams, clock,
// network seams) comes in through Options, so tests run it in-process exactly
// as the runner runs the container: INPUT_* variables, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH files.
package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/provision"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Modes of the action's "mode" input.
const (
	ModeRequest   = "request"
	ModeProvision = "provision"
)

// ErrInput marks an invalid action input; it has been annotated already.
var ErrInput = errors.New("invalid action input")

// Options carries what the action takes from its process. Nil seams mean
// the real thing.
type Options struct {
	// Getenv reads the environment: INPUT_*, GITHUB_*, ALLOW_DB_PROVISION.
	Getenv func(string) string
	// Stdout is the job log: workflow commands (add-mask, error) and the
	// human log lines, in one stream so a mask precedes any later output.
	Stdout io.Writer
	Now    func() time.Time

	// Secrets replaces AWS Secrets Manager in provision mode.
	Secrets provision.SecretSource
	// HTTPClient carries GitHub API calls.
	HTTPClient *http.Client
	// Sleep waits between GitHub API retries; tests pass a no-op.
	Sleep func(time.Duration)
}

// runtime is one run of the action.
type runtime struct {
	opts Options
	gha  *githubactions.Action
	// masks registered so far, to skip repeats
	masked map[string]bool
	// scrub removes registered secret values from text we print ourselves
	scrub func(string) string
	// gh is the GitHub client once made: it learns the token's identity
	// once per run.
	gh *gh.Client
}

// Run runs the action in the mode its "mode" input names. Errors have been
// reported as annotations and in the job summary when Run returns them; the
// caller only turns them into a non-zero exit code.
func Run(ctx context.Context, opts Options) error {
	if opts.Getenv == nil {
		return errors.New("action: Options.Getenv is required")
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rt := &runtime{
		opts:   opts,
		gha:    githubactions.New(githubactions.WithGetenv(opts.Getenv), githubactions.WithWriter(opts.Stdout)),
		masked: map[string]bool{},
		scrub:  func(s string) string { return s },
	}
	if tok := rt.input("github_token"); tok != "" {
		rt.mask(tok)
	}
	switch mode := rt.input("mode"); mode {
	case ModeProvision:
		return rt.provision(ctx)
	case ModeRequest:
		return rt.request(ctx)
	case "":
		return rt.inputError("mode", `is required: "request" or "provision"`)
	default:
		return rt.inputError("mode", fmt.Sprintf(`is %q: want "request" or "provision"`, mode))
	}
}

// input reads an action input as the runner passes it (INPUT_<NAME>, name
// upper-cased, underscores kept), trimmed.
func (rt *runtime) input(name string) string { return rt.gha.GetInput(name) }

// boolInput parses a boolean input the way actions/toolkit's getBooleanInput
// does (true, True, TRUE, false, False, FALSE); empty means def.
func (rt *runtime) boolInput(name string, def bool) (bool, error) {
	switch v := rt.input(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, rt.inputError(name, fmt.Sprintf("is %q: want true or false", v))
	}
}

// inputError annotates a bad input and returns ErrInput.
func (rt *runtime) inputError(name, problem string) error {
	msg := fmt.Sprintf("input %s %s", name, problem)
	rt.annotate("error", annotation{Title: "rds-provision: input " + name, Message: msg})
	return fmt.Errorf("%w: %s", ErrInput, msg)
}

// mask registers a secret value with the runner as soon as it is read, so
// it shows as *** in the log. Each line is masked on its own because the
// runner matches masks line by line.
func (rt *runtime) mask(secret string) {
	if secret == "" || rt.masked[secret] {
		return
	}
	rt.masked[secret] = true
	rt.gha.AddMask(secret)
	if strings.ContainsAny(secret, "\r\n") {
		for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); line != "" && !rt.masked[line] {
				rt.masked[line] = true
				rt.gha.AddMask(line)
			}
		}
	}
}

// annotation is one ::error / ::warning / ::notice line.
type annotation struct {
	File    string
	Line    int
	Col     int
	Title   string
	Message string
}

// annotate prints an annotation; level is error, warning or notice.
func (rt *runtime) annotate(level string, a annotation) {
	fields := map[string]string{}
	if a.File != "" {
		fields["file"] = a.File
		if a.Line > 0 {
			fields["line"] = fmt.Sprint(a.Line)
		}
		if a.Col > 0 {
			fields["col"] = fmt.Sprint(a.Col)
		}
	}
	if a.Title != "" {
		fields["title"] = a.Title
	}
	g := rt.gha
	if len(fields) > 0 {
		g = g.WithFieldsMap(fields)
	}
	msg := rt.scrub(a.Message)
	switch level {
	case "warning":
		g.Warningf("%s", msg)
	case "notice":
		g.Noticef("%s", msg)
	default:
		g.Errorf("%s", msg)
	}
}

// fileCommand runs a go-githubactions file command (output, summary), which
// panics when the file cannot be written; a report that cannot be written
// is a warning, never a failure of the work it reports.
func (rt *runtime) fileCommand(what, env string, fn func()) {
	if rt.opts.Getenv(env) == "" {
		return // not inside a runner: nothing to write to
	}
	defer func() {
		if r := recover(); r != nil {
			rt.gha.Warningf("could not write the %s (%s): %v", what, env, r)
		}
	}()
	fn()
}

func (rt *runtime) setOutputs(kv ...string) {
	rt.fileCommand("step outputs", "GITHUB_OUTPUT", func() {
		for i := 0; i+1 < len(kv); i += 2 {
			rt.gha.SetOutput(kv[i], kv[i+1])
		}
	})
}

func (rt *runtime) addSummary(markdown string) {
	rt.fileCommand("job summary", "GITHUB_STEP_SUMMARY", func() { rt.gha.AddStepSummary(markdown) })
}

// workspacePath resolves p against GITHUB_WORKSPACE (the container's working
// directory); absolute paths stay.
func (rt *runtime) workspacePath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if ws := rt.opts.Getenv("GITHUB_WORKSPACE"); ws != "" {
		return filepath.Join(ws, p)
	}
	return p
}

// relToWorkspace renders p relative to GITHUB_WORKSPACE when it is inside
// it: the form annotations want, and the one a later step on the host can
// open (the container's /github/workspace is the host's workspace).
func (rt *runtime) relToWorkspace(p string) string {
	if ws := rt.opts.Getenv("GITHUB_WORKSPACE"); ws != "" && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(ws, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

// runURL links the workflow run, for the pull request comment.
func (rt *runtime) runURL() string {
	server, repo, id := rt.opts.Getenv("GITHUB_SERVER_URL"), rt.opts.Getenv("GITHUB_REPOSITORY"), rt.opts.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	u := strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
	if a := rt.opts.Getenv("GITHUB_RUN_ATTEMPT"); a != "" && a != "1" {
		u += "/attempts/" + a
	}
	return u
}

// github returns the client for the workflow's repository, made on first
// use. Its comments are adopted only from the account the token posts as:
// the input github_app_slug names the App of an installation token (see
// gh.Identity).
func (rt *runtime) github() (*gh.Client, error) {
	if rt.gh != nil {
		return rt.gh, nil
	}
	token := rt.input("github_token")
	if token == "" {
		token = rt.opts.Getenv("GITHUB_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no GitHub token: set the github_token input (default ${{ github.token }})")
	}
	rt.mask(token)
	client, err := gh.New(gh.Options{
		BaseURL:    rt.opts.Getenv("GITHUB_API_URL"),
		Token:      token,
		Repository: rt.opts.Getenv("GITHUB_REPOSITORY"),
		HTTPClient: rt.opts.HTTPClient,
		Sleep:      rt.opts.Sleep,
		Now:        rt.opts.Now,
		AppSlug:    rt.input("github_app_slug"),
		Logf:       func(format string, args ...any) { rt.gha.Infof("%s", rt.scrub(fmt.Sprintf(format, args...))) },
	})
	if err != nil {
		return nil, err
	}
	rt.gh = client
	return client, nil
}

// errorAnnotation turns an error into an annotation with message, on the
// tfvars line the error names, if any.
func (rt *runtime) errorAnnotation(title string, err error, message string) annotation {
	a := annotation{Title: title, Message: message}
	var pos *tfvars.Error
	if errors.As(err, &pos) && pos.File != "" {
		a.File, a.Line, a.Col = rt.relToWorkspace(pos.File), pos.Line, pos.Column
	}
	return a
}
