package secrets

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A Format is the syntax of a secret file.
type Format int

const (
	// YAML files: a mapping at the top, any nesting, anchors and aliases.
	YAML Format = iota
	// Dotenv files: KEY=value lines and comments.
	Dotenv
)

func (f Format) String() string {
	if f == Dotenv {
		return "dotenv"
	}
	return "yaml"
}

// ParseFormat reads a --format value: "yaml", "yml", "dotenv" or "env".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "yaml", "yml":
		return YAML, nil
	case "dotenv", "env":
		return Dotenv, nil
	}
	return YAML, fmt.Errorf("format %q: want yaml or dotenv", s)
}

// DetectFormat guesses the format from the file name, ignoring a trailing
// .enc or .age: *.env, .env and .env.* are dotenv, everything else YAML. A
// file that already carries dotenv vault metadata is dotenv whatever its
// name.
func DetectFormat(name string, data []byte) Format {
	base := name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	for _, ext := range []string{".enc", ".age"} {
		base = strings.TrimSuffix(base, ext)
	}
	switch {
	case strings.HasSuffix(base, ".yml"), strings.HasSuffix(base, ".yaml"):
		return YAML
	case base == ".env", strings.HasPrefix(base, ".env."), strings.HasSuffix(base, ".env"):
		return Dotenv
	}
	if strings.Contains(string(data), "\n"+dotenvMetaPrefix) || strings.HasPrefix(string(data), dotenvMetaPrefix) {
		return Dotenv
	}
	return YAML
}

// UnencryptedSuffix marks a key whose value (and everything below it) stays
// in plain text.
const UnencryptedSuffix = "_unencrypted"

// A leaf is one value of a document: a YAML scalar or alias, or a dotenv
// variable.
type leaf struct {
	path  string // JSON Pointer (RFC 6901) of the value
	typ   string // str, int, ...; with "/single" or "/double" for a quoted YAML scalar; "" for an alias
	value string // plaintext, or ENC[...] in a vault; the anchor name of an alias
	alias bool
	plain bool // under an _unencrypted key or one matching unencrypted_regex
	set   func(typ, value string)
}

// macItem is the leaf's entry in the MAC input.
func (l *leaf) macItem() macItem {
	switch {
	case l.alias:
		return macItem{"alias", l.path, l.value}
	case l.plain:
		return macItem{"plain", l.path, l.typ, l.value}
	default:
		return macItem{"enc", l.path, l.value}
	}
}

// A document is a parsed secret file of either format. Its metadata is
// split off at parse time and put back by marshal.
type document interface {
	format() Format
	// leaves lists the values in document order; plainKey tells whether
	// a key leaves its subtree unencrypted.
	leaves(plainKey func(string) bool) ([]*leaf, error)
	meta() *metadata
	setMeta(*metadata)
	// hasEncValues reports whether any value looks encrypted, to tell a
	// truncated vault from a plain file.
	hasEncValues() bool
	marshal() ([]byte, error)
	// flat returns the top-level KEY=value pairs in order, or an error
	// naming the first value that is not a scalar.
	flat() ([]KeyValue, error)
}

// A KeyValue is one variable exported from a flat vault.
type KeyValue struct {
	Key, Value string
}

// parseDocument parses data as format f, splitting off vault metadata.
func parseDocument(f Format, data []byte) (document, error) {
	if f == Dotenv {
		return parseDotenv(data)
	}
	return parseYAML(data)
}

// plainKeyFunc returns the test for keys whose values stay plain.
func plainKeyFunc(regex string) (func(string) bool, error) {
	var re *regexp.Regexp
	if regex != "" {
		var err error
		if re, err = regexp.Compile(regex); err != nil {
			return nil, fmt.Errorf("unencrypted_regex %q: %v", regex, err)
		}
	}
	return func(key string) bool {
		return strings.HasSuffix(key, UnencryptedSuffix) || (re != nil && re.MatchString(key))
	}, nil
}

// pointerToken escapes one JSON Pointer reference token.
func pointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func indexToken(i int) string { return strconv.Itoa(i) }

// validType reports whether typ is a value type of format v1: a YAML
// core type, optionally followed by "/single" or "/double" for a scalar
// written in quotes.
func validType(typ string) bool {
	typ, quote, _ := strings.Cut(typ, "/")
	if quote != "" && quote != "single" && quote != "double" {
		return false
	}
	return validTag(typ)
}

// validTag reports whether tag is one of the YAML types format v1 encrypts.
func validTag(typ string) bool {
	switch typ {
	case "str", "int", "float", "bool", "null", "timestamp", "binary":
		return true
	}
	return false
}
