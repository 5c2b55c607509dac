package secrets

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"go.yaml.in/yaml/v3"
)

// metaKey is the top-level YAML key holding a vault's metadata; in dotenv
// files every metadata line starts with dotenvMetaPrefix.
const (
	metaKey          = "entry_secrets"
	dotenvMetaPrefix = "#ENTRY_SECRETS "
	formatVersion    = 1
)

// metadata is what a vault carries besides its values.
type metadata struct {
	Version          int
	Recipients       []string
	UnencryptedRegex string
	DataKey          string // armored age file holding the data key
	MAC              string // base64 HMAC-SHA-256
}

// node renders the metadata as a YAML mapping, fields in the order the
// format fixes (mac last, so a truncated file is recognisable).
func (m *metadata) node() *yaml.Node {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k string, v *yaml.Node) { n.Content = append(n.Content, str(k), v) }
	add("version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(m.Version)})
	rs := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, r := range m.Recipients {
		rs.Content = append(rs.Content, str(r))
	}
	add("recipients", rs)
	if m.UnencryptedRegex != "" {
		v := str(m.UnencryptedRegex)
		v.Style = yaml.SingleQuotedStyle
		add("unencrypted_regex", v)
	}
	dk := str(m.DataKey)
	dk.Style = yaml.LiteralStyle
	add("data_key", dk)
	add("mac", str(m.MAC))
	return n
}

// metadataFromNode reads the metadata mapping strictly: an unknown or
// missing field means the file was edited by hand or cut short.
func metadataFromNode(n *yaml.Node) (*metadata, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s is not a mapping", ErrMalformed, metaKey)
	}
	m := &metadata{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if seen[k] {
			return nil, fmt.Errorf("%w: %s.%s appears twice", ErrMalformed, metaKey, k)
		}
		seen[k] = true
		scalar := func() (string, error) {
			if v.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("%w: %s.%s is not a single value", ErrMalformed, metaKey, k)
			}
			return v.Value, nil
		}
		var err error
		switch k {
		case "version":
			var s string
			if s, err = scalar(); err == nil {
				if m.Version, err = strconv.Atoi(s); err != nil {
					err = fmt.Errorf("%w: %s.version %q is not a number", ErrMalformed, metaKey, s)
				}
			}
		case "recipients":
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%w: %s.recipients is not a list", ErrMalformed, metaKey)
			}
			for _, r := range v.Content {
				m.Recipients = append(m.Recipients, r.Value)
			}
		case "unencrypted_regex":
			m.UnencryptedRegex, err = scalar()
		case "data_key":
			m.DataKey, err = scalar()
		case "mac":
			m.MAC, err = scalar()
		default:
			return nil, fmt.Errorf("%w: unknown field %s.%s (written by a newer entry?)", ErrMalformed, metaKey, k)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case !seen["version"]:
		return nil, fmt.Errorf("%w: %s.version is missing", ErrMalformed, metaKey)
	case m.Version != formatVersion:
		return nil, fmt.Errorf("%w: %s.version is %d; this entry reads version %d (upgrade entry)", ErrMalformed, metaKey, m.Version, formatVersion)
	case !seen["mac"]:
		return nil, fmt.Errorf("%w: %s.mac is missing", ErrTruncated, metaKey)
	case !seen["data_key"]:
		return nil, fmt.Errorf("%w: %s.data_key is missing", ErrTampered, metaKey)
	case len(m.Recipients) == 0:
		return nil, fmt.Errorf("%w: %s.recipients is empty", ErrTampered, metaKey)
	}
	return m, nil
}

// macBytes decodes the stored MAC.
func (m *metadata) macBytes() ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(m.MAC)
	if err != nil || len(b) != macSize {
		return nil, fmt.Errorf("%w: %s.mac is not a %d-byte base64 MAC (the line was edited or damaged; restore it from version control)", ErrTampered, metaKey, macSize)
	}
	return b, nil
}

// macLine matches the line every vault ends with (without its indent or
// dotenv prefix).
var macLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^mac: [A-Za-z0-9+/]{43}=[ \t]*$`) }) // compiled on first use, not at start

// endsWithMAC reports whether the last line of data is the mac line: in
// YAML indented under entry_secrets, in dotenv after the metadata prefix.
func endsWithMAC(f Format, data []byte) bool {
	data = bytes.TrimRight(data, "\r\n") // CRLF from a Windows checkout is fine
	last := bytes.TrimRight(data[bytes.LastIndexByte(data, '\n')+1:], "\r")
	if f == Dotenv {
		rest, ok := bytes.CutPrefix(last, []byte(dotenvMetaPrefix))
		return ok && macLine().Match(rest)
	}
	rest := bytes.TrimLeft(last, " \t")
	return len(rest) < len(last) && macLine().Match(rest)
}

// looksLikeVault reports whether data carries any sign of being a vault.
func looksLikeVault(data []byte) bool {
	return bytes.Contains(data, []byte(encPrefix)) ||
		bytes.HasPrefix(data, []byte(metaKey+":")) || bytes.Contains(data, []byte("\n"+metaKey+":")) ||
		bytes.HasPrefix(data, []byte(dotenvMetaPrefix)) || bytes.Contains(data, []byte("\n"+dotenvMetaPrefix))
}

// checkComplete returns ErrNotEncrypted for a plain file and ErrTruncated
// for a vault that does not end with its mac line.
func checkComplete(f Format, data []byte) error {
	if !looksLikeVault(data) {
		return fmt.Errorf("%w: the file has no ENC[...] values and no %s metadata (encrypt it with 'entry secrets encrypt')", ErrNotEncrypted, metaKey)
	}
	if !endsWithMAC(f, data) {
		if problem := garbledMAC(f, data); problem != "" {
			return fmt.Errorf("%w: %s.mac %s (the line was edited or damaged; restore it from version control)", ErrTampered, metaKey, problem)
		}
		return fmt.Errorf("%w: the file does not end with its %s mac line (restore it from version control)", ErrTruncated, metaKey)
	}
	return nil
}

// garbledMAC says what is wrong with a last line that is a mac line whose
// value is not a MAC, or returns "" when the last line is no mac line, or
// one cut short at the end of the file (a truncation).
func garbledMAC(f Format, data []byte) string {
	complete := bytes.HasSuffix(data, []byte("\n"))
	data = bytes.TrimRight(data, "\r\n")
	last := bytes.TrimRight(data[bytes.LastIndexByte(data, '\n')+1:], "\r")
	if f == Dotenv {
		rest, ok := bytes.CutPrefix(last, []byte(dotenvMetaPrefix))
		if !ok {
			return ""
		}
		last = rest
	} else {
		rest := bytes.TrimLeft(last, " \t")
		if len(rest) == len(last) {
			return ""
		}
		last = rest
	}
	value, ok := bytes.CutPrefix(last, []byte("mac:"))
	if !ok {
		return ""
	}
	value = bytes.TrimSpace(value)
	const want = "is not a MAC: want 44 base64 characters ending in '=' (32 bytes)"
	for i, c := range value {
		base64ish := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		if !base64ish {
			return fmt.Sprintf("%s, found %q at character %d", want, c, i+1)
		}
	}
	switch {
	case len(value) == 0:
		return "is empty: want 44 base64 characters ending in '=' (32 bytes)"
	case len(value) < 44 && !complete:
		return "" // cut off at the end of the file
	case len(value) != 44:
		return fmt.Sprintf("%s, found %d characters", want, len(value))
	}
	return fmt.Sprintf("%s, found one that does not decode", want)
}
