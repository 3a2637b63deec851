package yamledit

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// plainPattern is what may be written unquoted: it starts with a letter,
// so no reader takes it for a number, timestamp, null or YAML syntax.
var plainPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]*$`)

// yaml11Words are the plain words a YAML 1.1 reader (PyYAML, yaml.v2,
// SnakeYAML) reads as booleans or null, though YAML 1.2 reads most of them
// as strings. Compared lower-cased.
var yaml11Words = map[string]bool{
	"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true,
}

// plainSafe reports whether v reads back as the string v, unquoted, in
// both YAML 1.1 and 1.2.
func plainSafe(v string) bool {
	return plainPattern.MatchString(v) && !yaml11Words[strings.ToLower(v)]
}

// scalarText is v as YAML text in the given style: plain only when that is
// safe for every reader, single-quoted when asked and printable, otherwise
// double-quoted with escapes that YAML 1.1 and 1.2 share.
func scalarText(v string, style yaml.Style) (string, error) {
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("value %q is not valid UTF-8", v)
	}
	switch {
	case style&yaml.SingleQuotedStyle != 0 && printable(v):
		return "'" + strings.ReplaceAll(v, "'", "''") + "'", nil
	case style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 && plainSafe(v):
		return v, nil
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100 && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xFFFF && (!unicode.IsPrint(r) || r == 0xFEFF):
			fmt.Fprintf(&b, `\u%04X`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

func printable(v string) bool {
	for _, r := range v {
		if !unicode.IsPrint(r) || r == 0xFEFF {
			return false
		}
	}
	return true
}
