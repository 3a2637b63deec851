package tfvars

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLayouts(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		mode      Mode
		want      File
	}{
		{
			name: "standalone with commas, quoted key, comments, optional attributes",
			src: `# header
aws_region = "eu-west-1"
master_username = "platform_admin"
database_name = "platform"
application_databases = {
  # keycloak first
  "keycloak" = {
    database_name = "keycloak" // trailing
    username      = "keycloak_user"
  },
  backstage = { database_name = "keycloak", username = "backstage_user", access_level = "editor", retired = false }
  /* block comment */
  reports = {
    database_name = "keycloak"
    username      = "reports_user"
    access_level  = "reader"
    secret_name   = "custom/reports"
    retired       = true
  }
}
`,
			mode: ModeAuto,
			want: File{Mode: ModeStandalone, Region: "eu-west-1", MasterUsername: "platform_admin", DatabaseName: "platform", HasAttribute: true, Entries: []Entry{
				{Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user", AccessLevel: "owner", Line: 7},
				{Key: "backstage", DatabaseName: "keycloak", Username: "backstage_user", AccessLevel: "editor", Line: 11},
				{Key: "reports", DatabaseName: "keycloak", Username: "reports_user", AccessLevel: "reader", SecretName: "custom/reports", Retired: true, Line: 13},
			}},
		},
		{
			name: "coupled detected from rds_config.enabled",
			src: `rds_config = {
  enabled = true
  master_username = "admin"
  application_databases = {
    app = { database_name = "app_db", username = "app_user" }
  }
}
`,
			mode: ModeAuto,
			want: File{Mode: ModeCoupled, MasterUsername: "admin", HasAttribute: true, Entries: []Entry{
				{Key: "app", DatabaseName: "app_db", Username: "app_user", AccessLevel: "owner", Line: 5},
			}},
		},
		{
			name: "coupled disabled reads as standalone",
			src:  "rds_config = { enabled = false }\n",
			mode: ModeAuto,
			want: File{Mode: ModeStandalone},
		},
		{
			name: "empty map",
			src:  "application_databases = {}\n",
			mode: ModeStandalone,
			want: File{Mode: ModeStandalone, HasAttribute: true, Entries: []Entry{}},
		},
		{
			name: "no attribute",
			src:  "aws_region = \"us-east-1\"\n",
			mode: ModeStandalone,
			want: File{Mode: ModeStandalone, Region: "us-east-1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("terraform.tfvars", []byte(tc.src), tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Path = "terraform.tfvars"
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unclosed brace", "application_databases = {\n  a = { database_name = \"a\", username = \"b\" }\n", "terraform.tfvars:"},
		{"missing username", "application_databases = {\n  a = { database_name = \"a\" }\n}\n", `terraform.tfvars:2,7: application_databases.a: missing required attribute "username"`},
		{"unknown attribute", "application_databases = {\n  a = { database_name = \"a\", username = \"b\", usrname = \"c\" }\n}\n", `unknown attribute "usrname"`},
		{"duplicate key", "application_databases = {\n  a = { database_name = \"a\", username = \"b\" }\n  a = { database_name = \"c\", username = \"d\" }\n}\n", `terraform.tfvars:3,3: duplicate application_databases key "a" (first at line 2)`},
		{"interpolation", "application_databases = {\n  a = { database_name = \"${var.x}\", username = \"b\" }\n}\n", "application_databases.a.database_name must be a quoted string"},
		{"number value", "application_databases = {\n  a = { database_name = 5, username = \"b\" }\n}\n", "must be a quoted string"},
		{"list instead of map", "application_databases = [\"a\"]\n", "application_databases must be a map"},
		{"entry not an object", "application_databases = { a = \"b\" }\n", "application_databases.a must be an object"},
		{"bad access level", "application_databases = {\n  a = { database_name = \"a\", username = \"b\", access_level = \"admin\" }\n}\n", `access_level is "admin": want owner, editor or reader`},
		{"block", "resource \"x\" \"y\" {}\n", "blocks such as \"resource\" are not allowed"},
		{"enabled not bool", "rds_config = { enabled = \"yes\" }\n", "rds_config.enabled must be true or false"},
		{"retired quoted", "application_databases = {\n  a = {\n    database_name = \"a\"\n    username = \"b\"\n    retired = \"true\"\n  }\n}\n", "terraform.tfvars:5,15: application_databases.a.retired must be true or false (unquoted)"},
		{"retired number", "application_databases = {\n  a = { database_name = \"a\", username = \"b\", retired = 1 }\n}\n", "terraform.tfvars:2,56: application_databases.a.retired must be true or false"},
		{"retired null", "application_databases = {\n  a = { database_name = \"a\", username = \"b\", retired = null }\n}\n", "application_databases.a.retired must be true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("terraform.tfvars", []byte(tc.src), ModeAuto)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	const (
		coupledOn  = "rds_config = { enabled = true }\n"
		coupledOff = "rds_config = { enabled = false }\n"
		standalone = "application_databases = {}\n"
	)
	tests := []struct {
		name  string
		files map[string]string // under the repo root
		env   string
		mode  Mode
		path  string // want, relative to the root
		want  Mode
		err   string // want the exact error text, with <root> for the root
		is    error  // and errors.Is
	}{
		{name: "coupled wins when enabled", env: "dev", mode: ModeAuto,
			files: map[string]string{"envs/dev/terraform.tfvars": coupledOn, "envs/dev-rds/terraform.tfvars": standalone},
			path:  "envs/dev/terraform.tfvars", want: ModeCoupled},
		{name: "standalone when coupled is disabled", env: "dev", mode: ModeAuto,
			files: map[string]string{"envs/dev/terraform.tfvars": coupledOff, "envs/dev-rds/terraform.tfvars": standalone},
			path:  "envs/dev-rds/terraform.tfvars", want: ModeStandalone},
		{name: "standalone alone", env: "dev", mode: ModeAuto,
			files: map[string]string{"envs/dev-rds/terraform.tfvars": standalone},
			path:  "envs/dev-rds/terraform.tfvars", want: ModeStandalone},
		{name: "forced standalone", env: "prod", mode: ModeStandalone,
			files: map[string]string{"envs/prod/terraform.tfvars": coupledOn, "envs/prod-rds/terraform.tfvars": standalone},
			path:  "envs/prod-rds/terraform.tfvars", want: ModeStandalone},
		{name: "forced coupled", env: "prod", mode: ModeCoupled,
			files: map[string]string{"envs/prod/terraform.tfvars": coupledOff},
			path:  "envs/prod/terraform.tfvars", want: ModeCoupled},
		// SPEC's sentence is kept, first, for the one case a mode settles.
		{name: "coupled file without enabled and no standalone", env: "dev", mode: ModeAuto,
			files: map[string]string{"envs/dev/terraform.tfvars": "cluster_name = \"x\"\n"},
			err:   "Unable to detect RDS mode. Set RDS_MODE=coupled|standalone. (environment dev: <root>/envs/dev/terraform.tfvars exists but does not set rds_config.enabled = true, and <root>/envs/dev-rds/terraform.tfvars does not exist)",
			is:    ErrModeUndetected},
		// No file at all is a wrong environment or root, not a mode to set.
		{name: "no tfvars for the environment", env: "staging", mode: ModeAuto,
			files: map[string]string{"envs/dev-rds/terraform.tfvars": standalone},
			err:   "no tfvars file for environment staging: neither <root>/envs/staging/terraform.tfvars (coupled layout) nor <root>/envs/staging-rds/terraform.tfvars (standalone layout) exists; " + locateHint,
			is:    ErrNoTfvars},
		{name: "forced coupled, only the standalone file", env: "prod", mode: ModeCoupled,
			files: map[string]string{"envs/prod-rds/terraform.tfvars": standalone},
			err:   "no tfvars file for environment prod: <root>/envs/prod/terraform.tfvars (coupled layout) does not exist; <root>/envs/prod-rds/terraform.tfvars exists: that is the standalone layout (RDS_MODE=standalone, or auto)",
			is:    ErrNoTfvars},
		{name: "forced standalone, nothing", env: "prod", mode: ModeStandalone,
			err: "no tfvars file for environment prod: <root>/envs/prod-rds/terraform.tfvars (standalone layout) does not exist; " + locateHint,
			is:  ErrNoTfvars},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, src := range tc.files {
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			path, mode, err := Locate(root, tc.env, tc.mode)
			if tc.err != "" {
				want := strings.ReplaceAll(tc.err, "<root>", root)
				if err == nil || err.Error() != want || !errors.Is(err, tc.is) {
					t.Fatalf("err = %v\nwant %s (errors.Is %v)", err, want, tc.is)
				}
				// The paths come before any word about the mode.
				if i, j := strings.Index(want, "RDS_MODE"), strings.Index(want, root); tc.is == ErrNoTfvars && i >= 0 && i < j {
					t.Errorf("RDS_MODE is named before the paths tried: %s", want)
				}
				if tc.is == ErrNoTfvars && strings.Contains(err.Error(), "Unable to detect") {
					t.Errorf("a missing file is reported as an undetected mode: %v", err)
				}
				return
			}
			if err != nil || mode != tc.want || path != filepath.Join(root, tc.path) {
				t.Fatalf("got %s %s %v, want %s %s", path, mode, err, tc.path, tc.want)
			}
		})
	}
}

func TestParseSampleInfraRepo(t *testing.T) {
	for _, env := range []string{"dev", "test"} {
		path, mode, err := Locate("../../testdata/infra", env, ModeAuto)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Load(path, mode)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Entries) != 2 || f.MasterUsername != "platform_admin" {
			t.Errorf("%s: %+v", env, f)
		}
	}
}

// FuzzParse: any input either parses or returns an error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add("application_databases = {\n  a = { database_name = \"a\", username = \"b\" }\n}\n")
	f.Add("rds_config = { enabled = true, application_databases = { \"x\" = { database_name = \"y\", username = \"z\" } } }\n")
	f.Add("application_databases = { a = { database_name = \"${x}\" } }")
	f.Add("rds_instances = { a-1 = { tier = \"small\", max_databases = 2 } }\napplication_databases = { a = { database_name = \"a\", username = \"b\", instance = \"a-1\" } }\n")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("f.tfvars", []byte(src), ModeAuto)
		if err == nil && file == nil {
			t.Fatal("nil file without error")
		}
	})
}

func TestParseAdoptOwnedDatabases(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string
		err         string
	}{
		{"list", `["payroll", "payroll_archive"]`, []string{"payroll", "payroll_archive"}, ""},
		{"empty list", `[]`, []string{}, ""},
		{"not a list", `"payroll"`, nil, "adopt_owned_databases must be a list of quoted strings"},
		{"interpolated item", `["${var.db}"]`, nil, "adopt_owned_databases items must be a quoted string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "application_databases = {\n  a = { database_name = \"a\", username = \"b\", adopt_owned_databases = " + tc.value + " }\n}\n"
			f, err := Parse("terraform.tfvars", []byte(src), ModeStandalone)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, f.Entries[0].AdoptOwnedDatabases); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
