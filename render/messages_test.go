package render

import (
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// TestStatementsLikeRuby: ; in ( ) and in <%= %>, and modifiers in ( ),
// which Ruby allows, against Ruby.
func TestStatementsLikeRuby(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	srcs := []string{
		"<%= (a = 1; b = 2; a + b) %>|<%= ENV['X']; 1 %>|<%= (ENV['X'] if true) %>|<%= (1 if false).inspect %>",
		"<% x = (y = 2; y * 3) %><%= x %>|<%= (ENV['X'] or 'd') %>|<%= ((1; 2); 3) %>",
	}
	compareWithRuby(t, rubyBin, "", srcs, map[string]string{"X": "x"}, nil)
}

// TestRefusalHints: the messages of issue 22's refusals name what was
// meant.
func TestRefusalHints(t *testing.T) {
	tests := []struct{ src, want string }{
		{"<%= [1; 2] %>", "t.erb:1:7: unsupported Ruby: ; here (statements are separated by ; in a tag, in ( ) and in a { } block, not inside an expression)"},
		{"<% f = ->(x) { x * 2 } %>", "t.erb:1:8: unsupported Ruby: lambda -> (entry has no lambdas or procs; compute the value in a local variable, or use a { |x| ... } block on a list)"},
		{"<% f = lambda { |x| x } %>", "t.erb:1:8: unsupported Ruby: lambda (entry has no lambdas or procs; compute the value in a local variable, or use a { |x| ... } block on a list)"},
		{"<%= Rails.root.join('x').cleanpath %>", "t.erb:1:26: unsupported Ruby: .cleanpath (Rails.root.join already resolves .. and . as Ruby's Pathname#join does; for a String use File.expand_path)"},
		{"<%= 5.minuts %>", "t.erb:1:7: unsupported Ruby: .minuts (did you mean .minute or .minutes? entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes))"},
		{"<%= x.upcas %>", "t.erb:1:5: unsupported Ruby: x (no local variable x is assigned before here; for the environment variable write ENV[\"X\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format())"},
		{"<%= 'a'.upcas %>", "t.erb:1:9: unsupported Ruby: .upcas (did you mean .upcase? entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes))"},
		{"<%= 'a'.center(9) %>", "t.erb:1:9: unsupported Ruby: .center (entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes))"},
		{"<%= 'a'.frobnicate %>", "t.erb:1:9: unsupported Ruby: .frobnicate (entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes))"},
		{"<%= environment %>", "t.erb:1:5: unsupported Ruby: environment (no local variable environment is assigned before here; for the environment variable write ENV[\"ENVIRONMENT\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format())"},
		{"<%= 1.hour.from_now %>", "t.erb:1:12: unsupported Ruby: .from_now (entry has no clock: a rendered file is written once; pass times in environment variables)"},
	}
	for _, tt := range tests {
		_, err := Parse("t.erb", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
