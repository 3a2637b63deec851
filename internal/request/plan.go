package request

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/naming"
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
	// Dispatch is who started the run (GitHub Actions' actor), checked
	// against the form's user; zero outside Actions.
	Dispatch Dispatch
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
	Form Form
	Mode tfvars.Mode // the layout resolved for the environment
	// Instance is the database's instance: goldenpath-platform-db-<env>,
	// or its rds_instances key when the environment declares several.
	Instance string
	// SecretPath is the role's secret: <prefix>/<env>/<key>/postgres (a
	// new entry's), or the existing entry's for change-access and retire.
	SecretPath    string
	InstanceClass string // create only
	// Owner and Risk are the database's owning team and risk: the form's
	// for create, the catalog's for the day-2 types. OwnerUsername is its
	// owner role.
	Owner         string
	Risk          string
	OwnerUsername string
	// AccessLevel is what the request gives the role: owner (create),
	// editor or reader (grant, change-access); PreviousLevel is the level
	// change-access replaces.
	AccessLevel   string
	PreviousLevel string
	// Retired are the roles a retire request covers: the username's, or
	// every role of the database when its owner is named.
	Retired []RetiredRole
	// Placement is where a create request put its database, and why; nil
	// when the environment declares no rds_instances.
	Placement *Placement
	// MasterSecret is the master secret of the database's instance, when
	// the environment declares rds_instances (then Instance is that
	// instance's name); empty otherwise.
	MasterSecret string
	// Review is the owning team's review of a day-2 request.
	Review   Review
	Dispatch Dispatch
	// Notices are fields given that the request type does not use.
	Notices       []Notice
	Files         []FileChange // only the files that change
	Branch        string
	Title         string
	CommitMessage string
	Labels        []string
	Body          string
}

// RetiredRole is one role of a retire request; Already is true when its
// entry was retired before.
type RetiredRole struct {
	Username    string
	AccessLevel string
	Already     bool
}

// Review is who is asked to review a grant, change-access or retire
// request: the database's owning team (the catalog's owner, as a GitHub
// team slug of the repository's organisation).
type Review struct {
	// Team is the team slug to ask; "" when none can be, and Why says why.
	Team string
	Why  string
	// Requested is set by Run when GitHub took the request; Refused holds
	// GitHub's refusal (the team unknown to GitHub, without access to the
	// repository, or a token that cannot see the organisation's teams).
	Requested bool
	Refused   string
}

// HasInstances reports whether the environment declares rds_instances:
// then Instance is the database's instance and MasterSecret its master
// secret.
func (p *Plan) HasInstances() bool { return p.MasterSecret != "" }

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
	static := Validate(form, Facts{Enums: enums, Dispatch: s.Dispatch})
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
	if err := checkTargetInstances(targets, enums); err != nil {
		if len(static) > 0 {
			return nil, &ValidationError{Problems: static}
		}
		return nil, err
	}
	catPath := catalog.Path(env)
	facts := Facts{Enums: enums, Dispatch: s.Dispatch, CatalogPath: catPath,
		RDSInstances: InstanceFacts{Source: targets[0].path, Instances: targets[0].file.RDSInstances}}
	for _, t := range targets {
		f := t.file
		facts.Instances = append(facts.Instances, Instance{Source: t.path, DatabaseName: f.DatabaseName, MasterUsername: f.MasterUsername})
		for _, e := range f.Entries {
			facts.Databases = append(facts.Databases, ExistingDatabase{Source: t.path, Key: e.Key, DatabaseName: e.DatabaseName, Username: e.Username,
				AccessLevel: e.AccessLevel, Retired: e.Retired, InTfvars: true, Instance: e.Instance})
		}
	}
	catSrc, catFound := snap[catPath]
	if catFound {
		entries, err := catalog.Entries(catSrc)
		if err != nil {
			if len(static) > 0 {
				return nil, &ValidationError{Problems: static}
			}
			return nil, fmt.Errorf("%s: %w", catPath, err)
		}
		facts.CatalogRead = true
		for _, e := range entries {
			if e.Environment != "" && e.Environment != env {
				continue
			}
			facts.Catalog = append(facts.Catalog, e)
			facts.Databases = append(facts.Databases, ExistingDatabase{Source: catPath, Key: e.Name, DatabaseName: e.Name, Username: e.Username,
				AccessLevel: tfvars.AccessOwner, Retired: catalog.IsRetiring(e.Status), Instance: e.Instance})
			for _, a := range e.Access {
				facts.Databases = append(facts.Databases, ExistingDatabase{Source: catPath, Key: a.Username, DatabaseName: e.Name, Username: a.Username,
					AccessLevel: a.Level, Retired: catalog.IsRetiring(a.Status)})
			}
		}
	}
	if problems := Validate(form, facts); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}

	p := &Plan{Form: form, Mode: targets[0].mode, Instance: catalog.Instance(env), AccessLevel: form.AccessLevel, Dispatch: s.Dispatch, Notices: Unused(form, enums)}
	in := &planInput{form: form, env: env, enums: enums, settings: s, targets: targets, catPath: catPath, catSrc: catSrc, catFound: catFound, facts: facts}
	if form.RequestType == TypeCreate {
		err = in.planCreate(p)
	} else {
		in.day2(p, facts)
		switch form.RequestType {
		case TypeGrant:
			err = in.planGrant(p)
		case TypeChangeAccess:
			err = in.planChangeAccess(p)
		case TypeRetire:
			err = in.planRetire(p)
		}
	}
	if err != nil {
		return nil, err
	}
	p.Body = Body(p)
	return p, nil
}

