package ecsfake

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// marshal writes v as ECS writes it on the wire: awsJson1_1 with camelCase
// member names, absent members omitted and timestamps as epoch seconds. It
// walks the SDK's own types by reflection, so a member the fake stores is a
// member the SDK's deserializer must recognise: a wrongly named member would
// be dropped by the real client and show up as a failing round-trip test.
func marshal(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, reflect.ValueOf(v))
	return b.Bytes()
}

var timeType = reflect.TypeOf(time.Time{})

func writeValue(b *bytes.Buffer, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		writeValue(b, v.Elem())
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
			if !f.IsExported() || f.Name == "ResultMetadata" || omit(fv) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeString(b, lowerFirst(f.Name))
			b.WriteByte(':')
			writeValue(b, fv)
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, v.Index(i))
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
			writeValue(b, v.MapIndex(k))
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
