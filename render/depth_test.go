package render

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// deepOps are the operations that walk a value recursively, on a and b,
// two equal Arrays nested N levels deep, built apart.
var deepOps = []string{
	`a == b`, `a != b`, `a.inspect.size`, `a.to_s.size`, `"#{a}".size`, `[a, b].sort.size`, `[a, b].max.size`,
	`[a, b].uniq.size`, `[a].include?(b)`, `[a, b].count(b)`, `{a => 1}[b]`, `{a => 1}.key?(b)`, `[[a, 1]].to_h[b]`,
	`([a] - [b]).size`, `a.join.size`, `a.flatten.size`, `[a, b].sort_by { |x| x }.size`,
	`(case a when b then 1 else 2 end)`, `{k: a} == {k: b}`, `[a, 1].to_s.size`,
}

func deepTemplate(levels int, op string) string {
	return fmt.Sprintf("<%% a = [] %%><%% b = [] %%><%% %d.times do |i| %%><%% a = [a] %%><%% b = [b] %%><%% end %%><%%= %s %%>", levels, op)
}

// TestDeepValuesMatchRuby: below the depth limit, the walks give Ruby's
// results (ERB run by Ruby on the same templates).
func TestDeepValuesMatchRuby(t *testing.T) {
	const levels = 5000 // Ruby 3.1 manages 10,000
	srcs := make([]string, len(deepOps))
	for i, op := range deepOps {
		srcs[i] = deepTemplate(levels, op)
	}
	const script = `require "json"; require "erb"
print JSON.generate(JSON.parse(STDIN.read).map { |src| ERB.new(src, trim_mode: "-").result })`
	var want []string
	rubyJSON(t, lookRuby(t), script, srcs, &want)
	for i, src := range srcs {
		out, err := renderTemplate(src)
		if err != nil || string(out) != want[i] {
			t.Errorf("%s at %d levels: %q, %v; Ruby %q", deepOps[i], levels, out, err, want[i])
		}
	}
}

// TestDeepValuesTooDeep: past the limit every recursive walk fails with
// the place and Ruby's SystemStackError instead of exhausting Go's stack
// (a fatal crash of PID 1); flatten, which Ruby does without recursion,
// still works, and to_json keeps JSON's limit of 100.
func TestDeepValuesTooDeep(t *testing.T) {
	const levels = maxValueDepth + 50 // Ruby 3.1 fails at 20,000
	for _, op := range deepOps {
		src := deepTemplate(levels, op)
		out, err := renderTemplate(src)
		if op == `a.flatten.size` {
			if err != nil || string(out) != "0" {
				t.Errorf("%s: %q, %v; want 0", op, out, err)
			}
			continue
		}
		var re *Error
		want := "stack level too deep: a value nested more than 10000 levels (Ruby raises SystemStackError here)"
		tag := strings.Index(src, "<%= ") + 5 // the error is at the operation, in the tag
		if !errors.As(err, &re) || re.Msg != want || re.Col < tag || re.Col >= tag+len(op) || len(out) > 0 {
			t.Errorf("%s: %q, %v; want %s in the tag", op, out, err, want)
		}
	}
	out, err := renderTemplate(deepTemplate(levels, "a.to_json"))
	if err == nil || !strings.HasSuffix(err.Error(), "a.to_json: nesting of 100 is too deep (Ruby's JSON raises here)") || len(out) > 0 {
		t.Errorf("to_json: %q, %v", out, err)
	}
	// An output tag of the value itself fails at its tag.
	out, err = renderTemplate(deepTemplate(levels, "a"))
	if err == nil || !strings.HasSuffix(err.Error(), "stack level too deep: a value nested more than 10000 levels (Ruby raises SystemStackError here)") || len(out) > 0 {
		t.Errorf("<%%= a %%>: %q, %v", out, err)
	}
}
