package supervise

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

// A line that is a JSON object comes out as one object with entry's fields
// added at the top level, in json and in prefix format; the object's own
// value wins over entry's; other lines are quoted or prefixed as before.
func TestJSONObjectLinesAreMerged(t *testing.T) {
	in := `{"method":"GET","path":"/up","status":200,"duration":1.5}` + "\n" +
		`  {"time":"app's own","msg":"x"}` + "\r\n" +
		"{}\n" +
		"plain {not json}\n" +
		`{"a":1} trailing` + "\n"
	run := func(format LogFormat) []string {
		var out bytes.Buffer
		newLogger(format, "web", &out, io.Discard).lineWriter("puma", "stdout").pump(strings.NewReader(in))
		return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	}
	js := run(LogJSON)
	if len(js) != 5 {
		t.Fatalf("json: %d lines:\n%s", len(js), strings.Join(js, "\n"))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(js[0]), &first); err != nil {
		t.Fatalf("json: %q: %v", js[0], err)
	}
	for k, v := range map[string]any{"role": "web", "process": "puma", "stream": "stdout", "method": "GET", "status": 200.0} {
		if first[k] != v {
			t.Errorf("json: %s = %v, want %v in %s", k, first[k], v, js[0])
		}
	}
	if _, ok := first["line"]; ok {
		t.Errorf("json: the object was quoted into line: %s", js[0])
	}
	if !strings.HasSuffix(js[1], `"process":"puma","stream":"stdout","time":"app's own","msg":"x"}`) || strings.Count(js[1], `"time"`) != 1 {
		t.Errorf("json: the object's own time must win, once: %s", js[1])
	}
	if !strings.HasSuffix(js[2], `"process":"puma","stream":"stdout"}`) {
		t.Errorf("json: {} gives entry's fields alone: %s", js[2])
	}
	for _, i := range []int{3, 4} {
		if !strings.Contains(js[i], `"line":`) {
			t.Errorf("json: not an object line must be quoted: %s", js[i])
		}
	}
	pre := run(LogPrefix)
	want := []string{
		`{"process":"puma","stream":"stdout","method":"GET","path":"/up","status":200,"duration":1.5}`,
		`{"process":"puma","stream":"stdout","time":"app's own","msg":"x"}`,
		`{"process":"puma","stream":"stdout"}`,
		"puma | plain {not json}",
		`puma | {"a":1} trailing`,
	}
	if !slices.Equal(pre, want) {
		t.Errorf("prefix:\n%s\nwant:\n%s", strings.Join(pre, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzMergeJSONLine: a JSON object line comes out as a valid object with
// the object's own fields unchanged and entry's added.
func FuzzMergeJSONLine(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"time":1,"process":"x"}`, ` { "nested" : {"stream":[1,2]} } `, `{"a":"\u00e9\n"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\n") {
			return
		}
		obj, ok := jsonObject([]byte(s))
		if !ok {
			return
		}
		var orig map[string]json.RawMessage
		if json.Unmarshal(obj, &orig) != nil {
			return // valid JSON, yet not a map[string] (duplicate keys are fine)
		}
		for _, format := range []LogFormat{LogJSON, LogPrefix} {
			var out bytes.Buffer
			newLogger(format, "r", &out, io.Discard).lineWriter("p", "stdout").pump(strings.NewReader(s + "\n"))
			var got map[string]json.RawMessage
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("format %d: %q -> %q: %v", format, s, out.String(), err)
			}
			added := []string{"process", "stream"}
			if format == LogJSON {
				added = append(added, "time", "role")
			}
			for k, v := range orig {
				var a, b any
				json.Unmarshal(v, &a)
				json.Unmarshal(got[k], &b)
				if !equalJSON(a, b) {
					t.Fatalf("format %d: %q: field %s changed: %s", format, s, k, got[k])
				}
			}
			for _, k := range added {
				if _, ok := got[k]; !ok {
					t.Fatalf("format %d: %q: no %s in %q", format, s, k, out.String())
				}
			}
			if len(got) != len(orig)+countMissing(orig, added) {
				t.Fatalf("format %d: %q: keys %v", format, s, slices.Sorted(maps.Keys(got)))
			}
		}
	})
}

func countMissing(m map[string]json.RawMessage, keys []string) int {
	n := 0
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			n++
		}
	}
	return n
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
