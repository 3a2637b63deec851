package report

import (
	"fmt"
	"strings"
)

// Field is one form field as submitted.
type Field struct {
	Name  string
	Value string
}

// Problem is one validation problem of one field.
type Problem struct {
	Field string
	Value string // as the request package quoted it
	Rule  string
}

// Request is what a request summary shows.
type Request struct {
	Fields   []Field
	DryRun   bool
	Changed  bool
	Branch   string
	PRNumber int
	PRURL    string
	Diff     string // unified diff of the catalog and tfvars
	Body     string // pull request body, shown in a dry run
	Problems []Problem
	Err      string // failure beyond validation, free of secret values
	// The owning team's review of a grant, change-access or retire
	// request: the team asked (ReviewTeam), or why none could be
	// (ReviewWhy), or GitHub's refusal of the request (ReviewRefused).
	ReviewTeam    string
	ReviewWhy     string
	ReviewRefused string
	// Unused are the fields given that the request type does not use, as
	// "field value" with the value quoted by the request package.
	Unused []string
	// Instance is the database's instance when the environment declares
	// several (rds_instances), and Placement, for a create request, why
	// it is there (request.Placement.Summary); both empty otherwise.
	Instance  string
	Placement string
}

// RequestSummary renders the job summary of a request run: outcome and pull
// request link, the form fields, and the diff, within MaxSummaryBytes.
func RequestSummary(r Request) string {
	return renderRequest(r, MaxSummaryBytes, byteSize)
}

func renderRequest(r Request, limit int, size func(string) int) string {
	var b strings.Builder
	typ := fieldValue(r.Fields, "request_type")
	title := "RDS database request"
	if typ != "" && typ != "create" {
		title = "RDS " + text(cut(typ, 20)) + " request"
	}
	if name := fieldValue(r.Fields, "database_name"); name != "" {
		title += ": " + text(cut(name, 80))
		if env := fieldValue(r.Fields, "environment"); env != "" {
			title += " (" + text(cut(env, 40)) + ")"
		}
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	switch {
	case len(r.Problems) > 0:
		fmt.Fprintf(&b, "> [!CAUTION]\n> **Rejected:** %d problem(s) with the form. Nothing was written and no pull request was opened.\n\n", len(r.Problems))
		b.WriteString("| Field | Value | Problem |\n|---|---|---|\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", text(p.Field), text(cut(p.Value, 100)), text(cut(p.Rule, 300)))
		}
		b.WriteString("\n")
	case r.Err != "":
		fmt.Fprintf(&b, "> [!CAUTION]\n> **Failed:** %s\n\n", text(cut(r.Err, maxErrorChars)))
	case r.DryRun:
		b.WriteString("> [!NOTE]\n> 🔍 **Dry run:** nothing was written and no pull request was opened. Below are the changes a real run would propose.\n\n")
	case r.PRURL != "" && r.Changed:
		fmt.Fprintf(&b, "Pull request %s on branch %s.\n\n", link(fmt.Sprintf("#%d", r.PRNumber), r.PRURL), text(r.Branch))
	case r.PRURL != "":
		fmt.Fprintf(&b, "No change: the request is already in pull request %s on branch %s.\n\n", link(fmt.Sprintf("#%d", r.PRNumber), r.PRURL), text(r.Branch))
	case !r.Changed && (typ == "" || typ == "create"):
		b.WriteString("No change: the database is already in the catalog and tfvars of this environment.\n\n")
	case !r.Changed:
		b.WriteString("No change: the catalog and tfvars of this environment already say so.\n\n")
	}
	if len(r.Problems) == 0 && r.Err == "" {
		b.WriteString(reviewNote(r))
		if r.Instance != "" {
			fmt.Fprintf(&b, "Instance: %s", text(cut(r.Instance, 63)))
			if r.Placement != "" {
				fmt.Fprintf(&b, " (%s)", text(cut(r.Placement, 300)))
			}
			b.WriteString(".\n\n")
		}
	}
	if len(r.Unused) > 0 && len(r.Problems) == 0 {
		fmt.Fprintf(&b, "> [!NOTE]\n> Not used by request\\_type %s, so ignored: %s.\n\n", text(cut(typ, 20)), text(cut(strings.Join(r.Unused, ", "), 300)))
	}

	if len(r.Fields) > 0 {
		b.WriteString("| Field | Value |\n|---|---|\n")
		for _, f := range r.Fields {
			fmt.Fprintf(&b, "| %s | %s |\n", text(f.Name), text(cut(f.Value, 100)))
		}
		b.WriteString("\n")
	}

	head := b.String()
	var tail strings.Builder
	if r.Diff != "" {
		tail.WriteString("### Changes\n\n" + fence("diff", r.Diff) + "\n")
	}
	if r.DryRun && r.Body != "" {
		tail.WriteString("<details><summary>Pull request body</summary>\n\n" + fence("markdown", r.Body) + "\n</details>\n")
	}
	if size(head)+size(tail.String()) <= limit {
		return head + tail.String()
	}
	// Too big: cut the diff, never fail.
	note := "\n_The diff is too large to show in full; it was cut here._\n"
	budget := limit - size(head) - size(note) - size("### Changes\n\n") - 2*size("``````diff\n") - 64
	diff := cutTo(r.Diff, max(budget, 0), size)
	return cutTo(head+"### Changes\n\n"+fence("diff", diff)+note, limit, size)
}

// reviewNote says whom the request asked to review, or, as a warning,
// that nobody could be asked and why.
func reviewNote(r Request) string {
	switch {
	case r.ReviewRefused != "":
		return fmt.Sprintf("> [!WARNING]\n> **Review not requested from the owning team %s:** %s\n\n", text(r.ReviewTeam), text(cut(r.ReviewRefused, maxErrorChars)))
	case r.ReviewWhy != "":
		return fmt.Sprintf("> [!WARNING]\n> **No owning team asked to review:** %s.\n\n", text(cut(r.ReviewWhy, 300)))
	case r.ReviewTeam != "" && r.DryRun:
		return fmt.Sprintf("The owning team %s would be asked to review.\n\n", text(r.ReviewTeam))
	case r.ReviewTeam != "" && r.PRURL != "":
		return fmt.Sprintf("Review requested from the owning team %s.\n\n", text(r.ReviewTeam))
	}
	return ""
}

func fieldValue(fields []Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
