package render

import (
	"bytes"
	"errors"
	"testing"
)

// TestParseErrors asserts the exact message, with file:line:col, of every
// kind of template Parse refuses.
func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		// Ruby outside the subset.
		{"a\nhost: <%= Rails.root %>", "t.erb:2:11: unsupported Ruby: Rails.root (entry renders without Rails; use ENV[...])"},
		{"x: <%= Rails.application.credentials.db %>", "t.erb:1:8: unsupported Ruby: Rails.application.credentials.db (entry renders without Rails; use ENV[...])"},
		{"<%= `hostname` %>", "t.erb:1:5: unsupported Ruby: backticks (entry runs no commands; pass the value in an environment variable)"},
		{"<% require 'yaml' %>", "t.erb:1:4: unsupported Ruby: require (entry renders without Ruby libraries)"},
		{"<% def foo; end %>", "t.erb:1:4: unsupported Ruby: method definition (entry renders without Ruby; compute values in environment variables)"},
		{"<%= File.read('/etc/passwd') %>", "t.erb:1:5: unsupported Ruby: File.read (entry renders without reading files or running code; use ENV[...])"},
		{"<%= Socket.gethostname %>", "t.erb:1:5: unsupported Ruby: Socket.gethostname (entry renders without reading files or running code; use ENV[...])"},
		{"<%= YAML.load('x') %>", "t.erb:1:5: unsupported Ruby: YAML.load (entry knows no constant but ENV; use ENV[...])"},
		{"<%= ENV['X'].gsub('a', 'b') %>", "t.erb:1:14: unsupported Ruby: .gsub (entry supports " + methodList + ")"},
		{"<%= foo %>", "t.erb:1:5: unsupported Ruby: foo (entry knows ENV and the variables of .each loops; use ENV[...])"},
		{"<% x = 1 %>", "t.erb:1:4: unsupported Ruby: assignment to x (entry has no variables besides .each's; inline the expression)"},
		{"<%= 1 + 2 %>", `t.erb:1:7: unsupported Ruby: operator + (entry has no arithmetic or concatenation; use "#{a}#{b}" for strings)`},
		{"<%= ENV['A'] or ENV['B'] %>", "t.erb:1:14: unsupported Ruby: or (use &&, || or !)"},
		{"<%= :sym %>", "t.erb:1:5: unsupported Ruby: Symbol (use a string)"},
		{"<%= 1.5 %>", "t.erb:1:5: unsupported Ruby: Float (entry supports integers only; quote the value)"},
		{"<%= 010 %>", "t.erb:1:5: unsupported Ruby: integer with a leading 0 (Ruby reads it as octal; write it in decimal, or quote it)"},
		{"<% ENV['X'].split(',').each { |h| %>", "t.erb:1:29: unsupported Ruby: each { |x| ... } (write LIST.each do |x| %> ... <% end)"},
		{"<%= ENV.to_h %>", "t.erb:1:5: unsupported Ruby: ENV.to_h (entry supports ENV[...], ENV.fetch(...) and ENV.key?(...))"},
		{"<%= ENV['X'] # comment %>", "t.erb:1:14: unsupported Ruby: # comment inside a tag (use <%# comment %>)"},
		{"<% # comment %>text", "t.erb:1:4: unsupported Ruby: # comment inside <% %> (use <%# comment %>; Ruby's comment would also hide what follows the tag)"},
		{"<%= @foo %>", "t.erb:1:5: unsupported Ruby: instance variable @foo (use ENV[...])"},
		{"<%= $0 %>", "t.erb:1:5: unsupported Ruby: global variable (use ENV[...])"},
		{"<%= [1, 2] %>", `t.erb:1:5: unsupported Ruby: array literal (use "a,b".split(","))`},
		{`<%= "#@x" %>`, `t.erb:1:6: unsupported Ruby: #@ interpolation (escape the # as \#, or use #{...})`},
		{"<% while true %>", "t.erb:1:4: unsupported Ruby: while (entry supports if/elsif/else/end, unless and LIST.each do |x|)"},
		{"<%= ENV['X'] if true %>", "t.erb:1:14: unsupported Ruby: modifier if (use <% if ... %> ... <% end %>, or cond ? a : b)"},
		{"<%= ENV['X']; 1 %>", "t.erb:1:13: unsupported Ruby: ; (one statement per tag)"},
		{"<%= ENV['X'] &.upcase %>", "t.erb:1:14: unsupported Ruby: &. (use x && x.method, or .presence / .to_s)"},
		{"<%= ENV['X'] =~ /a/ %>", "t.erb:1:14: unsupported Ruby: =~ (entry has no regular expressions; use .include?)"},
		{"<%= ENV['X'] < 'b' %>", "t.erb:1:14: unsupported Ruby: comparison < (entry compares with == and != only)"},
		// Unbalanced tags and blocks.
		{"<%= ENV['X']", "t.erb:1:1: unbalanced tags: <%= is never closed with %>"},
		{"a\n  <% if true", "t.erb:2:3: unbalanced tags: <% is never closed with %>"},
		{"<%= ENV['X'] \n<%= ENV['Y'] %>", "t.erb:2:1: unbalanced tags: <% inside a tag (is the %> of the tag opened at 1:1 missing?)"},
		{"a %> b", `t.erb:1:3: "%>" outside a tag closes nothing (a doubled %>? to write it literally, use <%= "%%>" %>)`},
		{"<%= 1 %> %>", `t.erb:1:10: "%>" outside a tag closes nothing (a doubled %>? to write it literally, use <%= "%%>" %>)`},
		{"a <%= 1 %> b\n<% end %>", "t.erb:2:4: end without if, unless or .each"},
		{"<% if ENV['X'] %>\nyes\n", "t.erb:1:1: if without end (add <% end %>)"},
		{"<% 'a'.split.each do |x| %>", "t.erb:1:1: .each without end (add <% end %>)"},
		{"<% else %>", "t.erb:1:4: else without if"},
		{"<% elsif true %>", "t.erb:1:4: elsif without if"},
		{"<% if true %><% else %><% else %><% end %>", "t.erb:1:27: else after else"},
		{"<% unless true %><% elsif true %><% end %>", "t.erb:1:21: elsif inside unless is a syntax error in Ruby; use if"},
		{"<% 'a'.split.each do |x| %><% else %><% end %>", "t.erb:1:31: else inside .each (close the loop with <% end %> first)"},
		{"<% if true %><% 'a'.split.each do |x| %><% end %><% end %><%= x %>", "t.erb:1:63: unsupported Ruby: x (entry knows ENV and the variables of .each loops; use ENV[...])"},
		// Strings.
		{"<%= 'abc %>", "t.erb:1:5: unterminated string (a %> inside a string ends the tag; write %%>)"},
		{"<%= \"abc %>", "t.erb:1:5: unterminated string (a %> inside a string ends the tag; write %%>)"},
		{"<%= \"a #{ENV['X'] %>", "t.erb:1:8: missing } of #{"},
		{`<%= "\u{110000}" %>`, "t.erb:1:6: invalid Unicode codepoint"},
		{`<%= "\xZZ" %>`, "t.erb:1:6: invalid hex escape"},
		// Syntax.
		{"<%= ENV.fetch 'X' %>", `t.erb:1:9: write ENV.fetch("NAME", default) with parentheses`},
		{"<%= ENV.fetch('X', 1) { 2 } %>", "t.erb:1:23: give ENV.fetch a default argument or a block, not both"},
		{"<%= ENV['A'] ? 'a':'b' %>", "t.erb:1:19: write cond ? a : b with a space after the colon (Ruby reads :' as a Symbol)"},
		{"<%= ENV['A']\n|| 'b' %>", "t.erb:1:13: line break inside an expression: Ruby ends the statement here (put the operator at the end of the line, or use one line)"},
		{"<%= 1 == 2 == 3 %>", "t.erb:1:12: a == b == c is a syntax error in Ruby; use parentheses or &&"},
		{"<%= %>", "t.erb:1:4: empty <%= %> tag"},
		{"<%-= 1 %>", "t.erb:1:4: unexpected = (to output a value, write <%= ... %>; <%- cannot output)"},
		{"<%= ENV['X'].include? 'a' %>", "t.erb:1:14: .include? needs an argument in parentheses: .include?(x)"},
		{"<%= ENV['X'].to_i(16) %>", "t.erb:1:14: .to_i takes no arguments"},
		{"<%= (1 %>", "t.erb:1:5: missing ) for this ("},
		{"<%= ENV['X'] == 'a' && %>", "t.erb:1:24: unexpected end of tag: expected a value"},
		{"<%= 'a'.split.each do |x| %>", "t.erb:1:15: .each must begin its own tag: <% LIST.each do |x| %> ... <% end %>"},
		{"<%= ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1" + "%>", "t.erb:1:55: expression nested too deeply (more than 100 levels)"},
		{"€ <%= ENV[ %>", "t.erb:1:12: unexpected end of tag: expected a value"},
	}
	for _, tt := range tests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want %s", tt.src, tt.want)
			continue
		}
		if tmpl != nil {
			t.Errorf("Parse(%q) returned a template with its error", tt.src)
		}
		var rerr *Error
		if !errors.As(err, &rerr) {
			t.Errorf("Parse(%q): %T is not *Error", tt.src, err)
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.src, err, tt.want)
		}
	}
}

