package report

import "testing"

// The reports of a 300-entry run (899 rows): what every provision step
// spends on its summary and comment.
func BenchmarkProvisionReports300(b *testing.B) {
	r := Provision{Environment: "dev", Rows: runRows(300), RunURL: "https://github.com/goldenpath/infra/actions/runs/1", Artifact: "rds-provision-audit-dev-1"}
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			ProvisionSummary(r)
		}
		b.ReportMetric(float64(byteSize(ProvisionSummary(r))), "bytes/report")
	})
	b.Run("comment", func(b *testing.B) {
		for b.Loop() {
			ProvisionComment(r)
		}
		b.ReportMetric(float64(runeSize(ProvisionComment(r))), "chars/report")
	})
}
