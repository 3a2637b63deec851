package request

import (
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func validForm() Form {
	return Form{
		DatabaseName:  "test_inventory",
		Username:      "test_inventory_user",
		Owner:         "app-team",
		User:          "daniel-deans",
		Domain:        "catalog",
		Environment:   "dev",
		Risk:          "medium",
		Size:          "small",
		InitialSchema: "none",
		BaseBranch:    "development",
	}
}

func fields(problems []FieldError) []string {
	var out []string
	for _, p := range problems {
		out = append(out, p.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	facts := Facts{
		Enums:     DefaultEnums(),
		Instances: []Instance{{Source: "envs/dev-rds/terraform.tfvars", DatabaseName: "platform", MasterUsername: "platform_admin"}},
		Databases: []ExistingDatabase{
			{Source: "envs/dev-rds/terraform.tfvars", Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user"},
			{Source: "envs/dev-rds/terraform.tfvars", Key: "legacy", DatabaseName: "legacy_db", Username: "legacy_user"},
		},
	}
	tests := []struct {
		name   string
		edit   func(*Form)
		fields []string
		rule   string // substring of the first problem's rule
	}{
		{"runbook example", func(*Form) {}, nil, ""},
		{"optional fields empty", func(f *Form) { f.InitialSchema, f.BaseBranch = "", "" }, nil, ""},
		{"same request again", func(f *Form) { f.DatabaseName, f.Username = "keycloak", "keycloak_user" }, nil, ""},
		{"every field empty", func(f *Form) { *f = Form{} }, []string{"database_name", "username", "owner", "user", "domain", "environment", "risk", "size"}, "is required"},
		{"reserved database", func(f *Form) { f.DatabaseName = "template1" }, []string{"database_name"}, "reserved"},
		{"instance database", func(f *Form) { f.DatabaseName = "platform" }, []string{"database_name"}, "instance's own database"},
		{"master user", func(f *Form) { f.Username = "platform_admin" }, []string{"username"}, "master user"},
		{"reserved prefix", func(f *Form) { f.Username = "pg_reader" }, []string{"username"}, "reserved prefix"},
		{"name exists with other username", func(f *Form) { f.DatabaseName = "keycloak" }, []string{"database_name"}, `already exists in envs/dev-rds/terraform.tfvars with username "keycloak_user"; to give "test_inventory_user" access to it use request_type grant`},
		{"username used by another database", func(f *Form) { f.Username = "keycloak_user" }, []string{"username"}, "already used by database"},
		{"name is another entry's key", func(f *Form) { f.DatabaseName = "legacy" }, []string{"database_name"}, "already the key"},
		{"too short", func(f *Form) { f.DatabaseName = "ab" }, []string{"database_name"}, "must match"},
		{"username too long", func(f *Form) { f.Username = "a" + strings.Repeat("b", 31) }, []string{"username"}, "must match"},
		{"dev allows only small", func(f *Form) { f.Size = "large" }, []string{"size"}, "allows only small"},
		{"prod allows large", func(f *Form) { f.Size, f.Environment = "large", "prod" }, nil, ""},
		{"unknown owner", func(f *Form) { f.Owner = "bob" }, []string{"owner"}, "must be one of"},
		{"upper-case login", func(f *Form) { f.User = "Daniel" }, []string{"user"}, "GitHub login"},
		{"login too long", func(f *Form) { f.User = strings.Repeat("a", 40) }, []string{"user"}, "at most 39"},
		{"login of 39 characters", func(f *Form) { f.User = strings.Repeat("a", 39) }, nil, ""},
		{"login leading hyphen", func(f *Form) { f.User = "-daniel" }, []string{"user"}, "not starting or ending with a hyphen"},
		{"login trailing hyphen", func(f *Form) { f.User = "daniel-" }, []string{"user"}, "not starting or ending with a hyphen"},
		{"login double hyphen", func(f *Form) { f.User = "daniel--deans" }, []string{"user"}, "single hyphens"},
		{"username public", func(f *Form) { f.Username = "public" }, []string{"username"}, "reserved by PostgreSQL"},
		{"username none", func(f *Form) { f.Username = "none" }, []string{"username"}, "reserved by PostgreSQL"},
		{"username current_user", func(f *Form) { f.Username = "current_user" }, []string{"username"}, "stands for the caller"},
		{"unknown schema", func(f *Form) { f.InitialSchema = "graph" }, []string{"initial_schema"}, "must be one of"},
		{"branch with dots", func(f *Form) { f.BaseBranch = "main/../x" }, []string{"base_branch"}, "branch name"},
		// Only the '..' rule refuses this one ("main/../x" is also '/.').
		{"branch with two dots", func(f *Form) { f.BaseBranch = "release..x" }, []string{"base_branch"}, "without '..'"},
		{"unknown environment skips size rule", func(f *Form) { f.Environment, f.Size = "qa", "large" }, []string{"environment"}, "must be one of"},
		{"two problems in order", func(f *Form) { f.Risk, f.DatabaseName = "severe", "X" }, []string{"database_name", "risk"}, "must match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := validForm()
			tc.edit(&f)
			got := Validate(f, facts)
			if diff := cmp.Diff(tc.fields, fields(got)); diff != "" {
				t.Fatalf("fields (-want +got):\n%s\nproblems: %v", diff, got)
			}
			if tc.rule != "" && !strings.Contains(got[0].Rule, tc.rule) {
				t.Errorf("rule %q does not contain %q", got[0].Rule, tc.rule)
			}
			for _, p := range got {
				if n := strings.Count(p.String(), p.Value); n != 1 {
					t.Errorf("%q shows the value %d times, want once", p.String(), n)
				}
			}
		})
	}
}

// TestValidateHostile is the acceptance list: each hostile value is rejected
// in each free-text or enum field, naming the field.
func TestValidateHostile(t *testing.T) {
	hostile := map[string]string{
		"newline":      "abc\ndef",
		"quote":        `abc"def`,
		"single quote": "abc'def",
		"interp":       "abc${x}",
		"hash":         "abc#def",
		"colon":        "abc: def",
		"markdown":     "[x](http://e)",
		"backtick":     "abc`def",
		"over-long":    strings.Repeat("a", 300),
		"look-alike":   "tеst_inventory", // Cyrillic е
		"fullwidth":    "ｔest",
		"space":        "abc def",
		"nul":          "abc\x00",
		"crlf":         "abc\r\n",
	}
	setters := map[string]func(*Form, string){
		FieldRequestType:   func(f *Form, v string) { f.RequestType = v },
		FieldAccessLevel:   func(f *Form, v string) { f.AccessLevel = v },
		FieldDatabaseName:  func(f *Form, v string) { f.DatabaseName = v },
		FieldUsername:      func(f *Form, v string) { f.Username = v },
		FieldOwner:         func(f *Form, v string) { f.Owner = v },
		FieldUser:          func(f *Form, v string) { f.User = v },
		FieldDomain:        func(f *Form, v string) { f.Domain = v },
		FieldEnvironment:   func(f *Form, v string) { f.Environment = v },
		FieldRisk:          func(f *Form, v string) { f.Risk = v },
		FieldSize:          func(f *Form, v string) { f.Size = v },
		FieldInitialSchema: func(f *Form, v string) { f.InitialSchema = v },
		FieldBaseBranch:    func(f *Form, v string) { f.BaseBranch = v },
	}
	for field, set := range setters {
		for name, v := range hostile {
			if field == FieldBaseBranch && name == "over-long" {
				v = strings.Repeat("a", 101)
			}
			t.Run(field+"/"+name, func(t *testing.T) {
				f := validForm()
				set(&f, v)
				got := Validate(f, Facts{})
				if len(got) == 0 {
					t.Fatalf("%s = %q accepted", field, v)
				}
				if got[0].Field != field {
					t.Errorf("problem names %q, want %q", got[0].Field, field)
				}
				assertSafeText(t, got[0].Value)
			})
		}
	}
}

func assertSafeText(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r > unicode.MaxASCII || r < 0x20 || r == '`' {
			t.Fatalf("unsafe rune %q in %q", r, s)
		}
	}
	if len(s) > 10*maxShownValue+40 { // \U0010ffff is 10 bytes
		t.Fatalf("value not truncated: %d bytes", len(s))
	}
}

func TestQuoteValue(t *testing.T) {
	tests := map[string]string{
		"plain":      `"plain"`,
		"a\nb":       `"a\nb"`,
		"tеst":       `"t\u0435st"`,
		"a`b":        `"a\x60b"`,
		"\xff":       `"\ufffd"`,
		"${x}":       `"${x}"`,
		"say \"hi\"": `"say \"hi\""`,
	}
	for in, want := range tests {
		if got := QuoteValue(in); got != want {
			t.Errorf("QuoteValue(%q) = %s, want %s", in, got, want)
		}
	}
	long := QuoteValue(strings.Repeat("x", 100))
	if !strings.HasSuffix(long, "... (100 characters)") || strings.Count(long, "x") != 64 {
		t.Errorf("long value: %s", long)
	}
}

func TestParseEnums(t *testing.T) {
	src := []byte(`version: 1
domains: [payments, catalog]
components: [infra]          # other lists of the platform file are ignored
environments: [dev, prod, ephemeral]
rds_size_tiers:
  small: db.t4g.micro
  huge: db.r6g.xlarge
rds_size_by_environment:
  ephemeral: [small]
`)
	e, err := ParseEnums(src)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultEnums()
	want.Domains = []string{"payments", "catalog"}
	want.Environments = []string{"dev", "prod", "ephemeral"}
	want.Sizes = []string{"small", "huge"}
	want.InstanceClass = map[string]string{"small": "db.t4g.micro", "huge": "db.r6g.xlarge"}
	want.SizesByEnvironment = map[string][]string{"ephemeral": {"small"}}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f := validForm()
	f.Environment, f.Size, f.Domain = "dev", "huge", "payments"
	if got := Validate(f, Facts{Enums: e}); len(got) != 0 {
		t.Errorf("dev may use every size once the override drops the dev rule: %v", got)
	}

	for name, bad := range map[string]string{
		"hostile value": "owners: [\"a\\nb\"]\n",
		"empty list":    "owners: []\n",
		"duplicate":     "owners: [a, a]\n",
		"bad class":     "rds_size_tiers: {small: \"x; drop\"}\n",
		"unknown size":  "rds_size_by_environment: {dev: [huge]}\n",
		"not yaml":      "owners: [\n",
		"tiers a list":  "rds_size_tiers: [small]\n",
		"too large":     "owners: [a]\n#" + strings.Repeat("x", MaxEnumsSize) + "\n",
	} {
		if _, err := ParseEnums([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"test_inventory", "a\nb", "${x}", "tеst", "pg_x", ""} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, db, user, login string) {
		form := validForm()
		form.DatabaseName, form.Username, form.User = db, user, login
		problems := Validate(form, Facts{})
		for _, p := range problems {
			assertSafeText(t, p.Value)
		}
		if len(problems) > 0 {
			return
		}
		// Whatever passes is plain lowercase ASCII: it cannot leave its
		// field in HCL, YAML, Markdown or a branch name.
		for _, v := range []string{db, user, login} {
			for _, r := range v {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
					t.Fatalf("accepted %q", v)
				}
			}
		}
	})
}

// TestValidateReportsAProblemOnce: in coupled mode both tfvars files and the
// catalog hold an entry; a problem found in each is one problem naming every
// file, and problems that differ stay apart.
func TestValidateReportsAProblemOnce(t *testing.T) {
	const (
		coupled    = "envs/dev/terraform.tfvars"
		standalone = "envs/dev-rds/terraform.tfvars"
		cat        = "docs/20-contracts/resource-catalogs/rds-catalog.yaml"
	)
	facts := Facts{
		Enums: DefaultEnums(),
		Instances: []Instance{
			{Source: coupled, DatabaseName: "platform", MasterUsername: "platform_admin"},
			{Source: standalone, DatabaseName: "platform", MasterUsername: "platform_admin"},
		},
		Databases: []ExistingDatabase{
			{Source: coupled, Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user"},
			{Source: standalone, Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user"},
			{Source: cat, Key: "keycloak", DatabaseName: "keycloak", Username: "keycloak_user"},
			// The catalog drifted: another username is another problem.
			{Source: cat, Key: "orders", DatabaseName: "orders", Username: "legacy_orders"},
			{Source: standalone, Key: "orders", DatabaseName: "orders", Username: "orders_user"},
			{Source: coupled, Key: "orders", DatabaseName: "orders", Username: "orders_user"},
		},
	}
	tests := []struct {
		name string
		edit func(*Form)
		want []FieldError
	}{
		{"database of another username in three files", func(f *Form) { f.DatabaseName, f.Username = "keycloak", "other_user" }, []FieldError{
			{Field: "database_name", Value: `"keycloak"`, Rule: `already exists in envs/dev/terraform.tfvars, envs/dev-rds/terraform.tfvars and docs/20-contracts/resource-catalogs/rds-catalog.yaml with username "keycloak_user"; to give "other_user" access to it use request_type grant`},
		}},
		{"username of another database in three files", func(f *Form) { f.Username = "keycloak_user" }, []FieldError{
			{Field: "username", Value: `"keycloak_user"`, Rule: `is already used by database "keycloak" in envs/dev/terraform.tfvars, envs/dev-rds/terraform.tfvars and docs/20-contracts/resource-catalogs/rds-catalog.yaml; each database needs its own username`},
		}},
		{"instance database and master user in both tfvars", func(f *Form) { f.DatabaseName, f.Username = "platform", "platform_admin" }, []FieldError{
			{Field: "database_name", Value: `"platform"`, Rule: "is the RDS instance's own database (database_name in envs/dev/terraform.tfvars and envs/dev-rds/terraform.tfvars)"},
			{Field: "username", Value: `"platform_admin"`, Rule: "is the RDS instance's master user (master_username in envs/dev/terraform.tfvars and envs/dev-rds/terraform.tfvars)"},
		}},
		{"two usernames are two problems", func(f *Form) { f.DatabaseName, f.Username = "orders", "other_user" }, []FieldError{
			{Field: "database_name", Value: `"orders"`, Rule: `already exists in docs/20-contracts/resource-catalogs/rds-catalog.yaml with username "legacy_orders"; to give "other_user" access to it use request_type grant`},
			{Field: "database_name", Value: `"orders"`, Rule: `already exists in envs/dev-rds/terraform.tfvars and envs/dev/terraform.tfvars with username "orders_user"; to give "other_user" access to it use request_type grant`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := validForm()
			tc.edit(&f)
			if diff := cmp.Diff(tc.want, Validate(f, facts)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
