package tfvars

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHostileSize: the parser recurses once per nesting level, so depth and
// size are refused before it runs, with an error naming the file and limit.
func TestHostileSize(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "x = " + strings.Repeat(open, n) + strings.Repeat(close, n) + "\n"
	}
	for _, tc := range []struct {
		name, src string
		want      string // substring of the error; empty: parses
	}{
		{"120 KB of nested brackets", "x = " + strings.Repeat("[", 120<<10) + "\n", "f.tfvars:1,37: brackets nested more than 32 deep: the limit is 32"},
		{"nested braces", deep("{a={", "}}", 40), "brackets nested more than 32 deep"},
		{"nested parentheses", deep("(", ")", 33), "brackets nested more than 32 deep"},
		{"nested interpolations", `x = "` + strings.Repeat(`${"`, 40) + "\"\n", "brackets nested more than 32 deep"},
		{"32 levels", deep("[", "]", 32), ""},
		{"brackets in a string do not count", `x = "` + strings.Repeat("[", 100) + "\"\n", ""},
		{"brackets in a comment do not count", "# " + strings.Repeat("{", 100) + "\nx = 1\n", ""},
		{"over the size limit", "# " + strings.Repeat("a", MaxFileSize) + "\n", "f.tfvars is over the limit of 524288 bytes (512 KiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.tfvars", []byte(tc.src), ModeStandalone)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want it parsed", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadRefusesLargeFileUnread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "terraform.tfvars")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file of 1 GiB: reading it whole would take the memory.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(path, ModeStandalone)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrTooLarge naming %s", err, path)
	}
}

func TestNullIsAbsent(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      File
	}{
		{"standalone", "database_name = null\nmaster_username = null\naws_region = null\nenvironment = null\napplication_databases = {}\n",
			File{Mode: ModeStandalone, HasAttribute: true, Entries: []Entry{}}},
		{"coupled", "rds_config = {\n  enabled = true\n  database_name = null\n  master_username = null\n}\n",
			File{Mode: ModeCoupled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("f.tfvars", []byte(tc.src), ModeAuto)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Path = "f.tfvars"
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOwnerEntriesOfDatabases(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // substring of the error; empty: parses
	}{
		{"two owners", `application_databases = {
  shop = { database_name = "shop", username = "shop_user" }
  shop_admin = { database_name = "shop", username = "shop_admin", access_level = "owner" }
}
`, `f.tfvars:3,3: application_databases.shop (line 2) and application_databases.shop_admin (line 3) are both owner entries of database shop`},
		{"owner and reader", `application_databases = {
  shop = { database_name = "shop", username = "shop_user" }
  shop_ro = { database_name = "shop", username = "shop_ro", access_level = "reader" }
}
`, ""},
		{"reader listed before its owner", `application_databases = {
  shop_ro = { database_name = "shop", username = "shop_ro", access_level = "reader" }
  shop = { database_name = "shop", username = "shop_user" }
}
`, ""},
		{"reader of a database no owner entry lists", `application_databases = {
  shop = { database_name = "shop", username = "shop_user" }
  spy = { database_name = "payroll", username = "spy_user", access_level = "reader" }
}
`, `f.tfvars:3,3: application_databases.spy: access_level reader on database payroll, which no owner entry of application_databases lists`},
		{"editor of a database no owner entry lists", `application_databases = {
  shop = { database_name = "shop", username = "shop_user" }
  spy = { database_name = "payroll", username = "spy_user", access_level = "editor" }
}
`, `f.tfvars:3,3: application_databases.spy: access_level editor on database payroll`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.tfvars", []byte(tc.src), ModeStandalone)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var pos *Error
			if !errors.As(err, &pos) || !strings.Contains(err.Error(), tc.want) || pos.Line != 3 {
				t.Fatalf("err = %v, want a *Error at line 3 containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, src, env string
		want           string // substring of the error; empty: accepted
	}{
		{"matches", "environment = \"prod\"\n", "prod", ""},
		{"absent", "aws_region = \"eu-west-2\"\n", "dev", ""},
		{"not a string is not compared", "environment = { name = \"prod\" }\n", "dev", ""},
		{"differs", "environment = \"prod\"\n", "dev", `f.tfvars sets environment = "prod" but the run is for --env dev`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.tfvars", []byte(tc.src), ModeStandalone)
			if err != nil {
				t.Fatal(err)
			}
			err = f.CheckEnvironment(tc.env)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrEnvironmentMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrEnvironmentMismatch containing %q", err, tc.want)
			}
		})
	}
}
