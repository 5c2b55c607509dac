package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entryhq/entry/internal/suggest"
	"go.yaml.in/yaml/v3"
)

var errorsEOF = io.EOF

// durationSyntax matches what time.ParseDuration accepts, so that a value
// it refuses anyway is one too large for it.
var durationSyntax = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$`)
}) // compiled on first use: an error path

// decodeStrict decodes node n into out (a pointer), refusing unknown and
// duplicate keys and reporting every problem with its line and its dotted
// path (where), e.g. "roles.web.puma.stop_timeout". yaml.v3's own
// KnownFields does not reach into custom unmarshalers, so entry walks the
// tree itself.
func decodeStrict(n *yaml.Node, out any, where string) error {
	return decodeValue(n, reflect.ValueOf(out).Elem(), where)
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	commandType     = reflect.TypeFor[Command]()
)

func decodeValue(n *yaml.Node, v reflect.Value, where string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return nil // an empty value leaves the default
	}
	if v.Type() == commandType && n.Kind == yaml.ScalarNode && n.Tag != "!!str" {
		// ready: 5 would run the command "5"; a process: 42 is refused too.
		return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: want a command (a string or a list of strings), got %s (quote it if %s is the command)", where, n.Value, n.Value)}
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		return v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n)
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(n, v.Elem(), where)
	case v.Kind() == reflect.Struct:
		return decodeStruct(n, v, where)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return kindError(n, where, "a list")
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decodeValue(item, s.Index(i), fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return kindError(n, where, "a mapping")
		}
		if err := checkDuplicateKeys(n, where); err != nil {
			return err
		}
		return scalarDecode(n, v, where, "a mapping of names to values")
	default:
		if n.Kind != yaml.ScalarNode {
			return kindError(n, where, describeType(v.Type()))
		}
		return scalarDecode(n, v, where, describeType(v.Type()))
	}
}

func decodeStruct(n *yaml.Node, v reflect.Value, where string) error {
	if n.Kind != yaml.MappingNode {
		return kindError(n, where, "a mapping")
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[key.Value]
		if !ok {
			return &Error{Line: key.Line, Msg: unknownKeyMsg(key.Value, where, fields)}
		}
		if seen[key.Value] {
			return &Error{Line: key.Line, Msg: fmt.Sprintf("%s: key %q appears twice", where, key.Value)}
		}
		seen[key.Value] = true
		if err := decodeValue(val, v.Field(idx), join(where, key.Value)); err != nil {
			return err
		}
	}
	return nil
}

// yamlFields maps each yaml key of struct type t to its field index.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func unknownKeyMsg(key, where string, fields map[string]int) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("unknown key %q in %s", key, where)
	if best := closest(key, known); best != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg + " (known keys: " + strings.Join(known, ", ") + ")"
}

// closest returns the known key within edit distance 2 of key, if any.
func closest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := suggest.Distance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func checkDuplicateKeys(n *yaml.Node, where string) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			return &Error{Line: k.Line, Msg: fmt.Sprintf("%s: key %q appears twice", where, k.Value)}
		}
		seen[k.Value] = true
	}
	return nil
}

// scalarDecode lets yaml.v3 convert the value and turns its error into ours.
func scalarDecode(n *yaml.Node, v reflect.Value, where, want string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(n.Value)
		switch {
		case err != nil && durationSyntax().MatchString(n.Value):
			return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: %q is too large (at most %s)", where, n.Value, time.Duration(math.MaxInt64).Truncate(time.Hour))}
		case err != nil:
			return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: %q is not a duration (write it like 25s, 2m or 1h30m)", where, n.Value)}
		case d < 0:
			return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: %q is negative (give 0 or more, like 25s)", where, n.Value)}
		}
		v.SetInt(int64(d))
		return nil
	}
	if k := v.Kind(); k >= reflect.Int && k <= reflect.Uint64 && n.Tag != "!!int" {
		// yaml.v3 would truncate 1.5 to 1.
		return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: want %s, got %q", where, want, n.Value)}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: want %s, got %q", where, want, n.Value)}
	}
	return nil
}

func kindError(n *yaml.Node, where, want string) error {
	got := map[yaml.Kind]string{
		yaml.MappingNode:  "a mapping",
		yaml.SequenceNode: "a list",
		yaml.ScalarNode:   fmt.Sprintf("%q", n.Value),
	}[n.Kind]
	return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: want %s, got %s", where, want, got)}
}

func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	}
	return t.String()
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func join(where, key string) string {
	if where == "top level" || where == "" {
		return key
	}
	return where + "." + key
}

// withFile fills in the file name of a config error.
func withFile(name string, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		if ce.File == "" {
			ce.File = name
		}
		return ce
	}
	return &Error{File: name, Msg: err.Error()}
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: (?:unmarshal errors:\s*)?line (\d+): (.*)$`) }) // compiled on first use: an error path

// yamlError turns a yaml.v3 syntax error into "file:line: message".
func yamlError(name string, err error) error {
	msg := strings.TrimSpace(err.Error())
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return &Error{File: name, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }
