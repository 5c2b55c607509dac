package render

import (
	"os"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// TestCommandCallsLikeRuby: methods called without parentheses, and /
// or / not, and raise, against Ruby's ERB.
func TestCommandCallsLikeRuby(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	srcs := []string{
		`<%= format "%s-%s", 1, 2 %>|<%= sprintf "%05d", 42 %>`,
		`<% x = format "%d", 2 %><%= x %>|<% y = sprintf "%s", ENV["X"] if true %><%= y %>`,
		`<%= File.exist? "/etc" %>|<%= File.exist? "testdata/nonexistent" %>|<% if File.exist? "/etc" %>yes<% end %>`,
		`<%= File.join "a", "b" %>|<%= File.basename "a/b.rb", ".rb" %>|<%= File.dirname "/a/b" %>`,
		`<%= File.read "testdata/corpus/files/settings.json" %>`,
		`<%= JSON.parse File.read("testdata/corpus/files/settings.json") %>`,
		`<%= ENV.fetch "NOPE", "dflt" %>|<%= ENV.fetch "X" %>|<%= ENV.key? "X" %>|<% v = ENV.fetch "NOPE", 5 %><%= v + 1 %>`,
		`<%= ENV.fetch "NOPE" %>`,
		`<%= "a,b".split "," %>|<%= ENV["X"].include? "val" %>|<%= [1, 2].join "-" %>|<%= ENV["X"].start_with? "v", "w" %>`,
		`<%= ENV["X"].gsub "a", "o" %>|<%= { a: { b: 1 } }.dig :a, :b %>|<%= { "a" => 1 }.fetch "a" %>|<%= [3, 1].first 1 %>`,
		`<%= Rails.root.join('log', 'x') == Rails.root.join('log', 'x') %>|<% r = Rails.root.join 'log', 'x' %><%= r.to_s.end_with? "/log/x" %>`,
		`<%= (format "%s", 1) %>|<%= (File.exist? "/nope") ? 1 : 2 %>`,
		`<%= ("a-b").sub "-", "+" %>|<%= [1, 2].map { |x| x * 2 }.join "," %>`,
		`<%= "#{"x".sub "x", "y"}".sub "y", "z" %>|<% v = ENV.fetch("NOPE") { "d" }.sub "d", "e" %><%= v %>`,
		`<%= ENV["NOPE"] or "dflt" %>|<%= ENV["X"] and "both" %>|<% ok = ENV["X"] and ENV["NOPE"] %><%= ok %>|<% ok2 = (ENV["X"] and ENV["NOPE"]) %><%= ok2.inspect %>`,
		`<%= not ENV["X"] %>|<%= (not nil) %>|<% if ENV["X"] and not ENV["NOPE"] %>yes<% end %>|<%= ENV["A"] or ENV["B"] or "c" %>`,
		`<%= 1 if ENV["X"] and ENV["X"].size > 1 %>|<%= [1, 2].map { |x| format "%02d", x } %>`,
		`<%= [1, 2].first -1 %>`,
		`<% x = 5 %><%= x -1 %>|<%= x - 1 %>|<%= x-1 %>|<%= [1, 2].size * 2 %>|<%= [1, 2].size*2 %>|<%= [1, 2].size - 1 %>|<%= [1, 2].size-1 %>`,
		`<%= [1, 2, 3].first -2 %>`,
		// raise
		`<% raise "set X" unless ENV["NOPE"] %>`,
		`a<%= ENV["NOPE"] or raise "set NOPE" %>`,
		`<%= ENV["X"] or raise "set X" %>|<%= ENV["X"] || raise("set X") %>`,
		`<%= ENV["NOPE"] || raise("set NOPE") %>`,
		"<% case ENV[\"X\"]\n   when \"a\" then 1\n   else raise ArgumentError, \"bad X: #{ENV['X']}\"\n   end %>",
		`<% raise %>`,
		`<% raise KeyError %>`,
		`<% raise ArgumentError.new("no way") %>`,
		`<% raise(ArgumentError, "in parens") %>`,
		`<% raise("plain") if true %>`,
		`<% raise KeyError, nil %>`,
		`<% raise nil %>`,
		`<% x = ENV.fetch("NOPE") { raise "NOPE missing" } %>`,
	}
	vars := map[string]string{"X": "value", "A": "", "PATH": os.Getenv("PATH")}
	if raised := compareWithRuby(t, rubyBin, `require "./testdata/rails"; require "json";`, srcs, vars, nil); raised == 0 {
		t.Error("no case raised in Ruby")
	}
}

// TestCommandCallMessages: where Ruby allows no command call, or reads
// an argument where one might see an operator.
func TestCommandCallMessages(t *testing.T) {
	tests := []struct{ src, want string }{
		{`<%= [format "%s", 1] %>`, `t.erb:1:6: write format(...) with parentheses here (Ruby allows format without them only at the start of a statement or after =)`},
		{`<%= 1 + File.exist? "x" %>`, `t.erb:1:9: write File.exist?(...) with parentheses here (Ruby allows File.exist? without them only at the start of a statement or after =)`},
		{`<%= ENV["X"] || raise "x" %>`, `t.erb:1:17: write raise(...) with parentheses here (Ruby allows raise without them only at the start of a statement or after =, and, or)`},
		{`<%= "abc".size -1 %>`, `t.erb:1:11: ambiguous .size -: Ruby reads a - stuck to what follows a space as an argument of .size; write .size(...), or put spaces around the operator`},
		{`<%= [1].size *2 %>`, `t.erb:1:9: ambiguous .size *: Ruby reads a * stuck to what follows a space as an argument of .size; write .size(...), or put spaces around the operator`},
		{`<%= [1].first *2 %>`, `t.erb:1:9: ambiguous .first *: Ruby reads a * stuck to what follows a space as an argument of .first; write .first(...), or put spaces around the operator`},
		{`<% raise Foo, "x" %>`, `t.erb:1:10: unsupported Ruby: raise Foo (raise a String, or an exception class: raise ArgumentError, "message")`},
		{`<%= format %>`, `t.erb:1:5: write format(...) with parentheses`},
	}
	for _, tt := range tests {
		_, err := Parse("t.erb", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
