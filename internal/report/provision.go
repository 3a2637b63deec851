package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
)

// GitHub's limits, with room to spare.
const (
	// MaxSummaryBytes bounds one step's job summary; GitHub refuses more
	// than 1 MiB per step.
	MaxSummaryBytes = 1000 * 1000
	// MaxCommentChars bounds a pull request comment; GitHub refuses more
	// than 65,536 characters.
	MaxCommentChars = 65000
	// maxErrorChars bounds a run-level error message in a summary.
	maxErrorChars = 4000
)

// CommentMarker is the hidden HTML comment that identifies the audit comment
// of one environment on a pull request, so a re-run edits it.
func CommentMarker(env string) string {
	return "<!-- rds-provision:" + env + " -->"
}

// Provision is what a provision summary or comment shows.
type Provision struct {
	Environment string
	DryRun      bool
	Rows        []audit.Row
	TfvarsPath  string // as read, relative to the workspace
	Mode        string // standalone or coupled
	BuildID     string
	RunID       string
	RunURL      string // the workflow run, linked from the comment
	HeadSHA     string // head commit of the pull request a plan describes
	// Err is a failure of the run as a whole (approval gate, unreadable
	// tfvars, unreachable database) beyond what the rows say; already free
	// of secret values.
	Err string
	// CSVWhere says, in words, where the complete CSV is when it is too
	// large to show; "" means the file named by the step's audit_csv
	// output.
	CSVWhere string
	// Artifact names the run artifact a later step of the workflow
	// uploads the CSV as; the reports link it on the run's page, and
	// point to it when the CSV is too large to show.
	Artifact string
}

var statusMarker = map[audit.Status]string{
	audit.Success:  "✅",
	audit.NoChange: "➖",
	audit.Warning:  "⚠️",
	audit.Error:    "❌",
	audit.DryRun:   "🔍",
}

func marker(s audit.Status) string {
	if m, ok := statusMarker[s]; ok {
		return m
	}
	return "❔"
}

// ProvisionSummary renders the job summary of a provision run, within
// MaxSummaryBytes: the dry-run and failure banners, one line of totals,
// the rows that changed, failed or warn (errors first), then the rows in
// place folded by action with their counts, and the CSV in a collapsed
// block. What does not fit is left out in that order from the end, and
// said: the CSV first (it is the step's file and the run's artifact), then
// the folded rows, then the other rows, errors and warnings kept first.
func ProvisionSummary(r Provision) string {
	return renderProvision(r, "", MaxSummaryBytes, byteSize, false)
}

// ProvisionComment renders the pull request comment of a provision run for
// one environment: the hidden marker, then the summary's content within
// MaxCommentChars. Rows in place that do not fit point to the job summary,
// and the CSV to the run's artifact.
func ProvisionComment(r Provision) string {
	return renderProvision(r, CommentMarker(r.Environment)+"\n", MaxCommentChars, runeSize, true)
}

// totals is the line that opens a provision report: how many rows, and how
// many of each status, errors first and what changed next.
func totals(rows []audit.Row) string {
	counts := audit.Count(rows)
	parts := []string{}
	if n := counts[audit.Error]; n > 0 {
		parts = append(parts, fmt.Sprintf("❌ **%d %s**", n, plural(n, "error", "errors")))
	}
	if n := counts[audit.Warning]; n > 0 {
		parts = append(parts, fmt.Sprintf("⚠️ %d %s", n, plural(n, "warning", "warnings")))
	}
	if n := counts[audit.Success]; n > 0 {
		parts = append(parts, fmt.Sprintf("✅ **%d changed**", n))
	}
	if n := counts[audit.DryRun]; n > 0 {
		parts = append(parts, fmt.Sprintf("🔍 **%d to change**", n))
	}
	if n := counts[audit.NoChange]; n > 0 {
		parts = append(parts, fmt.Sprintf("➖ %d in place", n))
	}
	return fmt.Sprintf("**%d %s:** %s\n\n", len(rows), plural(len(rows), "row", "rows"), strings.Join(parts, " · "))
}

// fold is the rows in place of one action.
type fold struct {
	action string
	rows   []int
}

// folds groups the rows in place by action, in the order the actions
// first appear.
func folds(rows []audit.Row) []fold {
	var out []fold
	at := map[string]int{}
	for i, row := range rows {
		if row.Status != audit.NoChange {
			continue
		}
		k, ok := at[row.Action]
		if !ok {
			k = len(out)
			at[row.Action] = k
			out = append(out, fold{action: row.Action})
		}
		out[k].rows = append(out[k].rows, i)
	}
	return out
}

// attention ranks what a reader must see first: errors, warnings, what
// changes, what is in place.
func attention(s audit.Status) int {
	switch s {
	case audit.Error:
		return 0
	case audit.Warning:
		return 1
	case audit.NoChange:
		return 3
	}
	return 2
}

// needsEye orders the rows a reader must see: errors, warnings, then
// what changed, each in row order; rows in place are left out.
func needsEye(rows []audit.Row) []int {
	var out []int
	for i, row := range rows {
		if row.Status != audit.NoChange {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return attention(rows[a].Status) - attention(rows[b].Status) })
	return out
}

