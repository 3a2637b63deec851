package request

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/goldenpath/rds-provision/internal/rotate"
	"github.com/goldenpath/rds-provision/internal/schema"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

// Body renders the pull request body: what is asked and by whom, the
// owning team's review (day-2 types), the platform details (with several
// instances, the database's instance and its master secret, and for a
// create request where it was placed and why), the controls
// the product or the platform's Terraform enforces and what enforces
// each, what happens after merge, and the files changed. Form values
// passed validation (plain ASCII names and enum values); values read from
// the files are quoted when they are not plain, and every value sits in a
// code span.
func Body(p *Plan) string {
	f := p.Form
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", heading(p))
	b.WriteString(requester(p) + "\n\n")
	if f.RequestType != TypeCreate {
		b.WriteString(reviewSection(p))
	}

	b.WriteString("### Request\n\n| field | value |\n|---|---|\n")
	for _, kv := range f.Used() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", kv[0], code(kv[1]))
	}
	if len(p.Notices) > 0 {
		var n []string
		for _, x := range p.Notices {
			n = append(n, fmt.Sprintf("`%s` `%s`", x.Field, x.Value))
		}
		fmt.Fprintf(&b, "\nNot used by `%s`, so ignored: %s.\n", f.RequestType, strings.Join(n, ", "))
	}

	b.WriteString("\n### Platform\n\n| setting | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| RDS instance | %s |\n", code(p.Instance))
	if p.HasInstances() {
		fmt.Fprintf(&b, "| instance's master secret | %s |\n", code(p.MasterSecret))
	}
	if f.RequestType == TypeCreate {
		fmt.Fprintf(&b, "| instance class (size `%s`) | %s |\n", f.Size, code(p.InstanceClass))
	} else {
		fmt.Fprintf(&b, "| owning team (catalog) | %s |\n", code(p.Owner))
		fmt.Fprintf(&b, "| owner role | %s |\n", code(p.OwnerUsername))
		fmt.Fprintf(&b, "| risk (catalog) | %s |\n", code(p.Risk))
	}
	if f.RequestType == TypeChangeAccess {
		fmt.Fprintf(&b, "| access level | %s → %s |\n", code(p.PreviousLevel), code(p.AccessLevel))
	}
	fmt.Fprintf(&b, "| tfvars layout | `%s` |\n", p.Mode)
	if p.SecretPath != "" {
		fmt.Fprintf(&b, "| secret path | %s |\n", code(p.SecretPath))
	}

	if p.Placement != nil {
		b.WriteString(placementSection(p.Form.DatabaseName, *p.Placement))
	}
	b.WriteString(controlsSection(p))
	b.WriteString("\n### After merge\n\n")
	b.WriteString(afterMerge(p))
	b.WriteString("\n### Files changed\n\n")
	for _, fc := range p.Files {
		verb := "updated"
		if fc.Created {
			verb = "created"
		}
		fmt.Fprintf(&b, "- `%s` (%s)\n", fc.Path, verb)
	}
	return b.String()
}

func heading(p *Plan) string {
	f := p.Form
	switch f.RequestType {
	case TypeGrant:
		return fmt.Sprintf("Grant `%s` access on `%s` to `%s` in `%s`", f.AccessLevel, f.DatabaseName, f.Username, f.Environment)
	case TypeChangeAccess:
		return fmt.Sprintf("Change `%s` to `%s` on `%s` in `%s`", f.Username, f.AccessLevel, f.DatabaseName, f.Environment)
	case TypeRetire:
		if f.Username == p.OwnerUsername {
			return fmt.Sprintf("Retire database `%s` in `%s`", f.DatabaseName, f.Environment)
		}
		return fmt.Sprintf("Retire `%s` on `%s` in `%s`", f.Username, f.DatabaseName, f.Environment)
	}
	return fmt.Sprintf("Create RDS database `%s` in `%s`", f.DatabaseName, f.Environment)
}

