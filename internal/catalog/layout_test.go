package catalog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yamlv3 "go.yaml.in/yaml/v3"
	yaml11 "gopkg.in/yaml.v2"
)

// TestUpsertLayouts: catalogs laid out in ways the first version lost data
// on or panicked on are edited line by line; the golden diff shows every
// changed line.
func TestUpsertLayouts(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("testdata", "sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const frontMatter = "---\ntitle: RDS catalog\nreviewers: [platform-team]\n---\n"
	const second = "---\n# a second document, kept as it is\nkind: Notes\nitems:\n  - one\n"
	keycloak := func(e *Entry) {
		*e = Entry{Name: "keycloak", Owner: "security-team", RequestedBy: "platform-bot", Domain: "identity", Risk: "high",
			Username: "keycloak_user", SizeTier: "small", InstanceClass: "db.t3.micro", SecretPath: "goldenpath/dev/keycloak/postgres"}
	}
	tests := []struct {
		name  string
		input string
		edit  func(*Entry)
		keep  []string // byte ranges that must stay as they are
	}{
		{name: "no_databases_key", input: "version: \"1.0\"\nlast_updated: \"2026-01-16\"\nrds_instance: goldenpath-platform-db-dev\n"},
		{name: "databases_null", input: "last_updated: \"2026-01-16\"\ndatabases:   # none yet\n# footer\n"},
		{name: "databases_tilde", input: "last_updated: \"2026-01-16\"\ndatabases: ~\n"},
		{name: "no_last_updated", input: "databases:\n  keycloak:\n    metadata:\n      environment: dev\n    configuration:\n      username: keycloak_user\n"},
		{name: "no_final_newline", input: "last_updated: \"2026-01-16\"\ndatabases: {}"},
		{name: "front_matter", input: frontMatter + string(sample), keep: []string{frontMatter}},
		{name: "second_document", input: string(sample) + second, keep: []string{second}},
		{name: "second_document_update", input: string(sample) + second, edit: keycloak, keep: []string{second}},
		{name: "comment_only", input: "# RDS catalog of dev, kept by the platform team.\n\n# Request databases through Backstage.\n"},
		{name: "empty", input: ""},
		{name: "blank_lines_update", input: mustRead(t, "comments.yaml"), edit: keycloak},
		{name: "missing_fields_update", input: "databases:\n\n  keycloak:\n    metadata:\n      owner: platform-team   # who pays\n\n    configuration:\n      username: keycloak_user\n\n# end\n", edit: keycloak},
		// A line edit would land inside the sequence; the check on the
		// edited text catches it and the file is re-encoded whole.
		{name: "sequence_at_key_indent", input: "last_updated: \"2026-01-16\"\ntags:\n- a\n- b\n"},
		{name: "four_space_indent", input: "databases:\n    keycloak:\n        metadata:\n            environment: dev\n        configuration:\n            username: keycloak_user\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := inventory("dev")
			if tc.edit != nil {
				tc.edit(&e)
			}
			out, changed, err := Upsert([]byte(tc.input), "dev", e, now)
			if err != nil || !changed {
				t.Fatalf("Upsert: changed %v, err %v", changed, err)
			}
			golden(t, "layout_"+tc.name+".diff", unified([]byte(tc.input), out))
			for _, k := range tc.keep {
				if !bytes.Contains(out, []byte(k)) {
					t.Errorf("lost %q:\n%s", k, out)
				}
			}
			entries, err := Entries(out)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, got := range entries {
				if got.Name == e.Name {
					found = true
					if got.Owner != e.Owner || got.Username != e.Username || got.Environment != "dev" || got.SecretPath != e.SecretPath {
						t.Errorf("entry read back: %+v", got)
					}
				}
			}
			if !found {
				t.Errorf("entry %s not in %+v", e.Name, entries)
			}
			again, changed, err := Upsert(out, "dev", e, now.Add(time.Hour))
			if err != nil || changed || !bytes.Equal(again, out) {
				t.Errorf("second Upsert changed the file (err %v)", err)
			}
		})
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUpsertCRLF: a CRLF catalog stays CRLF and changes only the lines
// the LF edit changes.
func TestUpsertCRLF(t *testing.T) {
	for _, name := range []string{"sample.yaml", "comments.yaml", "empty.yaml"} {
		for _, upd := range []bool{false, true} {
			lf := mustRead(t, name)
			crlf := strings.ReplaceAll(lf, "\n", "\r\n")
			e := inventory("dev")
			if upd {
				e = Entry{Name: "keycloak", Owner: "security-team", RequestedBy: "someone", Domain: "identity", Risk: "high",
					Username: "keycloak_user", SizeTier: "small", InstanceClass: "db.t3.micro", SecretPath: "goldenpath/dev/keycloak/postgres"}
				if name == "empty.yaml" {
					continue
				}
			}
			wantLF, _, err := Upsert([]byte(lf), "dev", e, now)
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := Upsert([]byte(crlf), "dev", e, now)
			if err != nil || !changed {
				t.Fatalf("%s: changed %v, err %v", name, changed, err)
			}
			if diff := cmp.Diff(strings.ReplaceAll(string(wantLF), "\n", "\r\n"), string(got)); diff != "" {
				t.Errorf("%s (update %v): CRLF edit differs from the LF edit (-want +got):\n%s", name, upd, diff)
			}
		}
	}
	// A comment-only CRLF file is started in CRLF too.
	out, _, err := Upsert([]byte("# dev catalog\r\n"), "dev", inventory("dev"), now)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n"); n != strings.Count(string(out), "\r\n") || !strings.HasPrefix(string(out), "# dev catalog\r\nversion: \"1.0\"\r\n") {
		t.Errorf("not CRLF throughout:\n%q", out)
	}
}

// TestUpsertRefusesLayouts: files where no edit is safe are refused with
// ErrLayout and a reason; nothing is returned to write.
func TestUpsertRefusesLayouts(t *testing.T) {
	sample := mustRead(t, "sample.yaml")
	flow := "databases:\n  keycloak: {metadata: {environment: dev, owner: platform-team}, configuration: {username: keycloak_user}}\n"
	tests := []struct {
		name, input string
		update      bool
		want        string
	}{
		{"two catalogs", sample + "---\n" + sample, false, "keep one catalog per file"},
		{"no catalog among documents", "a: 1\n---\nb: 2\n", false, "none can be told to be the catalog"},
		{"flow entry beside another document", flow + "---\nother: doc\n", true, "move the catalog into a file of its own"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := inventory("dev")
			if tc.update {
				e.Name, e.Username = "keycloak", "keycloak_user"
			}
			out, _, err := Upsert([]byte(tc.input), "dev", e, now)
			if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), tc.want) || out != nil {
				t.Errorf("got %v (output %d bytes), want ErrLayout saying %q", err, len(out), tc.want)
			}
		})
	}
	// Alone in its file, the flow entry is re-encoded whole rather than refused.
	e := inventory("dev")
	e.Name, e.Username = "keycloak", "keycloak_user"
	out, _, err := Upsert([]byte(flow), "dev", e, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Entries(out); len(got) != 1 || got[0].Owner != "app-team" {
		t.Errorf("flow entry not updated: %+v\n%s", got, out)
	}
}

