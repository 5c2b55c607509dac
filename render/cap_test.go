package render

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestStringCapEveryMethod: every way a template makes a String stops at
// the string cap (lowered here to 1 MiB) with the cap's message, before
// making much more than it: operators, methods, functions, format,
// interpolation, inspect and to_json of big values, and the output.
func TestStringCapEveryMethod(t *testing.T) {
	defer func(saved int) { maxOutput = saved }(maxOutput)
	maxOutput = 1 << 20
	const capMsg = "string longer than 1 MiB"
	for _, src := range []string{
		`("x" * 600000 + "y" * 600000).size`,
		`("ab" * 600000).size`,
		`"x".ljust(1100000).size`,
		`"x".rjust(600000, "é").size`,
		`"x".ljust(500000, "😀a").size`,
		`("\u0001" * 180000).inspect.size`,
		`(["x" * 1000] * 1100).to_s.size`,
		`(["x" * 1000] * 1100).inspect.size`,
		`{"a" => ["x" * 1000] * 600, "b" => ["y" * 1000] * 600}.to_s.size`,
		`(["ab" * 500] * 1100).join(",").size`,
		`(["x" * 600000, "y" * 600000] * "").size`,
		`("x" * 1000).gsub("x", "y" * 2000).size`,
		`("x" * 1000).gsub("x", "\\0\\0" * 1000).size`,
		`(("%9999d" * 110) % ([1] * 110)).size`,
		`format("%9999s" * 120, *[]).size`,
		`format("%s%s", "x" * 600000, "y" * 600000).size`,
		`("%s" % [["x" * 1000] * 1100]).size`,
		`"#{"x" * 600000}#{"y" * 600000}".size`,
		`("\"" * 600000).to_json.size`,
		`(["x" * 600000, "y" * 600000]).to_json.size`,
		`String(["x" * 1000] * 1100).size`,
		`("İ" * 400000).downcase.size`,
		`File.join("x" * 600000, "y" * 600000).size`,
		`Rails.root.join("x" * 600000, "y" * 600000).to_s.size`,
		`(1..1100).map { |i| "x" * 1000 }.to_s.size`,
	} {
		if strings.Contains(src, "*[]") {
			src = strings.Replace(src, ", *[]", ", "+strings.TrimSuffix(strings.Repeat(`"a", `, 120), ", "), 1)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		out, err := renderString(src)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.HasSuffix(err.Error(), capMsg) {
			t.Errorf("%s:\n got %q, %v\nwant %s", src, out, err, capMsg)
		}
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 64 {
			t.Errorf("%s: allocated %d MiB before failing", src, mb)
		}
	}
	// The output too, and under the cap everything renders.
	tmpl, _ := Parse("t.erb", []byte(`<%= "x" * 600000 %><%= "y" * 600000 %>`))
	if err := tmpl.Execute(&bytes.Buffer{}, func(string) (string, bool) { return "", false }, Options{}); err == nil || err.Error() != "t.erb:1:28: output larger than 1 MiB" {
		t.Errorf("output: %v", err)
	}
	if out, err := renderString(`("x" * 1048576).size`); err != nil || string(out) != "1048576" {
		t.Errorf("a String of exactly the cap: %q, %v", out, err)
	}
}