// planInput is what the request types' planners work from.
type planInput struct {
	form     Form
	env      string
	enums    Enums
	settings PlanSettings
	targets  []target
	catPath  string
	catSrc   []byte
	catFound bool
	facts    Facts
}

// day2 fills in what every day-2 request takes from the files: the
// database's owning team, risk and owner role, the role's secret, the
// review, and the labels.
func (in *planInput) day2(p *Plan, facts Facts) {
	form := in.form
	e, _ := catalogEntry(facts, form.DatabaseName)
	p.Owner, p.Risk = e.Owner, e.Risk
	p.OwnerUsername = ownerRows(facts, form.DatabaseName)[0].Username
	for _, te := range in.targets[0].file.Entries {
		if te.DatabaseName == form.DatabaseName && te.Username == form.Username {
			p.SecretPath = te.SecretName
			if p.SecretPath == "" {
				p.SecretPath = naming.AppSecretPath(in.settings.SecretPrefix, in.env, te.Key)
			}
		}
	}
	if in.facts.RDSInstances.declared() {
		p.Instance = ownerRows(facts, form.DatabaseName)[0].Instance
		p.MasterSecret = in.masterSecret(p.Instance)
	}
	p.Review = reviewOf(e.Owner, in.enums)
	p.Labels = []string{"rds-database", "platform-team", in.env}
	if contains(in.enums.Risks, e.Risk) {
		p.Labels = append(p.Labels, e.Risk+"-risk")
	}
	p.Labels = append(p.Labels, "rds-"+form.RequestType)
}

// reviewOf is the review of a database owned by team owner: that team,
// unless the catalog names none a GitHub team slug can be.
func reviewOf(owner string, enums Enums) Review {
	switch {
	case owner == "":
		return Review{Why: "the catalog names no owner for the database"}
	case owner == "unknown":
		return Review{Why: "the catalog's owner is unknown"}
	case !contains(enums.Owners, owner):
		return Review{Why: fmt.Sprintf("the catalog's owner %s is not one of the owner teams (%s)", QuoteValue(owner), strings.Join(enums.Owners, ", "))}
	}
	return Review{Team: owner}
}

// masterSecret is the master secret of the declared instance called name.
func (in *planInput) masterSecret(name string) string {
	inst, _ := in.facts.RDSInstances.find(name)
	return inst.MasterSecretPath(in.settings.SecretPrefix, in.env)
}

// checkTargetInstances refuses instances the request cannot place on: a
// tier that is not one of the form's sizes (enums), and, in coupled mode
// with the standalone file edited too, two files that do not declare the
// same rds_instances (they are edited together so they cannot drift).
func checkTargetInstances(targets []target, enums Enums) error {
	for _, t := range targets {
		if err := t.file.CheckTiers(enums.Sizes); err != nil {
			return err
		}
	}
	for _, t := range targets[1:] {
		if a, b := targets[0].file.RDSInstances, t.file.RDSInstances; !tfvars.SameInstances(a, b) {
			return fmt.Errorf("%s and %s declare different rds_instances (%s; %s): the two files are edited together, so they must declare the same instances, in the same order; make them the same",
				targets[0].path, t.path, instanceList(a), instanceList(b))
		}
	}
	return nil
}

// instanceList names instances with their tiers, or says there are none.
func instanceList(insts []tfvars.Instance) string {
	if len(insts) == 0 {
		return "none"
	}
	var out []string
	for _, i := range insts {
		out = append(out, fmt.Sprintf("%s %s max %d", i.Name, i.Tier, i.MaxDatabases))
	}
	return strings.Join(out, ", ")
}

// insert adds e to each tfvars file.
func (in *planInput) insert(p *Plan, e tfvars.NewEntry) error {
	for _, t := range in.targets {
		out, changed, err := tfvars.Insert(t.path, t.src, t.mode, e)
		if err != nil {
			return err
		}
		if changed {
			p.Files = append(p.Files, FileChange{Path: t.path, Old: t.src, New: out})
		}
	}
	return nil
}

// update applies the in-place changes that changes computes for each
// tfvars file.
func (in *planInput) update(p *Plan, changes func(*tfvars.File) []tfvars.Change) error {
	for _, t := range in.targets {
		out, changed, err := tfvars.Update(t.path, t.src, t.mode, changes(t.file))
		if err != nil {
			return err
		}
		if changed {
			p.Files = append(p.Files, FileChange{Path: t.path, Old: t.src, New: out})
		}
	}
	return nil
}

// catalogEdit records the catalog's new content.
func (in *planInput) catalogEdit(p *Plan, out []byte, changed bool, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", in.catPath, err)
	}
	if changed {
		fc := FileChange{Path: in.catPath, New: out, Created: !in.catFound}
		if in.catFound {
			fc.Old = in.catSrc
		}
		p.Files = append(p.Files, fc)
	}
	return nil
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