// requester says who asked, and how far that is known: a person who
// dispatched the workflow, a login a bot passed, or a login given outside
// GitHub Actions.
func requester(p *Plan) string {
	d, user := p.Dispatch, p.Form.User
	var s string
	switch {
	case d.Actor == "":
		s = fmt.Sprintf("Requested by @%s through `rds-provision request` outside GitHub Actions: the login was given, not checked against who ran it.", user)
	case d.Bot():
		s = fmt.Sprintf("Requested by @%s, the login that %s passed: that bot dispatched the workflow, so GitHub vouches for the bot and the bot for the login.", user, code(d.Actor))
	default:
		s = fmt.Sprintf("Requested by @%s, who dispatched the workflow.", user)
	}
	if r := d.Rerun(); r != "" {
		s += fmt.Sprintf(" Re-run by %s.", code(r))
	}
	return s
}

func reviewSection(p *Plan) string {
	r := p.Review
	switch {
	case r.Refused != "":
		return fmt.Sprintf("> [!WARNING]\n> **The owning team `%s` could not be asked to review:** %s. Ask the team directly, or fix the cause and run the request again.\n\n", r.Team, mdLine(r.Refused))
	case r.Team == "":
		return fmt.Sprintf("> [!WARNING]\n> **No owning team to ask for review:** %s, so only the platform team reviews. Set the database's `metadata.owner` in the catalog to the team's slug.\n\n", mdLine(r.Why))
	}
	return fmt.Sprintf("### Review\n\nThe owning team `%s` (the catalog's owner of `%s`) is asked to review this request.\n\n", r.Team, p.Form.DatabaseName)
}

// controlsSection lists what enforces this request's controls: the
// rotation period of rotate --due (its own table, by risk), the
// environment's approval before provisioning, the owning team's review.
func controlsSection(p *Plan) string {
	f := p.Form
	var rows []string
	if f.RequestType != TypeRetire {
		period, known := rotate.Period(p.Risk)
		what := fmt.Sprintf("risk %s", code(p.Risk))
		if !known {
			what = fmt.Sprintf("risk %s is not in the rotation table: the shortest period", code(p.Risk))
		}
		rows = append(rows, fmt.Sprintf("| secret rotation every %d days (%s) | `rds-provision rotate --due`, where the rotation workflow (`rds-secret-rotation.yml`) or the rotation function runs for `%s`; where neither is set up the secret is not rotated |", int(period/rotate.Day), what, f.Environment))
	}
	if f.Environment != "dev" {
		rows = append(rows, fmt.Sprintf("| approval before provisioning in `%s` | the apply workflow's GitHub Environment `%s` (its required reviewers or wait timer) and `ALLOW_DB_PROVISION=true`; provision refuses without both |", f.Environment, f.Environment))
	}
	if f.RequestType != TypeCreate && p.Review.Team != "" && p.Review.Refused == "" {
		rows = append(rows, fmt.Sprintf("| review by the owning team `%s` | requested on this pull request; required for merging only where CODEOWNERS or a ruleset requires it |", p.Review.Team))
	}
	var b strings.Builder
	b.WriteString("\n### Controls\n\n")
	if len(rows) > 0 {
		b.WriteString("| control | enforced by |\n|---|---|\n" + strings.Join(rows, "\n") + "\n\n")
	}
	fmt.Fprintf(&b, "Backup retention, monitoring and audit logging are settings of the shared instance %s, the same for every database on it: this request does not set them.\n", code(p.Instance))
	return b.String()
}

