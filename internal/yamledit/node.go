package yamledit

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Lookup is the value of key in the mapping n (or in the mapping a
// document n holds), nil when n is no mapping or lacks the key.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar is the scalar value of key in the mapping n, "" when it is
// missing or not a scalar.
func Scalar(n *yaml.Node, key string) string {
	if v := Lookup(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// KeyNode is the key node of key in the mapping m, nil when missing.
func KeyNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// Mapping builds a block mapping of key (string), value (*yaml.Node) pairs.
func Mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, Str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

// Str is a string scalar; it is written quoted whenever the plain form
// would read as something else, so a value can never leave its field.
func Str(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if !plainSafe(v) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// Quoted is a string scalar written in double quotes.
func Quoted(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

// setKey sets key in the mapping m in the tree only.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, Str(key), v)
}

// encode writes a document whole, in block style with two-space indents.
func encode(doc *yaml.Node, name string) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	return b.String(), nil
}
