package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlDoc is a YAML secret file kept as a node tree, so that comments, key
// order, styles, anchors and aliases survive encryption.
type yamlDoc struct {
	doc    *yaml.Node // DocumentNode
	root   *yaml.Node // its MappingNode
	m      *metadata
	indent int
}

func parseYAML(data []byte) (*yamlDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		// An empty file is an empty mapping.
		root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		return &yamlDoc{doc: &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, root: root, indent: 2}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not valid YAML: %s", ErrMalformed, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the file holds more than one YAML document (use one file per document)", ErrMalformed)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the top level must be a mapping of keys to values", ErrMalformed)
	}
	y := &yamlDoc{doc: &doc, root: doc.Content[0], indent: detectIndent(data)}
	c := y.root.Content
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Kind == yaml.ScalarNode && c[i].Value == metaKey {
			m, err := metadataFromNode(c[i+1])
			if err != nil {
				return nil, err
			}
			y.m = m
			if h := c[i].HeadComment; h != "" {
				y.doc.FootComment = strings.TrimSpace(strings.Join([]string{y.doc.FootComment, h}, "\n"))
			}
			y.root.Content = append(c[:i:i], c[i+2:]...)
			break
		}
	}
	return y, nil
}

// detectIndent returns the smallest indentation of any line, so the
// rewritten file keeps the author's 2 or 4 spaces.
func detectIndent(data []byte) int {
	best := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		n := len(line) - len(trimmed)
		if n == 0 || strings.TrimSpace(trimmed) == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if best == 0 || n < best {
			best = n
		}
	}
	if best < 2 || best > 8 {
		return 2
	}
	return best
}

func (y *yamlDoc) format() Format      { return YAML }
func (y *yamlDoc) meta() *metadata     { return y.m }
func (y *yamlDoc) setMeta(m *metadata) { y.m = m }

func (y *yamlDoc) marshal() ([]byte, error) {
	saved := y.root.Content
	docFoot, rootFoot := y.doc.FootComment, y.root.FootComment
	if y.m != nil {
		// The metadata must be a block at the very end of the file, so a
		// trailing comment goes above it (and back below the values when
		// the vault is parsed).
		y.root.Style &^= yaml.FlowStyle
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: metaKey}
		key.HeadComment = strings.TrimSpace(strings.Join([]string{rootFoot, docFoot}, "\n"))
		y.doc.FootComment, y.root.FootComment = "", ""
		y.root.Content = append(append(make([]*yaml.Node, 0, len(saved)+2), saved...), key, y.m.node())
	}
	defer func() { y.root.Content, y.doc.FootComment, y.root.FootComment = saved, docFoot, rootFoot }()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(y.indent)
	if len(y.root.Content) == 0 && y.doc.HeadComment == "" && y.doc.FootComment == "" {
		return []byte("{}\n"), nil
	}
	if err := enc.Encode(y.doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (y *yamlDoc) hasEncValues() bool {
	found := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found {
			return
		}
		if n.Kind == yaml.ScalarNode && isEnc(n.Value) {
			found = true
		}
		if n.Kind != yaml.AliasNode {
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(y.root)
	return found
}

// quoteName returns "/single" or "/double" for a quoted scalar: quoting
// changes what YAML 1.1 readers such as Ruby's Psych make of yes, on or
// 0x1F, so it is kept with the value's type.
func quoteName(n *yaml.Node) string {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return "/double"
	case n.Style&yaml.SingleQuotedStyle != 0:
		return "/single"
	}
	return ""
}

func (y *yamlDoc) leaves(plainKey func(string) bool) ([]*leaf, error) {
	var out []*leaf
	var walk func(n *yaml.Node, path string, plain bool) error
	walk = func(n *yaml.Node, path string, plain bool) error {
		switch n.Kind {
		case yaml.MappingNode:
			seen := make(map[string]bool, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode {
					return fmt.Errorf("%w: line %d: a key must be a plain scalar, not a %s", ErrMalformed, k.Line, kindName(k))
				}
				if seen[k.Value] {
					return fmt.Errorf("%w: line %d: key %q appears twice in the same mapping", ErrMalformed, k.Line, k.Value)
				}
				seen[k.Value] = true
				if path == "" && k.Value == metaKey {
					return fmt.Errorf("%w: line %d: the top-level key %q is reserved for the vault's metadata", ErrMalformed, k.Line, metaKey)
				}
				if err := walk(v, path+"/"+pointerToken(k.Value), plain || plainKey(k.Value)); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				if err := walk(v, path+"/"+indexToken(i), plain); err != nil {
					return err
				}
			}
		case yaml.AliasNode:
			out = append(out, &leaf{path: path, value: n.Value, alias: true, plain: true})
		case yaml.ScalarNode:
			l := &leaf{path: path, value: n.Value, plain: plain}
			tag := n.ShortTag()
			if t, ok := strings.CutPrefix(tag, "!!"); ok && validTag(t) {
				l.typ = t + quoteName(n)
			} else if plain {
				l.typ = tag // a custom tag is fine on a value that stays plain
			} else {
				return fmt.Errorf("%w: line %d: value %s has the tag %q; only standard YAML types can be encrypted (add the %s suffix to its key to keep it plain)", ErrMalformed, n.Line, path, tag, UnencryptedSuffix)
			}
			node := n
			l.set = func(typ, value string) {
				tag, quote, _ := strings.Cut(typ, "/")
				node.Tag = "!!" + tag
				node.Value = value
				switch {
				case quote == "double":
					node.Style = yaml.DoubleQuotedStyle
				case quote == "single":
					node.Style = yaml.SingleQuotedStyle
				case tag == "str" && strings.Contains(value, "\n"):
					node.Style = yaml.LiteralStyle
				default:
					// A ciphertext, or a value whose quoting the encoder
					// picks (flow context, !!binary).
					node.Style = 0
				}
			}
			out = append(out, l)
		default:
			return fmt.Errorf("%w: unexpected YAML node at %s", ErrMalformed, path)
		}
		return nil
	}
	if err := walk(y.root, "", false); err != nil {
		return nil, err
	}
	return out, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

func (y *yamlDoc) flat() ([]KeyValue, error) {
	c := y.root.Content
	out := make([]KeyValue, 0, len(c)/2)
	for i := 0; i+1 < len(c); i += 2 {
		k, v := c[i], c[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("key %q holds a %s; env: true needs a flat file of KEY: value lines", k.Value, kindName(v))
		}
		if !validEnvName(k.Value) {
			return nil, fmt.Errorf("key %q is not a valid environment variable name", k.Value)
		}
		val := v.Value
		if v.ShortTag() == "!!null" {
			val = ""
		}
		out = append(out, KeyValue{k.Value, val})
	}
	return out, nil
}

// validEnvName accepts POSIX-portable variable names.
func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