// TestUpsertYAML11Words: values that YAML 1.1 or 1.2 would read as
// something else are quoted, so both kinds of reader get the strings back.
func TestUpsertYAML11Words(t *testing.T) {
	words := []string{"no", "No", "NO", "off", "yes", "on", "y", "n", "Y", "true", "False", "null", "Null", "~", "",
		"1.0", "0x1F", "017", "1_000", "1e3", "1:20", ".inf", "-.5", "2026-01-20", "+1", "<<", "=", "- a", "a: b", "#x", "@x", "`x", "x #y", " x", "é", "a\u00a0b"}
	sample := []byte(mustRead(t, "comments.yaml"))
	for _, w := range words {
		for _, update := range []bool{false, true} {
			e := inventory("dev")
			if update {
				e.Name, e.Username, e.SecretPath = "keycloak", "keycloak_user", "goldenpath/dev/keycloak/postgres"
			}
			e.Owner, e.RequestedBy, e.Domain, e.Risk, e.SizeTier = w, w, w, w, w
			out, _, err := Upsert(sample, "dev", e, now)
			if err != nil {
				t.Fatalf("%q: %v", w, err)
			}
			// YAML 1.2 (yaml.v3) and YAML 1.1 (yaml.v2) readers.
			var v3 struct {
				Databases map[string]struct{ Metadata map[string]any }
			}
			if err := yamlV3Unmarshal(out, &v3); err != nil {
				t.Fatalf("%q: %v", w, err)
			}
			var v2 struct {
				Databases map[string]struct{ Metadata map[string]any }
			}
			if err := yaml11.Unmarshal(out, &v2); err != nil {
				t.Fatalf("%q: YAML 1.1: %v", w, err)
			}
			for reader, m := range map[string]map[string]any{"1.2": v3.Databases[e.Name].Metadata, "1.1": v2.Databases[e.Name].Metadata} {
				for _, k := range []string{"owner", "requested_by", "domain", "risk"} {
					if got, ok := m[k].(string); !ok || got != w {
						t.Errorf("%q (update %v): YAML %s reader reads %s as %#v", w, update, reader, k, m[k])
					}
				}
			}
		}
	}
}

