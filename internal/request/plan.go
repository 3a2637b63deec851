package request

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Snapshot is the content of the infra repo's files that a request reads,
// by slash-separated path relative to the repo root; a path that is not in
// the map does not exist. Run fills it from the working tree or from the
// head of the base branch through the API.
type Snapshot map[string][]byte

// PlanSettings are the request's settings that are not form fields.
type PlanSettings struct {
	Mode         tfvars.Mode // auto, coupled or standalone
	SecretPrefix string      // default goldenpath
	Now          time.Time   // for created_date and last_updated
}

// FileChange is one file a plan writes.
type FileChange struct {
	Path    string // relative to the repo root, slash-separated
	Old     []byte // nil when the file is new
	New     []byte
	Created bool
}

// Plan is everything a request will do, computed without I/O.
type Plan struct {
	Form          Form
	Mode          tfvars.Mode // the layout resolved for the environment
	Instance      string      // goldenpath-platform-db-<env>
	SecretPath    string      // <prefix>/<env>/<name>/postgres
	InstanceClass string
	Files         []FileChange // only the files that change
	Branch        string
	Title         string
	CommitMessage string
	Labels        []string
	Body          string
}

// Changed reports whether the plan writes anything.
func (p *Plan) Changed() bool { return len(p.Files) > 0 }

// Paths returns the files a Snapshot must hold for env: the
// enum override and, when env is a usable name, both tfvars layouts and the
// catalog.
func Paths(env string) []string {
	out := []string{EnumsPath}
	if enumValuePattern().MatchString(env) {
		out = append(out, tfvars.StandaloneFile(env), tfvars.CoupledFile(env), catalog.Path(env))
	}
	return out
}

// MakePlan validates form against snap and computes the new tfvars and
// catalog bytes. It returns *ValidationError when any field is invalid,
// and then nothing may be written.
func MakePlan(form Form, snap Snapshot, s PlanSettings) (*Plan, error) {
	form = form.WithDefaults()
	if s.SecretPrefix == "" {
		s.SecretPrefix = DefaultSecretPrefix
	}
	if err := CheckSecretPrefix(s.SecretPrefix); err != nil {
		return nil, &ValidationError{Problems: []FieldError{{Field: FieldSecretPrefix, Value: QuoteValue(s.SecretPrefix), Rule: err.Error()}}}
	}
	enums := DefaultEnums()
	if src, ok := snap[EnumsPath]; ok {
		var err error
		if enums, err = ParseEnums(src); err != nil {
			return nil, err
		}
	}
	// Static checks first: a hostile environment never becomes a path.
	static := Validate(form, Facts{Enums: enums})
	for _, p := range static {
		if p.Field == FieldEnvironment {
			return nil, &ValidationError{Problems: static}
		}
	}
	env := form.Environment

	targets, err := resolveTargets(snap, env, s.Mode)
	if err != nil {
		if len(static) > 0 {
			return nil, &ValidationError{Problems: static}
		}
		return nil, err
	}
	facts := Facts{Enums: enums}
	for _, t := range targets {
		f := t.file
		facts.Instances = append(facts.Instances, Instance{Source: t.path, DatabaseName: f.DatabaseName, MasterUsername: f.MasterUsername})
		for _, e := range f.Entries {
			facts.Databases = append(facts.Databases, ExistingDatabase{Source: t.path, Key: e.Key, DatabaseName: e.DatabaseName, Username: e.Username})
		}
	}
	catPath := catalog.Path(env)
	catSrc, catFound := snap[catPath]
	if catFound {
		entries, err := catalog.Entries(catSrc)
		if err != nil {
			if len(static) > 0 {
				return nil, &ValidationError{Problems: static}
			}
			return nil, fmt.Errorf("%s: %w", catPath, err)
		}
		for _, e := range entries {
			if e.Environment != "" && e.Environment != env {
				continue
			}
			facts.Databases = append(facts.Databases, ExistingDatabase{Source: catPath, Key: e.Name, DatabaseName: e.Name, Username: e.Username})
		}
	}
	if problems := Validate(form, facts); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}

	p := &Plan{
		Form:          form,
		Mode:          targets[0].mode,
		Instance:      catalog.Instance(env),
		SecretPath:    naming.AppSecretPath(s.SecretPrefix, env, form.DatabaseName),
		InstanceClass: enums.InstanceClass[form.Size],
		Branch:        "database/create-" + env + "-" + form.DatabaseName,
		Title:         fmt.Sprintf("Create RDS Database: %s (%s)", form.DatabaseName, env),
		CommitMessage: fmt.Sprintf("database: create %s in %s", form.DatabaseName, env),
		Labels:        []string{"rds-database", "platform-team", env, form.Risk + "-risk"},
	}
	// A template travels to provision in the tfvars entry, and is recorded
	// in the catalog; "none" writes nothing.
	template := ""
	if form.InitialSchema != schema.None {
		template = form.InitialSchema
	}
	entry := tfvars.NewEntry{Key: form.DatabaseName, DatabaseName: form.DatabaseName, Username: form.Username, InitialSchema: template}
	for _, t := range targets {
		out, changed, err := tfvars.Insert(t.path, t.src, t.mode, entry)
		if err != nil {
			return nil, err
		}
		if changed {
			p.Files = append(p.Files, FileChange{Path: t.path, Old: t.src, New: out})
		}
	}
	out, changed, err := catalog.Upsert(catSrc, env, catalog.Entry{
		Name: form.DatabaseName, Owner: form.Owner, RequestedBy: form.User, Domain: form.Domain,
		Risk: form.Risk, Username: form.Username, SizeTier: form.Size,
		InstanceClass: p.InstanceClass, SecretPath: p.SecretPath, InitialSchema: template,
	}, s.Now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", catPath, err)
	}
	if changed {
		fc := FileChange{Path: catPath, New: out, Created: !catFound}
		if catFound {
			fc.Old = catSrc
		}
		p.Files = append(p.Files, fc)
	}
	p.Body = Body(p)
	return p, nil
}

