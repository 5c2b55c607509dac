package ecsfake

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/entryhq/entry/internal/awsmodel"
)

// marshal writes v as ECS writes it on the wire: awsJson1_1 with camelCase
// member names, absent members omitted and timestamps as epoch seconds. It
// walks the SDK's own types by reflection, so a member the fake stores is a
// member the SDK's deserializer must recognise: a wrongly named member would
// be dropped by the real client and show up as a failing round-trip test.
//
// With a model and the output shape, a plain scalar member the model marks
// required is written even when zero (deploymentCircuitBreaker's
// "enable": false), as the SDK itself serializes it.
func marshal(v any) []byte { return marshalShape(nil, "", v) }

func marshalShape(m *awsmodel.Model, shapeName string, v any) []byte {
	var b bytes.Buffer
	w := writer{m}
	w.value(&b, reflect.ValueOf(v), shapeName)
	return b.Bytes()
}

type writer struct{ m *awsmodel.Model }

// shape returns the named shape, nil without a model or for "".
func (w writer) shape(name string) *awsmodel.Shape {
	if w.m == nil || name == "" {
		return nil
	}
	return w.m.Shapes[name]
}

var timeType = reflect.TypeOf(time.Time{})

func (w writer) value(b *bytes.Buffer, v reflect.Value, shapeName string) {
	sh := w.shape(shapeName)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		w.value(b, v.Elem(), shapeName)
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			b.WriteString(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
			return
		}
		b.WriteByte('{')
		first := true
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			fv := v.Field(i)
			name := lowerFirst(f.Name)
			member := ""
			required := false
			if sh != nil && sh.Members[name] != nil {
				member = sh.Members[name].Shape
				required = slices.Contains(sh.Required, name)
			}
			if !f.IsExported() || f.Name == "ResultMetadata" || (omit(fv) && !(required && isScalar(fv))) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeString(b, name)
			b.WriteByte(':')
			w.value(b, fv, member)
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		elem := ""
		if sh != nil && sh.Member != nil {
			elem = sh.Member.Shape
		}
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			w.value(b, v.Index(i), elem)
		}
		b.WriteByte(']')
	case reflect.Map:
		b.WriteByte('{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k.String())
			b.WriteByte(':')
			val := ""
			if sh != nil && sh.Value != nil {
				val = sh.Value.Shape
			}
			w.value(b, v.MapIndex(k), val)
		}
		b.WriteByte('}')
	case reflect.String:
		writeString(b, v.String())
	default:
		out, err := json.Marshal(v.Interface())
		if err != nil {
			panic(err)
		}
		b.Write(out)
	}
}

// omit reports whether a member is absent: nil, empty or the zero value of a
// plain (non-pointer) scalar, which the SDK models as "not set".
func omit(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.IsNil()
	case reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	}
	return false
}

// isScalar reports a plain bool or number member.
func isScalar(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func writeString(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s)
	b.Write(out)
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].String() < keys[j-1].String(); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
