package request

import (
	"fmt"
	"strings"

	"github.com/goldenpath/rds-provision/internal/schema"
)

// RiskControls is SPEC's table of what each risk level brings.
type RiskControls struct {
	BackupRetention string
	SecretRotation  string
	Controls        []string
}

// ControlsFor returns the controls of risk; ok is false for a level SPEC
// does not define (possible with an enum override).
func ControlsFor(risk string) (RiskControls, bool) {
	switch risk {
	case "high":
		return RiskControls{"35 days", "14 days", []string{"audit logging", "enhanced monitoring", "extended backup retention"}}, true
	case "access":
		return RiskControls{"35 days", "14 days", []string{"access risk review required", "audit logging", "enhanced monitoring", "extended backup retention"}}, true
	case "medium":
		return RiskControls{"14 days", "30 days", []string{"standard monitoring", "regular backup retention"}}, true
	case "none", "low":
		return RiskControls{"7 days", "30 days", []string{"basic monitoring", "standard backup retention"}}, true
	}
	return RiskControls{}, false
}

// Body renders the pull request body of SPEC. Every value in it passed
// validation (plain ASCII names and enum values) and sits in a code span.
func Body(p *Plan) string {
	f := p.Form
	env := f.Environment
	var b strings.Builder
	fmt.Fprintf(&b, "## Create RDS database `%s` in `%s`\n\n", f.DatabaseName, env)
	fmt.Fprintf(&b, "Requested by @%s through `rds-provision request`.\n\n", f.User)
	b.WriteString("### Request\n\n| field | value |\n|---|---|\n")
	for _, kv := range f.Fields() {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", kv[0], kv[1])
	}
	b.WriteString("\n### Platform\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| RDS instance | `%s` |\n", p.Instance)
	fmt.Fprintf(&b, "| instance class (size `%s`) | `%s` |\n", f.Size, p.InstanceClass)
	fmt.Fprintf(&b, "| tfvars layout | `%s` |\n", p.Mode)
	fmt.Fprintf(&b, "| secret path | `%s` |\n", p.SecretPath)
	fmt.Fprintf(&b, "\n### Risk controls (`%s`)\n\n", f.Risk)
	if c, ok := ControlsFor(f.Risk); ok {
		b.WriteString("| backup retention | secret rotation | controls |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.BackupRetention, c.SecretRotation, strings.Join(c.Controls, ", "))
	} else {
		b.WriteString("No controls are defined for this risk level; the platform team sets them in review.\n")
	}
	b.WriteString("\n### After merge\n\n")
	fmt.Fprintf(&b, "1. `make rds-apply ENV=%s` creates the secret `%s` in Secrets Manager.\n", env, p.SecretPath)
	fmt.Fprintf(&b, "2. `make rds-provision-auto ENV=%s` creates the role `%s` and the database `%s`", env, f.Username, f.DatabaseName)
	if f.InitialSchema != "" && f.InitialSchema != schema.None {
		fmt.Fprintf(&b, ", then applies the schema template `%s` once, as `%s`", f.InitialSchema, f.Username)
	}
	b.WriteString(".\n")
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