func afterMerge(p *Plan) string {
	f := p.Form
	env := f.Environment
	var b strings.Builder
	switch f.RequestType {
	case TypeCreate:
		fmt.Fprintf(&b, "1. `make rds-apply ENV=%s` creates the secret `%s` in Secrets Manager.\n", env, p.SecretPath)
		fmt.Fprintf(&b, "2. `make rds-provision-auto ENV=%s` creates the role `%s` and the database `%s`", env, f.Username, f.DatabaseName)
		if p.HasInstances() {
			fmt.Fprintf(&b, " on the instance %s", code(p.Instance))
		}
		if f.InitialSchema != "" && f.InitialSchema != schema.None {
			fmt.Fprintf(&b, ", then applies the schema template `%s` once, as `%s`", f.InitialSchema, f.Username)
		}
		b.WriteString(".\n")
	case TypeGrant:
		fmt.Fprintf(&b, "1. `make rds-apply ENV=%s` creates the secret %s in Secrets Manager: the role's own.\n", env, code(p.SecretPath))
		on := ""
		if p.HasInstances() {
			on = " on the database's instance " + code(p.Instance)
		}
		fmt.Fprintf(&b, "2. `make rds-provision-auto ENV=%s` creates the role `%s`%s and gives it `%s` on `%s`: %s, and the same on the tables and sequences its owner %s creates later in `public`.\n",
			env, f.Username, on, f.AccessLevel, f.DatabaseName, levelGrants(f.AccessLevel), code(p.OwnerUsername))
	case TypeChangeAccess:
		fmt.Fprintf(&b, "1. `make rds-provision-auto ENV=%s` converges `%s` on `%s` to `%s`: %s. ", env, f.Username, f.DatabaseName, f.AccessLevel, levelChange(p.PreviousLevel, f.AccessLevel))
		b.WriteString("Terraform has nothing to do for this change (its type of an entry keeps database_name and username).\n")
	case TypeRetire:
		var roles []string
		for _, r := range p.Retired {
			if !r.Already {
				roles = append(roles, fmt.Sprintf("`%s` (%s)", r.Username, r.AccessLevel))
			}
		}
		fmt.Fprintf(&b, "1. `make rds-provision-auto ENV=%s` retires %s: NOLOGIN, their sessions ended. The database `%s`, its data and the secrets stay.\n", env, strings.Join(roles, ", "), f.DatabaseName)
		b.WriteString("2. Deleting them is the break-glass `rds-provision decommission` (RB-0030), for retired entries only, at least 7 days after retirement.\n")
	}
	return b.String()
}

// placementSection says where a create request put its database among
// the environment's instances, and why: the rule, and every instance of
// the tier with its count (before this request) and limit.
func placementSection(database string, pl Placement) string {
	var b strings.Builder
	b.WriteString("\n### Placement\n\n")
	if pl.Existing {
		fmt.Fprintf(&b, "`%s` is already on %s (its owner entry in %s): a database stays on its instance.\n", database, code(pl.Instance), code(pl.Source))
	} else {
		fmt.Fprintf(&b, "Placed on %s: of the instances of tier %s with room (`rds_instances` in %s), the one that holds the fewest databases; ties go to the first name.\n", code(pl.Instance), code(pl.Tier), code(pl.Source))
	}
	b.WriteString("\n| instance | databases now | `max_databases` | |\n|---|--:|--:|---|\n")
	for _, c := range pl.Candidates {
		note := ""
		switch {
		case c.Name == pl.Instance:
			note = "**here**"
		case !c.Room():
			note = "full"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", code(c.Name), c.Databases, c.MaxDatabases, note)
	}
	if len(pl.Others) > 0 {
		var others []string
		for _, c := range pl.Others {
			others = append(others, fmt.Sprintf("%s (%s)", code(c.Name), code(c.Tier)))
		}
		fmt.Fprintf(&b, "\nInstances of other tiers: %s.\n", strings.Join(others, ", "))
	}
	return b.String()
}

// levelGrants is SPEC's grants table row of an editor or reader.
func levelGrants(level string) string {
	if level == tfvars.AccessEditor {
		return "CONNECT on the database, USAGE on schema `public`, SELECT, INSERT, UPDATE, DELETE on its tables and USAGE, SELECT on its sequences"
	}
	return "CONNECT on the database, USAGE on schema `public`, SELECT on its tables and sequences"
}

// levelChange says what converging from one level to the other grants or
// revokes (the grants table's difference, default privileges included).
func levelChange(from, to string) string {
	const diff = "INSERT, UPDATE, DELETE on its tables and USAGE on its sequences, now and by default for later ones"
	if from == tfvars.AccessEditor && to == tfvars.AccessReader {
		return "revokes " + diff + "; SELECT stays"
	}
	return "grants " + diff + "; SELECT stays"
}

var plainValue = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9/_+=.@\[\]-]{1,200}$`) })

// code is v in a code span: as it is when it is plain, else quoted with
// QuoteValue (which escapes backticks and every non-ASCII rune), so a
// value read from a file cannot leave its span.
func code(v string) string {
	if plainValue().MatchString(v) {
		return "`" + v + "`"
	}
	return "`" + QuoteValue(v) + "`"
}

// mdLine keeps a message on one Markdown line, without characters that
// would start a link, an image, an HTML tag or a mention.
func mdLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "<", "‹", ">", "›", "[", "(", "]", ")", "`", "'", "@", "(at)").Replace(s)
}
