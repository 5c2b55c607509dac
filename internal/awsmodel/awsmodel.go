// Package awsmodel loads a botocore API model (service-2.json, the file the
// AWS CLI ships for each service) and checks JSON requests and responses
// against it, so that a fake AWS service in a test answers only what the
// real one could: an unknown member, a value of the wrong type, a missing
// required member or a value outside an enum is an error.
//
// It understands the JSON protocols: awsJson1_0/1_1 (body only) and
// REST-JSON (members bound to the URI, query string or headers are given
// separately as strings).
package awsmodel

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// A Model is one service's API model.
type Model struct {
	Metadata   Metadata             `json:"metadata"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`
}

// Metadata is the part of the model's metadata a fake needs.
type Metadata struct {
	Protocol     string `json:"protocol"`
	JSONVersion  string `json:"jsonVersion"`
	TargetPrefix string `json:"targetPrefix"`
	ServiceID    string `json:"serviceId"`
	APIVersion   string `json:"apiVersion"`
	EndpointPfx  string `json:"endpointPrefix"`
}

// An Operation is one API call.
type Operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode,omitempty"`
	} `json:"http"`
	Input  *Ref  `json:"input,omitempty"`
	Output *Ref  `json:"output,omitempty"`
	Errors []Ref `json:"errors,omitempty"`
}

// A Ref names a shape, with the member's binding for REST protocols.
type Ref struct {
	Shape        string `json:"shape"`
	Location     string `json:"location,omitempty"`
	LocationName string `json:"locationName,omitempty"`
	// IdempotencyToken members are filled in by the SDK when left empty.
	IdempotencyToken bool `json:"idempotencyToken,omitempty"`
}

