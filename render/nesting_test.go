package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// Deep templates are refused at parse time with the place where they
// pass 1000, so that neither parsing nor rendering can exhaust
// Go's stack (a stack overflow is a fatal error that kills PID 1, not a
// panic). The first two are the 1.2 MB templates of issue 19.
func TestNestingTooDeep(t *testing.T) {
	const msg = "nesting too deep: more than 1000 levels (each parenthesis, block, operator and chained method call is one; split the expression with local variables)"
	const blocks = "nesting too deep: more than 1000 blocks (if, unless, case, .each) open at once"
	rep := strings.Repeat
	tests := []struct{ name, src, want string }{
		// 300,000 terms: the 1,000th + (at column 4 + 4*1000 - 1) is one
		// level too many, after the expression's own.
		{"plus", "<%= " + rep("1 + ", 299_999) + "1 %>", "t.erb:1:4003: " + msg},
		{"to_s", "<%= 1" + rep(".to_s", 300_000) + " %>", "t.erb:1:5002: " + msg},
		{"minus and times", "<%= 1" + rep(" - 2 * 3", 100_000) + " %>", "t.erb:1:7995: " + msg},
		{"index", "<%= [1]" + rep("[0]", 2000) + " %>", "t.erb:1:3000: " + msg},
		{"safe navigation", "<%= ENV['X']" + rep("&.to_s", 2000) + " %>", "t.erb:1:6009: " + msg},
		{"parentheses", "<%= " + rep("(", 600) + "1" + rep(")", 600) + " %>", "t.erb:1:505: " + msg},
		{"not", "<%= " + rep("!", 2000) + "1 %>", "t.erb:1:1004: " + msg},
		{"negation", "<%= " + rep("-", 2000) + "x %>", "t.erb:1:1004: " + msg},
		{"ternary", "<%= " + rep("1 ? ", 2000) + "1" + rep(" : 2", 2000) + " %>", "t.erb:1:4005: " + msg},
		{"modifiers", "<% x = 1" + rep(" if true", 2000) + " %>", "t.erb:1:8005: " + msg},
		{"assignments", "<% " + rep("a = ", 2000) + "1 %>", "t.erb:1:2004: " + msg},
		{"interpolation", "<%= " + rep(`"#{`, 600) + "1" + rep(`}"`, 600) + " %>", "t.erb:1:1505: " + msg},
		{"arrays", "<%= " + rep("[", 1200) + rep("]", 1200) + " %>", "t.erb:1:505: " + msg},
		{"blocks", "<%= [1]" + rep(".map { |x| [x]", 600) + rep(" }", 600) + " %>", "t.erb:1:4667: " + msg},
		{"ifs", rep("<% if true %>", 1200) + "x" + rep("<% end %>", 1200), "t.erb:1:13004: " + blocks},
		{"loops", rep("<% [1].each do |x| %>\n", 1200) + rep("<% end %>", 1200), "t.erb:1001:4: " + blocks},
		{"case", rep("<% case 1 %><% when 1 %>", 1200) + rep("<% end %>", 1200), "t.erb:1:24004: " + blocks},
	}
	for _, tt := range tests {
		_, err := Parse("t.erb", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s (%d bytes):\n got %v\nwant %s", tt.name, len(tt.src), err, tt.want)
		}
	}
}

// Up to the limit, deep templates parse and render as Ruby does (Ruby
// renders these too; its parser stops at 10,000 levels).
func TestNestingAtLimit(t *testing.T) {
	rep := strings.Repeat
	tests := []struct{ name, src, want string }{
		{"plus", "<%= " + rep("1 + ", 997) + "1 %>", "998"},
		{"to_s", "<%= 1" + rep(".to_s", 998) + " %>", "1"},
		{"parentheses", "<%= " + rep("(", 499) + "1" + rep(")", 499) + " %>", "1"},
		{"ifs", rep("<% if true %>", 1000) + "x" + rep("<% end %>", 1000), "x"},
		// Wide is not deep: chains that are one node, and lists.
		{"or", "<%= " + rep("nil || ", 100_000) + "1 %>", "1"},
		{"when", "<%= case 7 when " + rep("1, ", 50_000) + "7 then 'y' end %>", "y"},
		{"when without value", "<% case %><% when " + rep("false, ", 50_000) + "true %>y<% end %>", "y"},
		{"array", "<%= [" + rep("1, ", 100_000) + "1].size %>", "100001"},
		{"sequence", "<% " + rep("a = 1; ", 50_000) + "%><%= a %>", "1"},
	}
	for _, tt := range tests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil || out.String() != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, out.String(), err, tt.want)
		}
	}
}

// deepSeeds are templates of the shapes TestNestingTooDeep refuses, just
// under and just past the limit, and wide ones, for the fuzz targets
// (each under FuzzExecute's 16 KiB bound).
func deepSeeds() []string {
	rep := strings.Repeat
	var seeds []string
	for _, n := range []int{999, 1001} {
		seeds = append(seeds,
			"<%= "+rep("1 + ", n)+"1 %>",
			"<%= 1"+rep(".to_s", n)+" %>",
			"<%= "+rep("(", n/2)+"1"+rep(")", n/2)+" %>",
			"<% x = 1"+rep(" if 1", n)+" %><%= x %>",
			rep("<%if 1%>", n)+"x"+rep("<%end%>", n),
			"<%= [1]"+rep(".map { |x| [x]", n/2)+rep(" }", n/2)+" %>",
		)
	}
	return append(seeds,
		"<%= "+rep("ENV['A'] || ", 1000)+"1 %>",
		"<%= ["+rep("'a', ", 2000)+"1] %>",
		"<%= case ENV['A'] when "+rep("'x', ", 2000)+"nil then 1 end %>",
		"<% "+wideLocals(1000)+" %><%= v0 %>",
	)
}

// wideLocals is n assignments to distinct locals, in one tag.
func wideLocals(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "v%d = %d; ", i, i)
	}
	return b.String()
}