type target struct {
	path string
	mode tfvars.Mode
	src  []byte
	file *tfvars.File
}

// resolveTargets applies SPEC's mode rules to the snapshot. In coupled
// mode the standalone file, when present, is edited too so the two cannot
// drift.
func resolveTargets(snap Snapshot, env string, mode tfvars.Mode) ([]target, error) {
	sp, cp := tfvars.StandaloneFile(env), tfvars.CoupledFile(env)
	sSrc, sOK := snap[sp]
	cSrc, cOK := snap[cp]
	switch mode {
	case tfvars.ModeAuto, "":
		if !cOK {
			cSrc = nil
		} else if cSrc == nil {
			cSrc = []byte{} // present but empty: not coupled
		}
		detected, err := tfvars.Detect(cp, cSrc, sOK)
		if errors.Is(err, tfvars.ErrNoTfvars) {
			return nil, &tfvars.MissingError{Env: env, Tried: []tfvars.Tried{{Path: cp, Mode: tfvars.ModeCoupled}, {Path: sp, Mode: tfvars.ModeStandalone}},
				Hint: "a request adds a database to an environment's existing RDS stack: check the environment, or create its tfvars first"}
		}
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", env, err)
		}
		mode = detected
	case tfvars.ModeCoupled:
		if !cOK {
			return nil, fmt.Errorf("coupled mode: %s does not exist", cp)
		}
	case tfvars.ModeStandalone:
		if !sOK {
			return nil, fmt.Errorf("standalone mode: %s does not exist (create the environment's RDS stack first)", sp)
		}
	default:
		return nil, fmt.Errorf("invalid RDS mode %q", mode)
	}
	var out []target
	add := func(p string, m tfvars.Mode, src []byte) error {
		f, err := tfvars.Parse(p, src, m)
		if err != nil {
			return err
		}
		out = append(out, target{path: p, mode: m, src: src, file: f})
		return nil
	}
	if mode == tfvars.ModeCoupled {
		if err := add(cp, tfvars.ModeCoupled, cSrc); err != nil {
			return nil, err
		}
	}
	if sOK {
		if err := add(sp, tfvars.ModeStandalone, sSrc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Diff is the unified diff of the plan's files, a/ and b/ prefixed like git.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, f := range p.Files {
		from := "a/" + f.Path
		if f.Created {
			from = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(f.Old)), B: difflib.SplitLines(string(f.New)),
			FromFile: from, ToFile: "b/" + f.Path, Context: 3,
		})
		if err != nil {
			d = fmt.Sprintf("(diff of %s failed: %v)\n", f.Path, err)
		}
		b.WriteString(d)
	}
	return b.String()
}

// IsValidation reports whether err carries field problems.
func IsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}
