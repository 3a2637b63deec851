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

// ProvisionSummary renders the job summary of a provision run: dry-run
// banner, counts per status, a table of the audit rows, and the CSV in a
// collapsed block, within MaxSummaryBytes.
func ProvisionSummary(r Provision) string {
	return renderProvision(r, "", MaxSummaryBytes, byteSize,
		"The complete CSV is in the file named by the step's audit_csv output.")
}

// ProvisionComment renders the pull request comment of a provision run for
// one environment: the hidden marker, then the same content as the summary,
// within MaxCommentChars.
func ProvisionComment(r Provision) string {
	return renderProvision(r, CommentMarker(r.Environment)+"\n", MaxCommentChars, runeSize,
		"The complete audit is in the job summary of the workflow run.")
}

func renderProvision(r Provision, prefix string, limit int, size func(string) int, whereComplete string) string {
	var head strings.Builder
	head.WriteString(prefix)
	fmt.Fprintf(&head, "## RDS provisioning: %s\n\n", text(r.Environment))
	if r.DryRun {
		head.WriteString("> [!NOTE]\n> 🔍 **Dry run:** nothing was changed. The rows show what a real run would do.\n\n")
	}
	if r.Err != "" {
		fmt.Fprintf(&head, "> [!CAUTION]\n> **Failed:** %s\n\n", text(cut(r.Err, maxErrorChars)))
	}
	counts := audit.Count(r.Rows)
	head.WriteString("| Status | Rows |\n|:--|--:|\n")
	for _, s := range audit.Statuses {
		fmt.Fprintf(&head, "| %s %s | %d |\n", marker(s), s, counts[s])
	}
	head.WriteString("\n")
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
	var csvText bytes.Buffer
	audit.WriteCSV(&csvText, r.Rows)
	csvBlock := fmt.Sprintf("<details><summary>Audit CSV (%d rows)</summary>\n\n%s\n</details>\n", len(r.Rows), fence("csv", csvText.String()))

	full := head.String() + tableHead + strings.Join(lines, "") + "\n" + csvBlock
	if size(full) <= limit {
		return full
	}

	// Too big: leave out the CSV, then rows — errors and warnings are kept
	// first — and say so.
	csvNote := fmt.Sprintf("_The audit CSV (%d rows) is too large to show here. %s_\n", len(r.Rows), whereComplete)
	withoutCSV := head.String() + tableHead + strings.Join(lines, "") + "\n" + csvNote
	if size(withoutCSV) <= limit {
		return withoutCSV
	}
	rowsNote := func(shown int) string {
		return fmt.Sprintf("_Showing %d of %d rows (errors and warnings first); the counts above cover all of them._\n\n", shown, len(r.Rows))
	}
	budget := limit - size(head.String()) - size(tableHead) - size(rowsNote(len(r.Rows))) - size(csvNote) - 2
	order := make([]int, len(r.Rows))
	for i := range order {
		order[i] = i
	}
	rank := func(s audit.Status) int {
		switch s {
		case audit.Error:
			return 0
		case audit.Warning:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank(r.Rows[a].Status) - rank(r.Rows[b].Status) })
	keep := make([]bool, len(r.Rows))
	shown, used := 0, 0
	for _, i := range order {
		if used+size(lines[i]) > budget {
			break
		}
		keep[i] = true
		used += size(lines[i])
		shown++
	}
	var out strings.Builder
	out.WriteString(head.String())
	out.WriteString(rowsNote(shown))
	out.WriteString(tableHead)
	for i, l := range lines {
		if keep[i] {
			out.WriteString(l)
		}
	}
	out.WriteString("\n")
	out.WriteString(csvNote)
	return cutTo(out.String(), limit, size)
}
