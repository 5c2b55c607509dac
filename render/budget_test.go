package render

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// Built-in methods pay for what they make before it can grow past the
// budget, and no method makes a String past the string cap (lowered here
// to 1 MiB, so that the test need not make 64 MiB): each case fails with
// its exact message, allocating at most a few times the cap (issue 19:
// the split ran 99 s and 2.5 GB before failing).
func TestBudgetBuiltins(t *testing.T) {
	defer func(saved int) { maxOutput = saved }(maxOutput)
	maxOutput = 1 << 20
	const steps = "template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"
	const cap = "string longer than 1 MiB"
	doubling := func(start, use string) string {
		return "<% a = " + start + " %><% 60.times do |i| %><% a = [a, a] %><% end %><%= " + use + " %>"
	}
	tests := []struct{ name, src, want string }{
		{"to_json escapes", `<%= ("\u0001" * 500000).to_json.size %>`, "t.erb:1:25: " + cap},
		{"inspect shared", doubling("[1]", "a.inspect.size"), "t.erb:1:66: " + cap},
		{"to_json shared", doubling("[1]", "a.to_json.size"), "t.erb:1:66: " + cap},
		{"output shared", doubling("[1]", "a"), "t.erb:1:64: output larger than 1 MiB"},
		{"interpolation shared", doubling("[1]", `"#{a}".size`), "t.erb:1:64: " + cap},
		{"join empty", doubling(`[""]`, "a.join.size"), "t.erb:1:67: " + steps},
		{"flatten empty", doubling("[[]]", "a.flatten.size"), "t.erb:1:67: " + steps},
		{"array * string", doubling(`[""]`, `(a * ",").size`), "t.erb:1:68: " + steps},
		{"File.join", doubling(`[""]`, "File.join(a).size"), "t.erb:1:65: " + steps},
	}
	for _, tt := range tests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var out bytes.Buffer
		err = tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{})
		runtime.ReadMemStats(&after)
		if err == nil || err.Error() != tt.want || out.Len() > 0 {
			t.Errorf("%s:\n got %v (%d bytes written)\nwant %s", tt.name, err, out.Len(), tt.want)
		}
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 200 {
			t.Errorf("%s: allocated %d MiB before failing", tt.name, mb)
		}
	}
}

// A split pays for its pieces before making them, under the real cap.
func TestBudgetSplit(t *testing.T) {
	const steps = "template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"
	for _, src := range []string{
		`<%= ("ab" * 5000000).split("").size %>`,
		`<%= ("a," * 5000000).split(",").size %>`,
		`<%= ("a " * 5000000).split.size %>`,
	} {
		tmpl, err := Parse("t.erb", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err = tmpl.Execute(io.Discard, func(string) (string, bool) { return "", false }, Options{})
		runtime.ReadMemStats(&after)
		if want := "t.erb:1:22: " + steps; err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", src, err, want)
		}
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 100 {
			t.Errorf("%s: allocated %d MiB before failing", src, mb)
		}
	}
	// Under the budget, a split renders.
	tmpl, _ := Parse("t.erb", []byte(`<%= ("ab" * 400000).split("").size %>`))
	var out bytes.Buffer
	if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil || out.String() != "800000" {
		t.Errorf("800,000 pieces: %q, %v", out.String(), err)
	}
}

// Ruby's JSON refuses values nested deeper than 100 with its own message.
func TestToJSONNesting(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{
		{99, "200"},
		{100, "t.erb:1:63: a.to_json: nesting of 100 is too deep (Ruby's JSON raises here)"},
	} {
		src := fmt.Sprintf("<%% a = [] %%><%% %d.times do |i| %%><%% a = [a] %%><%% end %%><%%= a.to_json.size %%>", tt.n)
		tmpl, err := Parse("t.erb", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{})
		if got := out.String() + errString(err); got != tt.want {
			t.Errorf("%d levels: %q, want %q", tt.n+1, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkManyLocals parses and renders 100,000 local variables in a
// 2 MB template (issue 19: 17 s when each lookup walked every variable
// declared before it).
func BenchmarkManyLocals(b *testing.B) {
	var src strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&src, "<%% v%d = v%d %%>\n", i, i/2)
	}
	src.WriteString("<%= v0 %>")
	benchmarkBig(b, []byte(src.String()))
}

// BenchmarkSplitTooExpensive is the split of issue 19 failing.
func BenchmarkSplitTooExpensive(b *testing.B) {
	tmpl, err := Parse("t.erb", []byte(`<%= ("ab" * 5000000).split("").size %>`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := tmpl.Execute(&bytes.Buffer{}, func(string) (string, bool) { return "", false }, Options{}); err == nil {
			b.Fatal("rendered")
		}
	}
}
