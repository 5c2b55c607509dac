package secrets

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// dotenvDoc is a dotenv secret file kept line by line, so that comments,
// blank lines and order survive encryption. Values are literal: unlike
// some dotenv loaders, entry expands no $VARIABLES in them.
type dotenvDoc struct {
	lines []*envLine
	m     *metadata
}

// envLine is a blank or comment line (text) or a variable.
type envLine struct {
	text    string // verbatim, for blank and comment lines
	isVar   bool
	export  string // "export " when written so
	key     string
	value   string // decoded plaintext, or ENC[...]
	comment string // " # ..." after the value, as written
}

// parseDotenv parses KEY=value lines (see docs/secrets-format.md).
func parseDotenv(data []byte) (*dotenvDoc, error) {
	d := &dotenvDoc{}
	src := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(src, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	var metaLines []string
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := lines[i]
		trimmed := strings.TrimLeft(line, " \t")
		if rest, ok := strings.CutPrefix(line, dotenvMetaPrefix); ok {
			metaLines = append(metaLines, rest)
			continue
		}
		if trimmed == "" || trimmed[0] == '#' {
			d.lines = append(d.lines, &envLine{text: line})
			continue
		}
		l := &envLine{isVar: true}
		rest := trimmed
		if after, ok := strings.CutPrefix(rest, "export"); ok && len(after) > 0 && (after[0] == ' ' || after[0] == '\t') {
			l.export = "export "
			rest = strings.TrimLeft(after, " \t")
		}
		n := 0
		for n < len(rest) && isKeyByte(rest[n], n == 0) {
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: line %d: expected KEY=value", ErrMalformed, lineNo)
		}
		l.key = rest[:n]
		rest = strings.TrimLeft(rest[n:], " \t")
		if !strings.HasPrefix(rest, "=") {
			return nil, fmt.Errorf("%w: line %d: expected = after %s", ErrMalformed, lineNo, l.key)
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		var err error
		if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
			// A quoted value may continue on the following lines.
			full := rest
			for {
				var end int
				l.value, end, err = unquote(full)
				if err == nil {
					rest = full[end:]
					break
				}
				if i+1 >= len(lines) {
					return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, lineNo, err)
				}
				i++
				full += "\n" + lines[i]
			}
			after := strings.TrimLeft(rest, " \t")
			if after != "" && after[0] != '#' {
				return nil, fmt.Errorf("%w: line %d: unexpected text after the quoted value of %s", ErrMalformed, lineNo, l.key)
			}
			if after != "" {
				l.comment = rest
				if rest[0] != ' ' && rest[0] != '\t' {
					l.comment = " " + rest // keep it a comment after an unquoted value
				}
			}
		} else {
			l.value, l.comment = splitComment(rest)
		}
		d.lines = append(d.lines, l)
	}
	if len(metaLines) > 0 {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(strings.Join(metaLines, "\n")), &n); err != nil || len(n.Content) != 1 {
			return nil, fmt.Errorf("%w: the %s lines are not valid metadata", ErrMalformed, strings.TrimSpace(dotenvMetaPrefix))
		}
		m, err := metadataFromNode(n.Content[0])
		if err != nil {
			return nil, err
		}
		d.m = m
	}
	return d, nil
}

func isKeyByte(c byte, first bool) bool {
	switch {
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		return true
	case c >= '0' && c <= '9', c == '.', c == '-':
		return !first
	}
	return false
}

// unquote decodes the quoted value at the start of s and returns the index
// just past its closing quote. Single quotes are literal; in double quotes
// \n and \r are a newline and a carriage return and \X is X.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("the quoted value has no closing %c", q)
}

// splitComment splits an unquoted value from a trailing " # comment".
func splitComment(s string) (value, comment string) {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			j := i
			for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
				j--
			}
			return strings.TrimRight(s[:j], " \t"), s[j:]
		}
	}
	return strings.TrimRight(s, " \t"), ""
}

// quoteValue writes v so that parseDotenv (and common loaders) read it
// back unchanged: bare when safe, else single-quoted, else double-quoted.
func quoteValue(v string) string {
	if v == "" {
		return ""
	}
	safe := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_./:@%+,=-[]^~!?*", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return v
	}
	if !strings.ContainsAny(v, "'\n\r") && !strings.HasSuffix(v, `\`) {
		return "'" + v + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', '"', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (d *dotenvDoc) format() Format      { return Dotenv }
func (d *dotenvDoc) meta() *metadata     { return d.m }
func (d *dotenvDoc) setMeta(m *metadata) { d.m = m }

func (d *dotenvDoc) marshal() ([]byte, error) {
	var buf bytes.Buffer
	for _, l := range d.lines {
		if !l.isVar {
			buf.WriteString(l.text)
		} else {
			buf.WriteString(l.export + l.key + "=" + quoteValue(l.value) + l.comment)
		}
		buf.WriteByte('\n')
	}
	if d.m != nil {
		var mb bytes.Buffer
		enc := yaml.NewEncoder(&mb)
		enc.SetIndent(2)
		if err := enc.Encode(d.m.node()); err != nil {
			return nil, err
		}
		enc.Close()
		for _, line := range strings.Split(strings.TrimRight(mb.String(), "\n"), "\n") {
			buf.WriteString(dotenvMetaPrefix + line + "\n")
		}
	}
	return buf.Bytes(), nil
}

func (d *dotenvDoc) hasEncValues() bool {
	for _, l := range d.lines {
		if l.isVar && isEnc(l.value) {
			return true
		}
	}
	return false
}

func (d *dotenvDoc) leaves(plainKey func(string) bool) ([]*leaf, error) {
	var out []*leaf
	seen := map[string]bool{}
	for _, l := range d.lines {
		if !l.isVar {
			continue
		}
		if seen[l.key] {
			return nil, fmt.Errorf("%w: %s is set twice", ErrMalformed, l.key)
		}
		seen[l.key] = true
		line := l
		out = append(out, &leaf{
			path: "/" + pointerToken(l.key), typ: "str", value: l.value, plain: plainKey(l.key),
			set: func(_, value string) { line.value = value },
		})
	}
	return out, nil
}

func (d *dotenvDoc) flat() ([]KeyValue, error) {
	var out []KeyValue
	for _, l := range d.lines {
		if l.isVar {
			if !validEnvName(l.key) {
				return nil, fmt.Errorf("key %q is not a valid environment variable name", l.key)
			}
			out = append(out, KeyValue{l.key, l.value})
		}
	}
	return out, nil
}