// FuzzUpsertLayout: any catalog the parser accepts is either edited so
// that every other document and entry reads back unchanged, or refused.
func FuzzUpsertLayout(f *testing.F) {
	for _, name := range []string{"sample.yaml", "comments.yaml", "empty.yaml"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(string(b), "no")
	}
	f.Add("---\na: 1\n---\ndatabases: {}\n", "x")
	f.Add("databases:\r\n  k: {}\r\n", "y")
	f.Add("# c\n", "null")
	f.Add("last_updated:\n  at: x\ndatabases: {}\n", "no")
	f.Add("last_updated:\ndatabases:\n  inventory_service: ~\n", "~")
	f.Add("\ufeffdatabases:\n\tk: 1\n", "é")
	f.Add("databases:\n  inventory_service:\n    metadata: {owner: x}\n    configuration:\n      username: |\n        inventory_user\n", "a: b")
	f.Fuzz(func(t *testing.T, src, owner string) {
		e := inventory("dev")
		e.Owner = owner
		before, err := Entries([]byte(src))
		if err != nil {
			return
		}
		out, _, err := Upsert([]byte(src), "dev", e, now)
		if err != nil {
			return
		}
		after, err := Entries(out)
		if err != nil {
			t.Fatalf("edited catalog does not parse: %v\n%q", err, out)
		}
		byName := map[string]Entry{}
		for _, a := range after {
			byName[a.Name] = a
		}
		if got := byName[e.Name]; got.Owner != owner || got.Username != e.Username {
			t.Fatalf("entry not written: %+v\n%q", got, out)
		}
		for _, b := range before {
			if b.Name != e.Name && !reflect.DeepEqual(b, byName[b.Name]) {
				t.Fatalf("entry %s changed: %+v -> %+v", b.Name, b, byName[b.Name])
			}
		}
	})
}

func yamlV3Unmarshal(b []byte, v any) error { return yamlv3.Unmarshal(b, v) }

// TestRefusesOversizedFile: a catalog over MaxFileSize is refused before
// the YAML parser sees it (the parser holds many times the file's size in
// memory), by every entry point, and nothing is returned to be written.
func TestRefusesOversizedFile(t *testing.T) {
	big := mustRead(t, "sample.yaml") + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	if _, err := Entries([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Entries: %v, want ErrTooLarge", err)
	}
	if out, _, err := Upsert([]byte(big), "dev", inventory("dev"), now); !errors.Is(err, ErrTooLarge) || out != nil {
		t.Errorf("Upsert: %v (output %d bytes), want ErrTooLarge", err, len(out))
	}
	if out, _, err := SetStatus([]byte(big), "dev", map[string]string{"keycloak": "active"}, now); !errors.Is(err, ErrTooLarge) || out != nil {
		t.Errorf("SetStatus: %v (output %d bytes), want ErrTooLarge", err, len(out))
	}
	// At the limit the file is still a catalog.
	fits := mustRead(t, "sample.yaml")
	fits += "#" + strings.Repeat("x", MaxFileSize-len(fits)-2) + "\n"
	if _, _, err := Upsert([]byte(fits), "dev", inventory("dev"), now); err != nil {
		t.Errorf("Upsert of a file of exactly MaxFileSize bytes: %v", err)
	}
}
