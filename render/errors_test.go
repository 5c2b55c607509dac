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
		{"a\nhost: <%= Rails.logger %>", "t.erb:2:11: unsupported Ruby: Rails.logger (entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...])"},
		{"# key: <%= Rails.logger %>", "t.erb:1:12: unsupported Ruby: Rails.logger (entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...]; this line is a YAML comment, but ERB runs the code in it all the same: delete the line, or write <%= as <%%= to keep it as text)"},
		{"x: <%= Rails.application.config.x %>", "t.erb:1:8: unsupported Ruby: Rails.application.config (of Rails.application entry knows credentials only; use ENV[...])"},
		{"x: <%= Rails.application.credentials.db? %>", "t.erb:1:38: unsupported Ruby: .db? (read the key with .dig(:db) or [:db])"},
		{"<% def foo; end %>", "t.erb:1:4: unsupported Ruby: method definition (entry renders without Ruby; compute values in environment variables)"},
		{"<%= File.write('x', 'y') %>", "t.erb:1:5: unsupported Ruby: File.write (entry supports File.read, File.exist?, File.file?, File.directory?, File.join, File.basename, File.dirname, File.extname and File.expand_path)"},
		{"<%= JSON.dump(1) %>", "t.erb:1:5: unsupported Ruby: JSON.dump (entry supports JSON.parse(string))"},
		{"<%= Sidekiq.server? %>", "t.erb:1:5: unsupported Ruby: Sidekiq.server? (entry knows no constant but ENV, File, JSON and Rails; use ENV[...])"},
		{"<%= Socket.ip_address_list %>", "t.erb:1:5: unsupported Ruby: Socket.ip_address_list (entry knows Socket.gethostname)"},
		{"<%= YAML.load('x') %>", "t.erb:1:5: unsupported Ruby: YAML.load (entry knows no constant but ENV, File, JSON and Rails; use ENV[...])"},
		{"<%= ENV['X'].tr('a', 'b') %>", "t.erb:1:14: unsupported Ruby: .tr (use .gsub(from, to) for each character)"},
		{"<%= foo %>", "t.erb:1:5: unsupported Ruby: foo (no local variable foo is assigned before here; for the environment variable write ENV[\"FOO\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format())"},
		{"<% ENV['X'] = 1 %>", "t.erb:1:13: unsupported Ruby: assignment to this (assign to a local variable: x = ...)"},
		{"<%= 2 ** 3 %>", "t.erb:1:7: unsupported Ruby: operator ** (multiply with *)"},
		{"<%= 1 << 3 %>", "t.erb:1:7: unsupported Ruby: operator << (use + to join strings or arrays)"},
		{"<%= ENV['X'] += 'a' %>", "t.erb:1:14: unsupported Ruby: operator += (only a local variable can be assigned: x += ...)"},
		{"<%= ENV['A'] ? ENV['B'] & 'x' : 'c' %>", "t.erb:1:25: unsupported Ruby: operator & (use || or &&)"},
		{"<%= puts 'x' %>", "t.erb:1:5: unsupported Ruby: puts (entry renders the template's text and <%= %> values only)"},
		{"<%= [1].map %>", "t.erb:1:9: .map needs a block: .map { |x| ... }"},
		{"<%= [1].map do |x| x end %>", "t.erb:1:13: unsupported Ruby: .map do ... end (write .map { |x| ... } in one tag)"},
		{"<%= [1].strip { 1 } %>", "t.erb:1:15: unsupported Ruby: a block after .strip (.strip takes no block)"},
		{"<%= [1].map(&:gsub) %>", "t.erb:1:12: unsupported Ruby: &:gsub (entry supports &: with " + methodList + ")"},
		{"<%= [1].map { _3 } %>", "t.erb:1:15: unsupported Ruby: _3 (entry supports _1 and _2; name the block's variables: { |a, b, c| ... })"},
		{"<%= [1].map { |x| _1 } %>", "t.erb:1:19: _1 in a block that names its variables"},
		{"<%= _1 %>", "t.erb:1:5: _1 outside a block"},
		{"<%= Integer('1', 2) %>", "t.erb:1:5: Integer takes exactly one argument"},
		{"<%= format %>", "t.erb:1:5: write format(...) with parentheses"},
		{"<%= %q(a) %>", "t.erb:1:5: unsupported Ruby: %-literal (use a quoted string, or %w[a b] for a list of words)"},
		{"<%= %W[a] %>", "t.erb:1:5: unsupported Ruby: %W[...] (use %w[...] or %i[...], or an array of strings)"},
		{"<%= %w[a b %>", "t.erb:1:5: unterminated %w list"},
		{"<%= case 1 when 1 then 2 %>", "t.erb:1:5: case without end (in one tag: case x when a then b end; or put case x alone in its tag and each when in its own)"},
		{"<% case 1 %>\n<% when 1 %><% end %>", "t.erb:2:4: text between case and its first when: Ruby rejects it (close the case tag with -%>, or put case and when in one tag)"},
		{"<% case 1 %><% if true %><% end %>", "t.erb:1:16: case needs a when first (Ruby allows nothing between case and its first when)"},
		{"<% when 1 %>", "t.erb:1:4: when without case"},
		{"<% case 1 -%>\n<% when 1 %><% elsif 2 %><% end %>", "t.erb:2:16: elsif inside case; use when"},
		{"<% case 1 -%>\n<% when 1 %>", "t.erb:1:1: case without end (add <% end %>)"},
		{"<%= { 'a' 1 } %>", "t.erb:1:11: expected => after a Hash key"},
		{"<%= { 'a' => 1 %>", "t.erb:1:5: missing } of the Hash"},
		{"<%= [1][0..] %>", "t.erb:1:10: unsupported Ruby: endless range (give the range an end: a..b)"},
		{"<%= (..2) %>", "t.erb:1:6: unsupported Ruby: range here (put the range in parentheses: (a..b))"},
		{"<% _1 = 2 %>", "t.erb:1:4: _1 outside a block"},
		{"<%= [ENV['A'] or ENV['B']] %>", "t.erb:1:15: unsupported Ruby: or (use &&, || or !)"},
		{"<%= :'sym' %>", "t.erb:1:5: unsupported Ruby: this Symbol (write :name, or use a string)"},
		{"<%= 010 %>", "t.erb:1:5: unsupported Ruby: integer with a leading 0 (Ruby reads it as octal; write it in decimal, or quote it)"},
		{"<% ENV['X'].split(',').each { |h| %>", "t.erb:1:29: unsupported Ruby: each { |x| ... } (write LIST.each do |x| %> ... <% end)"},
		{"<%= ENV.to_h %>", "t.erb:1:5: unsupported Ruby: ENV.to_h (entry supports ENV[...], ENV.fetch(...) and ENV.key?(...))"},
		{"<%= ENV['X'] # comment %>", "t.erb:1:14: unsupported Ruby: # comment inside a tag (use <%# comment %>)"},
		{"<% # comment %>text", "t.erb:1:4: unsupported Ruby: # comment inside <% %> (use <%# comment %>; Ruby's comment would also hide what follows the tag)"},
		{"<%= @foo %>", "t.erb:1:5: unsupported Ruby: instance variable @foo (use ENV[...])"},
		{"<%= $0 %>", "t.erb:1:5: unsupported Ruby: global variable (use ENV[...])"},
		{`<%= "#@x" %>`, `t.erb:1:6: unsupported Ruby: #@ interpolation (escape the # as \#, or use #{...})`},
		{"<% while true %>", "t.erb:1:4: unsupported Ruby: while (entry supports if/elsif/else/end, unless, case/when and LIST.each do |x|)"},
		{"<%= [ENV['X'] if true] %>", "t.erb:1:15: unsupported Ruby: modifier if here (a modifier ends a statement: put it last in the tag, or use cond ? a : b)"},
		{"<%= ENV['X'] while true %>", "t.erb:1:14: unsupported Ruby: modifier while (use <% if ... %> ... <% end %>, or cond ? a : b)"},
		{"<%= [ENV['X']; 1] %>", "t.erb:1:14: unsupported Ruby: ; here (statements are separated by ; in a tag, in ( ) and in a { } block, not inside an expression)"},
		{"<%= ENV['X'] =~ /a/ %>", "t.erb:1:14: unsupported Ruby: =~ (entry has no regular expressions; use .include?)"},
		{"<%= ENV['X'] <=> 'b' %>", "t.erb:1:14: unsupported Ruby: operator <=> (use <, > or ==)"},
		// Unbalanced tags and blocks.
		{"<%= ENV['X']", "t.erb:1:1: unbalanced tags: <%= is never closed with %>"},
		{"a\n  <% if true", "t.erb:2:3: unbalanced tags: <% is never closed with %>"},
		{"<%= ENV['X'] \n<%= ENV['Y'] %>", "t.erb:2:1: unbalanced tags: <% inside a tag (is the %> of the tag opened at 1:1 missing?)"},
		{"a <%= 1 %> b\n<% end %>", "t.erb:2:4: end without if, unless, case or .each"},
		{"<% if ENV['X'] %>\nyes\n", "t.erb:1:1: if without end (add <% end %>)"},
		{"<% 'a'.split.each do |x| %>", "t.erb:1:1: .each without end (add <% end %>)"},
		{"<% else %>", "t.erb:1:4: else without if"},
		{"<% elsif true %>", "t.erb:1:4: elsif without if"},
		{"<% if true %><% else %><% else %><% end %>", "t.erb:1:27: else after else"},
		{"<% unless true %><% elsif true %><% end %>", "t.erb:1:21: elsif inside unless is a syntax error in Ruby; use if"},
		{"<% 'a'.split.each do |x| %><% else %><% end %>", "t.erb:1:31: else inside .each (close the loop with <% end %> first)"},
		{"<% if true %><% 'a'.split.each do |x| %><% end %><% end %><%= x %>", "t.erb:1:63: unsupported Ruby: x (no local variable x is assigned before here; for the environment variable write ENV[\"X\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format())"},
		// Strings.
		{"<%= 'abc %>", "t.erb:1:5: unterminated string (a %> inside a string ends the tag; write %%>)"},
		{"<%= \"abc %>", "t.erb:1:5: unterminated string (a %> inside a string ends the tag; write %%>)"},
		{"<%= \"a #{ENV['X'] %>", "t.erb:1:8: missing } of #{"},
		{`<%= "\u{110000}" %>`, "t.erb:1:6: invalid Unicode codepoint"},
		{`<%= "\xZZ" %>`, "t.erb:1:6: invalid hex escape"},
		// Syntax.
		{"<%= ENV.fetch 'X' || ENV.fetch 'Y' %>", `t.erb:1:26: write ENV.fetch(...) with parentheses here (Ruby allows ENV.fetch without them only at the start of a statement or after =)`},
		{"<%= ENV.fetch %>", `t.erb:1:9: write ENV.fetch("NAME", default) with parentheses`},
		{"<%= ENV.fetch('X', 1) { 2 } %>", "t.erb:1:23: give ENV.fetch a default argument or a block, not both"},
		{"<%= ENV['A'] ? 'a':'b' %>", "t.erb:1:19: write cond ? a : b with a space after the colon (Ruby reads :' as a Symbol)"},
		{"<%= ENV['A']\n|| 'b' %>", "t.erb:1:13: line break inside an expression: Ruby ends the statement here (put the operator at the end of the line, or use one line)"},
		{"<%= 1 == 2 == 3 %>", "t.erb:1:12: a == b == c is a syntax error in Ruby; use parentheses or &&"},
		{"<%= %>", "t.erb:1:4: empty <%= %> tag"},
		{"<%-= 1 %>", "t.erb:1:4: unexpected = (to output a value, write <%= ... %>; <%- cannot output)"},
		{"<%= ENV['X'].include? %>", "t.erb:1:14: .include? needs an argument in parentheses: .include?(x)"},
		{"<%= 1 + ENV['X'].include? 'a' %>", "t.erb:1:18: write .include?(...) with parentheses here (Ruby allows .include? without them only at the start of a statement or after =)"},
		{"<%= ENV['X'].to_i(16) %>", "t.erb:1:14: .to_i takes no arguments"},
		{"<%= (1 %>", "t.erb:1:5: missing ) for this ("},
		{"<%= ENV['X'] == 'a' && %>", "t.erb:1:24: unexpected end of tag: expected a value"},
		{"<%= 'a'.split.each do |x| %>", "t.erb:1:15: .each must begin its own tag: <% LIST.each do |x| %> ... <% end %>"},
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
		{"<%= 1 / ENV['SET'].to_i.abs.to_i * 0 %>", false, "t.erb:1:7: divided by 0 (Ruby raises ZeroDivisionError here)"},
		{"<%= 5 % 0 %>", false, "t.erb:1:7: divided by 0 (Ruby raises ZeroDivisionError here)"},
		{"<%= 1 + nil %>", false, "t.erb:1:7: nil can't be coerced into Integer (Ruby raises TypeError here)"},
		{"<%= 1 < 'a' %>", false, "t.erb:1:7: comparison of Integer with String failed (Ruby raises ArgumentError here)"},
		{"<%= 'a' + 1 %>", false, "t.erb:1:11: no implicit conversion of Integer into String (Ruby raises TypeError here)"},
		{"<%= ENV['NOPE'] + 'a' %>", false, "t.erb:1:5: undefined method '+' for nil (ENV['NOPE'] is not set; give a default with ENV.fetch(NAME, default) or .to_s)"},
		{"<%= 'a' * -1 %>", false, "t.erb:1:9: negative argument (Ruby raises ArgumentError here)"},
		{"<%= 'ab' * 40000000 %>", false, "t.erb:1:10: string longer than 64 MiB"},
		{"<% s = 'a' * 1000000 %><%= s.gsub('a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') %>", false, "t.erb:1:30: string longer than 64 MiB"},
		{"<% 100000.times do |i| %><% 'ab' * 30000000 %><% end %>", false, "t.erb:1:34: template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"},
		{"<%= Integer(ENV['SET']) %>", false, `t.erb:1:5: invalid value for Integer(): ENV["SET"] (1 byte, not shown) (Ruby raises ArgumentError here)`},
		{"<%= Integer(ENV['NOPE']) %>", false, "t.erb:1:5: can't convert nil into Integer (Ruby raises TypeError here; use .to_i, which gives 0)"},
		{"<%= Float('1.x') %>", false, `t.erb:1:5: invalid value for Float(): "1.x" (Ruby raises ArgumentError here)`},
		{"<%= format('%d %d', 1) %>", false, "t.erb:1:5: too few arguments (Ruby raises ArgumentError here)"},
		{"<%= format('%q', 1) %>", false, "t.erb:1:5: format directive %q is not supported (entry supports %s %d %i %f %e %g %x %o %b %c and %%)"},
		{"<%= format('%99999d', 1) %>", false, "t.erb:1:5: format width or precision too large in %99999d"},
		{"<%= format('%x', -1) %>", false, "t.erb:1:5: format %x of a negative number is not supported (Ruby writes it as a two's complement; use %+x)"},
		{"<%= File.read('testdata/none') %>", false, "t.erb:1:5: File.read('testdata/none'): no such file or directory (Ruby raises here; check the path, relative to the directory entry runs in)"},
		{"<%= File.read('testdata') %>", false, "t.erb:1:5: File.read('testdata'): not a regular file (Ruby raises here; check the path, relative to the directory entry runs in)"},
		{"<%= File.read('/dev/zero') %>", false, "t.erb:1:5: File.read('/dev/zero'): not a regular file (Ruby raises here; check the path, relative to the directory entry runs in)"},
		{"<%= JSON.parse('{') %>", false, "t.erb:1:5: JSON.parse: unexpected end of input (Ruby raises JSON::ParserError here)"},
		{"<%= JSON.parse('[1] 2') %>", false, "t.erb:1:5: JSON.parse: unexpected content after the JSON value (Ruby raises JSON::ParserError here)"},
		{"<%= [[1]].to_h %>", false, "t.erb:1:11: wrong element type Array (expected array of 2 elements) (Ruby raises TypeError here)"},
		{"<%= [1, 'a'].sort %>", false, "t.erb:1:14: comparison of Integer with String failed (Ruby raises ArgumentError here)"},
		{"<%= ['a'].sum %>", false, "t.erb:1:11: String can't be coerced into Integer (Ruby raises TypeError here; use .join)"},
		{"<%= [1].fetch(3) %>", false, "t.erb:1:9: index 3 outside of array bounds: -1...1 (Ruby raises IndexError here; give a default: .fetch(index, default))"},
		{"<%= ENV['NOPE'][0] %>", false, "t.erb:1:5: undefined method '[]' for nil (ENV['NOPE'] is not set; give a default with ENV.fetch(NAME, default) or .to_s)"},
		{"<%= 5.map { 1 } %>", false, "t.erb:1:5: undefined method 'map' for an Integer (Ruby raises NoMethodError here)"},
		{"<%= ENV['SET'].join(',') %>", false, "t.erb:1:5: undefined method 'join' for a String (Ruby raises NoMethodError here)"},
		{"<%= ('a'..'b') %>", false, "t.erb:1:6: entry supports ranges of Integers only (String..String)"},
		{"<%= (1..10000000).to_a %>", false, "t.erb:1:6: range of more than 1000000 elements (entry makes a range's elements; Ruby would loop over them)"},
		{"<%= [1].join(',', ';') %>", false, "t.erb:1:9: wrong number of arguments (given 2, expected 0..1) (Ruby raises ArgumentError here)"},
		{"<% s = 'ab' %><% %w[a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D].each do |x| %><% s = s + s %><% end %>", false, "t.erb:1:105: string longer than 64 MiB"},
		{"<% 'a,b,c,d,e,f,g,h,i,j'.split(',').each do |a| %><% a.split('').each do |b| %>" +
			"<% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |c| %><% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |d| %>" +
			"<% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |e| %><% 'abcdefghijklmnopqrstuvwxyz'.split('').each do |f| %>" +
			"<%= f %><% end %><% end %><% end %><% end %><% end %><% end %>", false,
			"t.erb:1:280: template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"},
		{"<% (1..1000).each do |i| %><%= (1..100000).sum %><% end %>", false, "t.erb:1:44: template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"},
		{"<% l = (1..9000).to_a %><% 100.times do |i| %><% l.uniq %><% end %>", false, "t.erb:1:52: template too expensive: more than 1000000 evaluation steps (loop passes, block calls, work on big values)"},
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
