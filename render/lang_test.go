package render

import (
	"bytes"
	"testing"
)

// TestRuby34 checks what the reference Ruby (3.1) of the conformance
// corpus cannot: `it`, the block parameter of Ruby 3.4, which entry
// reads as Ruby 3.4 does.
func TestRuby34(t *testing.T) {
	tests := []struct{ src, want string }{
		{"<%= [1, 2].map { it * 2 } %>", "[2, 4]"},
		{"<%= [[1, 2]].map { it } %>", "[[1, 2]]"},
		{"<%= %w[a b].select { it == 'b' } %>", `["b"]`},
		// it = 5 outside a block is a local variable named it.
		{"<% it = 5 %><%= it + 1 %>", "6"},
		// An explicit parameter hides it: it is then a name entry does
		// not know.
		{"<% it = 1 %><%= [7].map { |x| it + x } %>", "[8]"},
	}
	for _, tt := range tests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil {
			t.Errorf("Execute(%q): %v", tt.src, err)
			continue
		}
		if out.String() != tt.want {
			t.Errorf("%q rendered %q, want %q", tt.src, out.String(), tt.want)
		}
	}
	if _, err := Parse("t.erb", []byte("<%= [1].map { |x| it } %>")); err == nil || err.Error() != "t.erb:1:19: unsupported Ruby: it (no local variable it is assigned before here; for the environment variable write ENV[\"IT\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format())" {
		t.Errorf("it beside a named parameter: %v", err)
	}
}
