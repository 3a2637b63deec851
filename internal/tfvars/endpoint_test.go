package tfvars

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An RDS-managed master secret holds only username and password; the
// endpoint may come from the tfvars, in either layout.
func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name, src  string
		want       [3]any // endpoint, port, identifier
		wantDBName string
	}{
		{"standalone, port as a number", `identifier = "goldenpath-platform-db-dev"
rds_endpoint = "db.example.internal"
rds_port = 5432
database_name = "platform"
`, [3]any{"db.example.internal", 5432, "goldenpath-platform-db-dev"}, "platform"},
		{"standalone, port as a string", `rds_endpoint = "db.example.internal"
rds_port = "6432"
`, [3]any{"db.example.internal", 6432, ""}, ""},
		{"coupled, inside rds_config", `rds_config = {
  enabled = true
  identifier = "goldenpath-platform-db-test"
  rds_endpoint = "db.test.internal"
  rds_port = 5433
  database_name = "platform"
}
`, [3]any{"db.test.internal", 5433, "goldenpath-platform-db-test"}, "platform"},
		{"absent", `aws_region = "eu-west-2"
`, [3]any{"", 0, ""}, ""},
		{"null counts as absent", `rds_endpoint = null
rds_port = null
`, [3]any{"", 0, ""}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("terraform.tfvars", []byte(tc.src), ModeAuto)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, [3]any{f.Endpoint, f.Port, f.Identifier}); diff != "" {
				t.Errorf("endpoint, port, identifier (-want +got):\n%s", diff)
			}
			if f.DatabaseName != tc.wantDBName {
				t.Errorf("DatabaseName = %q, want %q", f.DatabaseName, tc.wantDBName)
			}
		})
	}
}

func TestParseEndpointRefusesBadPorts(t *testing.T) {
	for _, src := range []string{
		"rds_port = 0\n", "rds_port = 65536\n", "rds_port = 5432.5\n", "rds_port = \"five\"\n", "rds_port = true\n",
		"rds_config = {\n  enabled = true\n  rds_port = -1\n}\n",
	} {
		_, err := Parse("terraform.tfvars", []byte(src), ModeAuto)
		if err == nil || !strings.Contains(err.Error(), "rds_port must be a port number from 1 to 65535") || !strings.HasPrefix(err.Error(), "terraform.tfvars:") {
			t.Errorf("%q: err = %v, want the port rule at its line", src, err)
		}
	}
}
