package report

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goldenpath/rds-provision/internal/audit"
	"github.com/goldenpath/rds-provision/internal/naming"
)

// The plan comment: one per pull request, holding one section per
// environment. Each environment's dry-run job replaces its own section and
// keeps the others, so the reviewer reads every environment's plan in one
// place, and a rerun edits the comment instead of adding one. Its markers
// differ from the audit comment's ("<!-- rds-provision:<env> -->"), so
// neither ever edits the other.
const (
	// PlanMarker identifies the plan comment on a pull request.
	PlanMarker = "<!-- rds-provision-plan -->"
	// maxPlanSectionChars bounds one environment's section so that dev,
	// test, staging and prod fit in one comment together.
	maxPlanSectionChars = (MaxCommentChars - 1000) / 4
)

// PlanSectionStart and PlanSectionEnd enclose one environment's section
// of the plan comment.
func PlanSectionStart(env string) string { return "<!-- rds-provision-plan:" + env + " -->" }
func PlanSectionEnd(env string) string   { return "<!-- /rds-provision-plan:" + env + " -->" }

// planSectionRE finds what may be section starts; only those naming an
// environment that passes the environment rule (naming.CheckEnvironment)
// are ours.
var planSectionRE = regexp.MustCompile(`<!-- rds-provision-plan:([^\s<>]{1,64}) -->`)

// PlanHeader opens the plan comment and the plan job summary.
const PlanHeader = "## RDS provisioning plan\n\n" +
	"🔍 What merging this pull request would do on each environment's RDS instance, " +
	"from a dry run of rds-provision: nothing was changed. Updated on every push.\n\n"

// PlanSummary renders the job summary of a dry run on a pull request: the
// same header and section as the environment's part of the plan comment.
func PlanSummary(r Provision) string {
	return PlanHeader + PlanSection(r)
}

// MergePlanComment returns the plan comment with env's section set to
// section and every other environment's section of current kept, in the
// order dev, test, staging, prod, then by name. A section whose end marker
// is missing (a hand edit, a cut body) is dropped; its environment's next
// run writes it again.
func MergePlanComment(current, env, section string) string {
	sections := map[string]string{}
	for _, m := range planSectionRE.FindAllStringSubmatchIndex(current, -1) {
		name := current[m[2]:m[3]]
		if naming.CheckEnvironment(name) != nil {
			continue
		}
		rest := current[m[1]:]
		end := strings.Index(rest, PlanSectionEnd(name))
		if end < 0 {
			continue
		}
		if _, seen := sections[name]; !seen {
			sections[name] = strings.Trim(rest[:end], "\n")
		}
	}
	sections[env] = strings.Trim(section, "\n")

	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	rank := map[string]int{"dev": 0, "test": 1, "staging": 2, "prod": 3}
	slices.SortFunc(names, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})

	var b strings.Builder
	b.WriteString(PlanMarker + "\n" + PlanHeader)
	for _, name := range names {
		fmt.Fprintf(&b, "%s\n%s\n%s\n\n", PlanSectionStart(name), sections[name], PlanSectionEnd(name))
	}
	return b.String()
}

// PlanSection renders one environment's plan: a headline of what would
// change, a run-level failure if any, the rows that change something (and
// every warning and error), then the rows already in place, collapsed;
// within maxPlanSectionChars, keeping errors and warnings first.
func PlanSection(r Provision) string {
	counts := audit.Count(r.Rows)
	var head strings.Builder
	fmt.Fprintf(&head, "### %s\n\n", text(r.Environment))
	var parts []string
	if n := counts[audit.DryRun]; n > 0 {
		parts = append(parts, fmt.Sprintf("🔍 **%d to change**", n))
	}
	if n := counts[audit.NoChange]; n > 0 {
		parts = append(parts, fmt.Sprintf("➖ %d in place", n))
	}
	if n := counts[audit.Warning]; n > 0 {
		parts = append(parts, fmt.Sprintf("⚠️ %d %s", n, plural(n, "warning", "warnings")))
	}
	if n := counts[audit.Error]; n > 0 {
		parts = append(parts, fmt.Sprintf("❌ **%d %s**", n, plural(n, "error", "errors")))
	}
	switch {
	case len(parts) > 0:
		head.WriteString(strings.Join(parts, " · ") + "\n\n")
	case r.Err == "":
		head.WriteString("_Nothing to provision: application\\_databases lists no entry._\n\n")
	}
	if r.Err != "" {
		fmt.Fprintf(&head, "> [!CAUTION]\n> **The plan failed:** %s\n\n", text(cut(r.Err, maxErrorChars)))
	}
	var meta []string
	if r.TfvarsPath != "" {
		meta = append(meta, "tfvars "+text(r.TfvarsPath))
	}
	if r.HeadSHA != "" {
		meta = append(meta, "commit "+text(shortSHA(r.HeadSHA)))
	}
	if r.RunID != "" {
		meta = append(meta, "run "+runRef(r.RunID, r.RunURL))
	}
	if len(meta) > 0 {
		head.WriteString(strings.Join(meta, " · ") + "\n\n")
	}

	const tableHead = "| | Database | Username | Action | Plan |\n|---|---|---|---|---|\n"
	line := func(row audit.Row) string {
		return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", marker(row.Status),
			text(row.Database), text(row.Username), text(row.Action), text(row.Message))
	}
	// What a reviewer must see first; a cut drops the end of the list.
	order := make([]int, len(r.Rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return attention(r.Rows[a].Status) - attention(r.Rows[b].Status) })

	budget := maxPlanSectionChars - runeSize(head.String()) - 2*runeSize(tableHead) - 400
	keep := make([]bool, len(r.Rows))
	shown := 0
	for _, i := range order {
		n := runeSize(line(r.Rows[i]))
		if n > budget {
			break
		}
		budget -= n
		keep[i] = true
		shown++
	}

	var changes, inPlace strings.Builder
	nInPlace := 0
	for i, row := range r.Rows {
		if !keep[i] {
			continue
		}
		if row.Status == audit.NoChange {
			inPlace.WriteString(line(row))
			nInPlace++
		} else {
			changes.WriteString(line(row))
		}
	}
	out := head.String()
	if shown < len(r.Rows) {
		out += fmt.Sprintf("_Showing %d of %d rows (errors and warnings first); the counts above cover all of them, the job summary's audit CSV lists every row._\n\n", shown, len(r.Rows))
	}
	if changes.Len() > 0 {
		out += tableHead + changes.String() + "\n"
	}
	if nInPlace > 0 {
		out += fmt.Sprintf("<details><summary>Already in place (%d)</summary>\n\n%s%s\n</details>\n", nInPlace, tableHead, inPlace.String())
	}
	return cutTo(out, maxPlanSectionChars, runeSize)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
