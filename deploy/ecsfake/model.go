package ecsfake

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// The ECS API model, trimmed to the operations the fake serves: botocore's
// data/ecs/2014-11-13/service-2.json (botocore 1.43.11; the 1.34.22 copy the
// Google Cloud SDK bundles predates members the SDK sends, such as
// enableFaultInjection) with the documentation and the shapes of other
// operations left out. The fake checks every request it receives and every
// response it sends against it, so that neither entry nor the fake can
// drift from what ECS accepts and answers.
//
//go:embed testdata/ecs-2014-11-13.json
var modelJSON []byte

// A Model is a botocore service model, enough of it to validate JSON
// documents of the awsJson protocols.
type Model struct {
	Operations map[string]struct {
		Input  *shapeRef `json:"input"`
		Output *shapeRef `json:"output"`
	} `json:"operations"`
	Shapes map[string]*shape `json:"shapes"`
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string               `json:"type"`
	Members  map[string]*shapeRef `json:"members"`
	Required []string             `json:"required"`
	Member   *shapeRef            `json:"member"`
	Key      *shapeRef            `json:"key"`
	Value    *shapeRef            `json:"value"`
	Enum     []string             `json:"enum"`
	Min      *float64             `json:"min"`
	Max      *float64             `json:"max"`
}

var (
	ecsModelOnce sync.Once
	ecsModel     *Model
	ecsModelErr  error
)

// ECSModel returns the embedded ECS model.
func ECSModel() (*Model, error) {
	ecsModelOnce.Do(func() { ecsModel, ecsModelErr = ParseModel(modelJSON) })
	return ecsModel, ecsModelErr
}

// ParseModel reads a botocore service-2.json.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("service model: %v", err)
	}
	for name, s := range m.Shapes {
		for _, ref := range []*shapeRef{s.Member, s.Key, s.Value} {
			if ref != nil && m.Shapes[ref.Shape] == nil {
				return nil, fmt.Errorf("service model: shape %s refers to unknown shape %s", name, ref.Shape)
			}
		}
		for mem, ref := range s.Members {
			if m.Shapes[ref.Shape] == nil {
				return nil, fmt.Errorf("service model: %s.%s refers to unknown shape %s", name, mem, ref.Shape)
			}
		}
	}
	return &m, nil
}

// CheckRequest validates the JSON body of a request of op; it returns one
// message per violation.
func (m *Model) CheckRequest(op string, body []byte) []string {
	o, ok := m.Operations[op]
	if !ok {
		return []string{op + ": not an operation of the model"}
	}
	return m.check(op+" request", o.Input, body)
}

// CheckResponse validates the JSON body of a successful response of op.
func (m *Model) CheckResponse(op string, body []byte) []string {
	o, ok := m.Operations[op]
	if !ok {
		return []string{op + ": not an operation of the model"}
	}
	return m.check(op+" response", o.Output, body)
}

func (m *Model) check(what string, ref *shapeRef, body []byte) []string {
	if ref == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if len(bytes.TrimSpace(body)) == 0 {
		v = map[string]any{}
	} else if err := dec.Decode(&v); err != nil {
		return []string{what + ": not JSON: " + err.Error()}
	}
	var errs []string
	m.validate(&errs, what, ref.Shape, v)
	return errs
}

// validate checks v against the named shape: members the shape does not
// have, values of the wrong type, required members missing, enum values
// not in the enum (a newer SDK may know more; the fake serves none such).
func (m *Model) validate(errs *[]string, path, name string, v any) {
	s := m.Shapes[name]
	bad := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if v == nil {
		bad("null where %s (%s) goes", name, s.Type)
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%T where structure %s goes", v, name)
			return
		}
		for _, k := range sortedStrings(obj) {
			ref, ok := s.Members[k]
			if !ok {
				bad("unknown member %q of %s", k, name)
				continue
			}
			m.validate(errs, path+"."+k, ref.Shape, obj[k])
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				bad("required member %q of %s missing", r, name)
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("%T where list %s goes", v, name)
			return
		}
		if s.Min != nil && float64(len(arr)) < *s.Min || s.Max != nil && float64(len(arr)) > *s.Max {
			bad("%d elements, outside the bounds of %s", len(arr), name)
		}
		for i, e := range arr {
			m.validate(errs, fmt.Sprintf("%s[%d]", path, i), s.Member.Shape, e)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%T where map %s goes", v, name)
			return
		}
		for _, k := range sortedStrings(obj) {
			m.validate(errs, path+"["+k+"]", s.Value.Shape, obj[k])
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%T where string %s goes", v, name)
			return
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			bad("%q is not one of %s (%s)", str, name, strings.Join(s.Enum, ", "))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%T where boolean %s goes", v, name)
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			bad("%T where %s %s goes", v, s.Type, name)
			return
		}
		i, err := n.Int64()
		if err != nil || s.Type == "integer" && (i > math.MaxInt32 || i < math.MinInt32) {
			bad("%s is not a valid %s (%s)", n, s.Type, name)
		}
	case "double", "float":
		if _, ok := v.(json.Number); !ok {
			bad("%T where %s %s goes", v, s.Type, name)
		}
	case "timestamp":
		// awsJson: epoch seconds as a number.
		if _, ok := v.(json.Number); !ok {
			bad("%T where timestamp %s (epoch seconds) goes", v, name)
		}
	case "blob":
		str, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(str); !ok || err != nil {
			bad("%v is not base64 for blob %s", v, name)
		}
	default:
		bad("shape %s has unknown type %q", name, s.Type)
	}
}

func sortedStrings(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