// TestExecuteErrors asserts the messages of failures while rendering, and
// that nothing is written when rendering fails.
func TestExecuteErrors(t *testing.T) {
	env := map[string]string{"SET": "v", "LIST": "a,b"}
	tests := []struct {
		src    string
		strict bool
		want   string
	}{
		{"url: <%= ENV.fetch('DATABASE_URL') %>", false, `t.erb:1:10: ENV.fetch('DATABASE_URL'): DATABASE_URL is not set (set it, or give a default: ENV.fetch("DATABASE_URL", default))`},
		{"<%= ENV.fetch('SET', ENV.fetch('NOPE')) %>", false, `t.erb:1:22: ENV.fetch('NOPE'): NOPE is not set (set it, or give a default: ENV.fetch("NOPE", default))`},
		{"<%= ENV['NOPE'].upcase %>", false, "t.erb:1:5: undefined method 'upcase' for nil (ENV['NOPE'] is not set; give a default with ENV.fetch(NAME, default) or .to_s)"},
		{"<%= 5.strip %>", false, "t.erb:1:5: undefined method 'strip' for an Integer (Ruby raises NoMethodError here)"},
		{"<%= true.to_i %>", false, "t.erb:1:5: undefined method 'to_i' for true (Ruby raises NoMethodError here)"},
		{"<% ENV['SET'].each do |x| %><% end %>", false, "t.erb:1:4: undefined method 'each' for a String (Ruby raises NoMethodError here)"},
		{"<%= ENV['SET'].include?(ENV['NOPE']) %>", false, "t.erb:1:25: no implicit conversion of nil into String (Ruby raises TypeError here)"},
		{"<%= ENV[5] %>", false, "t.erb:1:9: no implicit conversion of Integer into String (Ruby raises TypeError here)"},
		{"<%= \"\\xff\".to_json %>", false, `t.erb:1:12: "\xff".to_json: source sequence is illegal/malformed utf-8 (Ruby's JSON raises here)`},
		{"a\n<%= ENV['NOPE'] %>", true, `t.erb:2:5: ENV['NOPE']: NOPE is not set (strict mode: set it, or give a default with ENV.fetch("NOPE", default))`},
		{"<%= ENV['A'] || ENV['B'] %>", true, `t.erb:1:17: ENV['B']: B is not set (strict mode: set it, or give a default with ENV.fetch("B", default))`},
		{"<%= \"#{ENV['NOPE']}\" %>", true, `t.erb:1:8: ENV['NOPE']: NOPE is not set (strict mode: set it, or give a default with ENV.fetch("NOPE", default))`},
		{"<%= ENV['NOPE'].to_i %>", true, `t.erb:1:5: ENV['NOPE']: NOPE is not set (strict mode: set it, or give a default with ENV.fetch("NOPE", default))`},
		{"<% 'a,b,c,d,e,f,g,h,i,j'.split(',').each do |a| %><% a.split('').each do |b| %>" +
			"<% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |c| %><% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |d| %>" +
			"<% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |e| %><% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |f| %>" +
			"<%= f %><% end %><% end %><% end %><% end %><% end %><% end %>", false,
			"t.erb:1:280: template too expensive: more than 1000000 loop iterations and block calls"},
	}
	for _, tt := range tests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		var out bytes.Buffer
		err = tmpl.Execute(&out, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Options{Strict: tt.strict})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Execute(%q, strict=%v):\n got %v\nwant %s", tt.src, tt.strict, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("Execute(%q) wrote %q before failing", tt.src, out.String())
		}
	}
}

// TestTemplateReuse checks that a template renders the same twice and
// concurrently (Execute keeps its state outside the Template).
func TestTemplateReuse(t *testing.T) {
	tmpl, err := Parse("t.erb", []byte("<% ENV['L'].split(',').each do |x| %>[<%= x %>]<% end %>"))
	if err != nil {
		t.Fatal(err)
	}
	env := func(string) (string, bool) { return "a,b,c", true }
	done := make(chan string, 8)
	for range 8 {
		go func() {
			var b bytes.Buffer
			if err := tmpl.Execute(&b, env, Options{}); err != nil {
				done <- err.Error()
				return
			}
			done <- b.String()
		}()
	}
	for range 8 {
		if got := <-done; got != "[a][b][c]" {
			t.Errorf("got %q", got)
		}
	}
}