// A Shape is a type of the model.
type Shape struct {
	Type     string          `json:"type"`
	Members  map[string]*Ref `json:"members,omitempty"`
	Required []string        `json:"required,omitempty"`
	Member   *Ref            `json:"member,omitempty"`
	Key      *Ref            `json:"key,omitempty"`
	Value    *Ref            `json:"value,omitempty"`
	Enum     []string        `json:"enum,omitempty"`
	Union    bool            `json:"union,omitempty"`
	// Exception shapes carry these; kept so trimmed models stay valid.
	Exception bool     `json:"exception,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
}

// Load parses a service-2.json, gzipped or not.
func Load(data []byte) (*Model, error) {
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	m := new(Model)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("service model: %v", err)
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		return nil, fmt.Errorf("service model: no operations or shapes")
	}
	for name, op := range m.Operations {
		for _, r := range []*Ref{op.Input, op.Output} {
			if r != nil && m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("service model: operation %s: no shape %s", name, r.Shape)
			}
		}
	}
	for name, s := range m.Shapes {
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if r != nil && m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("service model: shape %s refers to no shape %s", name, r.Shape)
			}
		}
		for member, r := range s.Members {
			if m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("service model: %s.%s refers to no shape %s", name, member, r.Shape)
			}
		}
	}
	return m, nil
}

// Trim returns the model reduced to ops and the shapes they reach, errors
// included: the copy a test keeps in testdata.
func (m *Model) Trim(ops ...string) (*Model, error) {
	out := &Model{Metadata: m.Metadata, Operations: map[string]Operation{}, Shapes: map[string]*Shape{}}
	var visit func(string)
	visit = func(name string) {
		if out.Shapes[name] != nil {
			return
		}
		s := m.Shapes[name]
		if s == nil {
			return
		}
		out.Shapes[name] = s
		for _, r := range s.Members {
			visit(r.Shape)
		}
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if r != nil {
				visit(r.Shape)
			}
		}
	}
	for _, name := range ops {
		op, ok := m.Operations[name]
		if !ok {
			return nil, fmt.Errorf("no operation %s", name)
		}
		op.Name = name
		out.Operations[name] = op
		for _, r := range []*Ref{op.Input, op.Output} {
			if r != nil {
				visit(r.Shape)
			}
		}
		for _, r := range op.Errors {
			visit(r.Shape)
		}
	}
	return out, nil
}

// Op returns an operation by name.
func (m *Model) Op(name string) (Operation, bool) {
	op, ok := m.Operations[name]
	return op, ok
}

// CheckInput checks a request of op: body is its JSON body (empty means
// {}), bound holds the members bound to the URI, query string or headers
// (REST-JSON), by member name.
func (m *Model) CheckInput(op string, body []byte, bound map[string]string) error {
	o, ok := m.Operations[op]
	if !ok {
		return fmt.Errorf("%s: no such operation in the %s model", op, m.Metadata.ServiceID)
	}
	if o.Input == nil {
		return nil
	}
	return m.checkTop(op+" request", o.Input.Shape, body, bound, true)
}

// CheckOutput checks the JSON body of op's response.
func (m *Model) CheckOutput(op string, body []byte) error {
	o, ok := m.Operations[op]
	if !ok {
		return fmt.Errorf("%s: no such operation in the %s model", op, m.Metadata.ServiceID)
	}
	if o.Output == nil {
		if len(bytes.TrimSpace(body)) > 0 && string(bytes.TrimSpace(body)) != "{}" {
			return fmt.Errorf("%s response: the model has no output, got %s", op, body)
		}
		return nil
	}
	return m.checkTop(op+" response", o.Output.Shape, body, nil, false)
}

func (m *Model) checkTop(what, shape string, body []byte, bound map[string]string, input bool) error {
	var v any = map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: not JSON: %v", what, err)
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want a JSON object, got %s", what, kindOf(v))
	}
	s := m.Shapes[shape]
	for name, r := range s.Members {
		if r.Location == "" {
			continue
		}
		if _, inBody := obj[name]; inBody {
			return fmt.Errorf("%s: member %s is bound to the %s, not the body", what, name, r.Location)
		}
		if val, ok := bound[name]; ok {
			obj[name] = boundValue(m.Shapes[r.Shape], val)
		}
	}
	for name := range bound {
		if r := s.Members[name]; r == nil || r.Location == "" {
			return fmt.Errorf("%s: %s is not a member bound to the URI, query or headers", what, name)
		}
	}
	c := checker{m: m, input: input}
	c.value(what, shape, obj)
	return errors.Join(c.errs...)
}

// boundValue turns a URI, query or header string into the JSON value its
// shape has.
func boundValue(s *Shape, val string) any {
	switch s.Type {
	case "integer", "long", "double", "float", "timestamp":
		return json.Number(val)
	case "boolean":
		return val == "true"
	case "list":
		return []any{val}
	}
	return val
}

// A checker walks a document and collects every violation, so that one
// bad request names all that is wrong with it.
type checker struct {
	m     *Model
	input bool
	errs  []error
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (c *checker) typeError(path, shape, want string, v any) {
	c.fail(path, "%s wants %s, got %s", shape, want, kindOf(v))
}

func (c *checker) value(path, shape string, v any) {
	s := c.m.Shapes[shape]
	if s == nil {
		c.fail(path, "the model has no shape %s", shape)
		return
	}
	if v == nil {
		// The SDKs leave an unset member out; null is what a broken
		// encoder writes.
		c.fail(path, "null where %s (%s) goes; leave the member out instead", shape, s.Type)
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeError(path, shape, "an object", v)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			r := s.Members[k]
			if r == nil {
				c.fail(path, "unknown member %q of %s (members: %s)", k, shape, strings.Join(slices.Sorted(maps.Keys(s.Members)), ", "))
				continue
			}
			c.value(path+"."+k, r.Shape, obj[k])
		}
		if s.Exception {
			return
		}
		for _, k := range s.Required {
			if _, ok := obj[k]; !ok {
				if r := s.Members[k]; c.input && r != nil && r.IdempotencyToken {
					continue
				}
				c.fail(path, "missing required member %s of %s", k, shape)
			}
		}
		if s.Union && len(obj) != 1 {
			c.fail(path, "union %s must set exactly one member, not %d", shape, len(obj))
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			c.typeError(path, shape, "an array", v)
			return
		}
		for i, e := range arr {
			c.value(fmt.Sprintf("%s[%d]", path, i), s.Member.Shape, e)
		}
		if s.Min != nil && float64(len(arr)) < *s.Min {
			c.fail(path, "%s holds %d items, at least %v allowed", shape, len(arr), *s.Min)
		}
		if s.Max != nil && float64(len(arr)) > *s.Max {
			c.fail(path, "%s holds %d items, at most %v allowed", shape, len(arr), *s.Max)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeError(path, shape, "an object", v)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			c.value(path+"."+k, s.Value.Shape, obj[k])
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			c.typeError(path, shape, "a string", v)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			c.fail(path, "%q is not a value of enum %s (%s)", str, shape, strings.Join(s.Enum, ", "))
		}
		if s.Min != nil && float64(len(str)) < *s.Min {
			c.fail(path, "%q is shorter than %v, the minimum of %s", str, *s.Min, shape)
		}
		if s.Max != nil && float64(len(str)) > *s.Max {
			c.fail(path, "a %d-character string is longer than %v, the maximum of %s", len(str), *s.Max, shape)
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			c.typeError(path, shape, "a whole number", v)
			return
		}
		i, err := n.Int64()
		if err != nil {
			c.typeError(path, shape, "a whole number", v)
			return
		}
		if s.Type == "integer" && (i > math.MaxInt32 || i < math.MinInt32) {
			c.fail(path, "%d does not fit the 32-bit integer %s", i, shape)
		} else if s.Min != nil && float64(i) < *s.Min || s.Max != nil && float64(i) > *s.Max {
			c.fail(path, "%d is outside the range of %s", i, shape)
		}
	case "double", "float":
		if _, ok := v.(json.Number); !ok {
			c.typeError(path, shape, "a number", v)
		}
	case "timestamp":
		// JSON protocols send epoch seconds, possibly with a fraction.
		n, ok := v.(json.Number)
		if !ok {
			c.typeError(path, shape, "epoch seconds", v)
			return
		}
		if f, err := n.Float64(); err != nil || math.IsNaN(f) {
			c.typeError(path, shape, "epoch seconds", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.typeError(path, shape, "true or false", v)
		}
	case "blob":
		str, ok := v.(string)
		if !ok {
			c.typeError(path, shape, "a base64 string", v)
			return
		}
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			c.fail(path, "%q is not base64, which blob %s wants", str, shape)
		}
	default:
		c.fail(path, "shape %s has type %q, which this checker does not know", shape, s.Type)
	}
}

func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return fmt.Sprintf("%v", x)
	}
	return fmt.Sprintf("%T", v)
}