func renderProvision(r Provision, prefix string, limit int, size func(string) int, comment bool) string {
	var head strings.Builder
	head.WriteString(prefix)
	fmt.Fprintf(&head, "## RDS provisioning: %s\n\n", text(r.Environment))
	if r.DryRun {
		head.WriteString("> [!NOTE]\n> 🔍 **Dry run:** nothing was changed. The rows show what a real run would do.\n\n")
	}
	if r.Err != "" {
		fmt.Fprintf(&head, "> [!CAUTION]\n> **Failed:** %s\n\n", text(cut(r.Err, maxErrorChars)))
	}
	if len(r.Rows) > 0 {
		head.WriteString(totals(r.Rows))
	}
	var meta []string
	if r.TfvarsPath != "" {
		m := "tfvars " + text(r.TfvarsPath)
		if r.Mode != "" {
			m += " (" + text(r.Mode) + ")"
		}
		meta = append(meta, m)
	}
	if r.BuildID != "" {
		meta = append(meta, "build "+text(r.BuildID))
	}
	if r.RunID != "" {
		meta = append(meta, "run "+runRef(r.RunID, r.RunURL))
	}
	artifact := text(r.Artifact)
	if r.RunURL != "" {
		artifact = link(r.Artifact, r.RunURL+"#artifacts")
	}
	if r.Artifact != "" && len(r.Rows) > 0 {
		meta = append(meta, "audit CSV "+artifact)
	}
	if len(meta) > 0 {
		head.WriteString(strings.Join(meta, " · ") + "\n\n")
	}

	if len(r.Rows) == 0 {
		head.WriteString("_No audit rows: nothing was provisioned._\n")
		return cutTo(head.String(), limit, size)
	}

	const tableHead = "| | Database | Username | Action | Status | ms | Message |\n|---|---|---|---|---|--:|---|\n"
	lines := make([]string, len(r.Rows))
	for i, row := range r.Rows {
		lines[i] = fmt.Sprintf("| %s | %s | %s | %s | %s | %d | %s |\n",
			marker(row.Status), text(row.Database), text(row.Username), text(row.Action),
			text(string(row.Status)), row.Duration.Milliseconds(), text(row.Message))
	}

	// Where the complete rows are, for what a report leaves out.
	csvAt := "The complete CSV is in " + text(r.CSVWhere) + "."
	if r.CSVWhere == "" {
		csvAt = "The complete CSV is in the file named by the step's audit_csv output."
	}
	summaryAt := "the job summary of the workflow run"
	if r.RunURL != "" {
		summaryAt = "the " + link("job summary", r.RunURL) + " of the workflow run"
	}
	switch {
	case r.Artifact != "":
		csvAt = "The complete CSV is the run's artifact " + artifact + "."
	case comment:
		csvAt = "The complete audit is in " + summaryAt + "."
	}
	restAt := "every row is in the audit CSV."
	if comment {
		restAt = "every row is in " + summaryAt + "."
	}

	// Above the fold: what changed, failed or warns.
	eye := needsEye(r.Rows)
	aboveRows := func(keep []int) string {
		if len(eye) == 0 {
			return "_Nothing changed: every row is already in place._\n\n"
		}
		var b strings.Builder
		b.WriteString(tableHead)
		for _, i := range keep {
			b.WriteString(lines[i])
		}
		b.WriteString("\n")
		return b.String()
	}
	above := aboveRows(eye)

	// Below it: the rows in place, one collapsed block per action.
	fs := folds(r.Rows)
	full := make([]string, len(fs))
	short := make([]string, len(fs))
	for k, f := range fs {
		open := fmt.Sprintf("<details><summary>➖ %s: %d in place</summary>\n\n", text(f.action), len(f.rows))
		var b strings.Builder
		b.WriteString(open + tableHead)
		for _, i := range f.rows {
			b.WriteString(lines[i])
		}
		b.WriteString("\n</details>\n")
		full[k] = b.String()
		short[k] = open + "_Not listed here, for size: " + restAt + "_\n\n</details>\n"
	}

	var csvText bytes.Buffer
	audit.WriteCSV(&csvText, r.Rows)
	csvBlock := fmt.Sprintf("<details><summary>Audit CSV (%d rows)</summary>\n\n%s\n</details>\n", len(r.Rows), fence("csv", csvText.String()))
	csvNote := fmt.Sprintf("_The audit CSV (%d rows) is too large to show here. %s_\n", len(r.Rows), csvAt)
	if len(fs) > 0 {
		csvNote = "\n" + csvNote // after a collapsed block
	}

	out := head.String() + above + strings.Join(full, "") + csvBlock
	if size(out) <= limit {
		return out
	}
	// Without the CSV: the folded rows, action by action, while the rest
	// fits.
	budget := limit - size(head.String()) - size(above) - size(csvNote) - size(strings.Join(short, ""))
	if budget >= 0 {
		var b strings.Builder
		for k := range fs {
			if extra := size(full[k]) - size(short[k]); extra <= budget {
				budget -= extra
				b.WriteString(full[k])
			} else {
				b.WriteString(short[k])
			}
		}
		return head.String() + above + b.String() + csvNote
	}

	// Even the rows that need an eye are too many: keep errors and
	// warnings first, and say so.
	rowsNote := func(shown int) string {
		return fmt.Sprintf("_Showing %d of %d rows that changed, failed or warn (errors and warnings first); the totals above cover all of them, and %s_\n\n", shown, len(eye), restAt)
	}
	budget = limit - size(head.String()) - size(tableHead) - size(rowsNote(len(eye))) - size(strings.Join(short, "")) - size(csvNote) - 2
	var keep []int
	for _, i := range eye {
		n := size(lines[i])
		if n > budget {
			break
		}
		budget -= n
		keep = append(keep, i)
	}
	out = head.String() + rowsNote(len(keep)) + aboveRows(keep) + strings.Join(short, "") + csvNote
	return cutTo(out, limit, size)
}
