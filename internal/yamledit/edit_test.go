package yamledit

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// The editor knows YAML only: these texts are not catalogs, and each
// change must touch exactly the lines it names.
func TestEditsLineByLine(t *testing.T) {
	tests := []struct {
		name string
		src  string
		edit func(ed *Editor, root *yaml.Node)
		want string
	}{
		{
			name: "scalar replaced in its own quoting, comments kept",
			src:  "# settings\nname: 'old'   # the name\nsize: 3\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.SetScalar(Lookup(root, "name"), "it's new") },
			want: "# settings\nname: 'it''s new'   # the name\nsize: 3\n",
		},
		{
			name: "plain scalar that would read as a boolean is quoted",
			src:  "flag: set\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.SetScalar(Lookup(root, "flag"), "yes") },
			want: "flag: \"yes\"\n",
		},
		{
			name: "new key after the mapping's last line, in its indentation",
			src:  "app:\n    name: a\n    # last\n    port: 1\n\nother: x\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.SetKey(Lookup(root, "app"), "owner", Str("team")) },
			want: "app:\n    name: a\n    # last\n    port: 1\n    owner: team\n\nother: x\n",
		},
		{
			name: "nested mapping written in the file's step",
			src:  "app:\n    name: a\n",
			edit: func(ed *Editor, root *yaml.Node) {
				ed.SetKey(Lookup(root, "app"), "limits", Mapping("cpu", Str("one")))
			},
			want: "app:\n    name: a\n    limits:\n        cpu: one\n",
		},
		{
			name: "key before another key",
			src:  "a: 1\n# items follow\nitems: []\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.SetKeyBefore(root, "stamp", Quoted("2026"), "items") },
			want: "a: 1\nstamp: \"2026\"\n# items follow\nitems: []\n",
		},
		{
			name: "add under an empty flow mapping",
			src:  "items: {}   # none yet\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.AddUnder(root, "items", "one", Mapping("v", Str("x"))) },
			want: "items:   # none yet\n  one:\n    v: x\n",
		},
		{
			name: "add under a null",
			src:  "items: ~\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.AddUnder(root, "items", "one", Str("x")) },
			want: "items:\n  one: x\n",
		},
		{
			name: "add under a missing key",
			src:  "a: 1\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.AddUnder(root, "items", "one", Str("x")) },
			want: "a: 1\nitems:\n  one: x\n",
		},
		{
			name: "add under a filled mapping",
			src:  "items:\n  zero: x   # first\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.AddUnder(root, "items", "one", Str("z")) },
			want: "items:\n  zero: x   # first\n  one: z\n",
		},
		{
			name: "CRLF stays CRLF",
			src:  "a: 1\r\nb:\r\n  c: 2\r\n",
			edit: func(ed *Editor, root *yaml.Node) {
				ed.SetScalar(Lookup(root, "a"), "two")
				ed.SetKey(Lookup(root, "b"), "d", Str("e"))
			},
			want: "a: two\r\nb:\r\n  c: 2\r\n  d: e\r\n",
		},
		{
			name: "flow mapping alone in its file is encoded whole",
			src:  "app: {name: a}\n",
			edit: func(ed *Editor, root *yaml.Node) { ed.SetKey(Lookup(root, "app"), "port", Str("p")) },
			want: "app: {name: a, port: p}\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.src), Options{Name: "settings"})
			if err != nil {
				t.Fatal(err)
			}
			ed := NewEditor(f)
			tc.edit(ed, f.Root())
			out, err := ed.Result()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(out)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A change without a line edit in a file of several documents is refused,
// with the reason and the count of documents, rather than rewritten.
func TestRefusesWhatARewriteWouldLose(t *testing.T) {
	src := "app: {name: a}\n---\nnotes: kept\n"
	first := func(docs []*yaml.Node, content []int) (int, error) { return content[0], nil }
	f, err := Parse([]byte(src), Options{Name: "settings", Choose: first})
	if err != nil {
		t.Fatal(err)
	}
	ed := NewEditor(f)
	ed.SetKey(Lookup(f.Root(), "app"), "port", Str("p"))
	out, err := ed.Result()
	var unsafe *UnsafeError
	if !errors.As(err, &unsafe) || !errors.Is(err, ErrUnsafe) || out != nil {
		t.Fatalf("got %v (%d bytes), want an UnsafeError", err, len(out))
	}
	want := UnsafeError{Reason: "the mapping at line 1 is in flow style", Documents: 2}
	if diff := cmp.Diff(want, *unsafe); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A line break YAML counts and the line split does not (a lone CR, NEL,
// LS, PS) makes every position suspect: no line edit is tried.
func TestOddLineBreaksGetNoLineEdit(t *testing.T) {
	for _, br := range []string{"\r", "\u0085", "\u2028", "\u2029"} {
		src := "a: 1" + br + "b: 2\n---\nnotes: kept\n"
		first := func(docs []*yaml.Node, content []int) (int, error) { return content[0], nil }
		f, err := Parse([]byte(src), Options{Choose: first})
		if err != nil {
			t.Fatalf("%q: %v", br, err)
		}
		ed := NewEditor(f)
		ed.SetScalar(Lookup(f.Root(), "b"), "3")
		_, err = ed.Result()
		var unsafe *UnsafeError
		if !errors.As(err, &unsafe) || unsafe.Reason != "the file has line breaks other than LF and CRLF" {
			t.Errorf("%q: %v, want the odd line breaks named", br, err)
		}
	}
}

func TestParse(t *testing.T) {
	t.Run("syntax error names the text", func(t *testing.T) {
		_, err := Parse([]byte("a: [\n"), Options{Name: "settings"})
		if err == nil || !strings.HasPrefix(err.Error(), "parse settings: yaml:") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("several documents need a chooser", func(t *testing.T) {
		if _, err := Parse([]byte("a: 1\n---\nb: 2\n"), Options{}); err == nil {
			t.Error("two documents accepted without a chooser")
		}
	})
	t.Run("empty documents are not content", func(t *testing.T) {
		var docs, seen []int
		f, err := Parse([]byte("---\n# only a comment\n---\n---\nb: 2\n"), Options{Choose: func(all []*yaml.Node, content []int) (int, error) {
			for i := range all {
				docs = append(docs, i)
			}
			seen = content
			return content[0], nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{len(docs) - 1}, seen); diff != "" || len(docs) < 2 || Scalar(f.Root(), "b") != "2" {
			t.Errorf("%d documents; content (-want +got):\n%s", len(docs), diff)
		}
	})
	t.Run("comment only has no document", func(t *testing.T) {
		f, err := Parse([]byte("# nothing\n"), Options{})
		if err != nil || f.Doc() != nil || f.Root() != nil {
			t.Errorf("f.Doc() = %v, err %v", f.Doc(), err)
		}
	})
	t.Run("invalid UTF-8 value refused with the text's name", func(t *testing.T) {
		f, err := Parse([]byte("a: b\n"), Options{Name: "settings"})
		if err != nil {
			t.Fatal(err)
		}
		ed := NewEditor(f)
		ed.SetScalar(Lookup(f.Root(), "a"), "\xff")
		if _, err := ed.Result(); err == nil || !strings.HasPrefix(err.Error(), "settings: value") {
			t.Errorf("err = %v", err)
		}
	})
}
