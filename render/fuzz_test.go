package render

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary templates to Parse and renders what parses,
// strict and lax. Its seeds (the corpus and the bad inputs of the error
// tests) run as an ordinary test. It checks that nothing panics or hangs
// (rendering is bounded by maxSteps), that every error is an *Error with
// a position inside the template, that text without tags renders as
// itself, and that a failed render writes nothing.
func FuzzParse(f *testing.F) {
	runNoCommands(f)
	paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.erb"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "plain", "<%", "%>", "<%%", "<%-", "-%>", "<%= %>", "<%#", "<%= ENV['X'] %>\r\n",
		"<%= \"#{\"#{\"#{1}\"}\"}\" %>", "<% if 1 %><% elsif 2 %><% else %><% end %>",
		"<% 'a b'.split.each do |x| %><%= x.upcase %><% end %>", "<%= ENV.fetch('X') { ENV.fetch('Y', 2) } %>",
		"  <%- if true -%>\n<%- end -%>", "<%= \"\\u{1F600 41}\\x41\\101\" %>", "<%= -0 %><%= 1_0 %>",
		"<%= (((1))) ? !nil : false || nil && 1 %>",
		// Local variables, operators, modifiers.
		"<% x = ENV.fetch('X', 5).to_i %><% if (u = ENV['X']) %><%= u %><% end %><%= x * 2 + 1 %>",
		"<% n ||= 1 %><% n += 2 %><% n *= 3 %><% n -= 1 %><% n /= 2 %><% n %= 3 %><%= n %>",
		"<%= -7 / 2 %><%= -7 % 3 %><%= 1.5 * 2 %><%= 1e20 %><%= 1 < 2.5 %><%= 'a' + 'b' %><%= 'a' * 3 %>",
		"<%= 'x' if ENV['X'] %><%= 'y' unless ENV['X'] %><% a = 1 if true %>",
		// Arrays, %w, indexing, hashes.
		"<%= [1, 'a', nil, :b, [2.0]] %><%= %w[a b].join(',') %><%= %i(a b) %><%= [1, 2][-1] %><%= 'abc'[1, 2] %>",
		"<%= [[1, 2]].to_h %><%= [['a', nil]].to_h.compact %><%= [3, 1].sort.first(1) %><%= [1, 2] - [1] %>",
		// case/when.
		"<% case ENV['X'] -%>\n<% when 'a', 'b' then -%>A<% when nil %>N<% else %>E<% end %>",
		"<%= case ENV['X']; when 'a'; 1; else 2; end %><%= case when ENV['X'] then 1 end %>",
		// Conversions and string methods.
		"<%= Integer('0x1A') %><%= Float('1.5') %><%= String(nil) %><%= format('%05.2f|%-3s|%x', 1, 'a', 255) %><%= '%s' % 1 %>",
		"<%= 'a-b'.gsub('-', '\\0') %><%= 'a\n'.chomp %><%= 'x'.to_sym %><%= '1.5'.to_f %><%= 'ab'.start_with?('a') %>",
		// Blocks.
		"<%= %w[a b].map { |x| x.upcase } %><%= [1, nil].compact.map(&:to_s) %><%= [1, 2].select { _1 > 1 } %><%= [3].find { it } %>",
		"<% %w[a b].each_with_index do |x, i| %><%= i %><%= x %><% end %><% [[1, 2]].each do |a, b| %><%= a + b %><% end %>",
		"<%= [1, 2].any? { |x| x > 1 } %><%= [[1, 2]].map { _1 + _2 } %><%= [1].reject { } %><%= ENV.fetch('NOPE') { } %>",
		// Files, JSON, Rails; a literal %> in text.
		"<%= JSON.parse('{\"a\": [1, 2.5, null]}')['a'] %><%= File.exist?('/nonexistent') %><%= Rails.env.production? %><%= Rails.root.join('x') %>",
		"a %> b <%= 1 %> -%>",
		"<%= ENV['X']&.split(',')&.first %><%= { 'a' => 1, b: [2], \"c\": nil } %><%= (1..3).map { _1 * 2 } %><%= %w[a b c][1..-1] %>",
		"<% case ENV['X']; when 'a' -%>A<% end %><% a, b = ENV['X'].to_s.split(',') %><%= a %><%= b %>",
		// Command calls, and/or/not, raise.
		"<%= format \"%s-%s\", 1, 2 %><% x = File.exist? 'x' %><%= ENV.fetch 'X', 'd' %><%= Rails.root.join 'log', 'x' %><%= 'a,b'.split ',' %>",
		"<%= ENV['A'] or ENV['X'] and not nil %><% raise 'x' unless ENV['X'] %><% raise ArgumentError, \"bad #{1}\" if false %><%= (sprintf '%d', 1) %>",
		// Byte sizes (ActiveSupport), on Integers, Floats, durations; .bytes on a String.
		"<%= 256.megabytes %><%= 1.5.kilobytes %><%= ENV.fetch('MB', 64).to_i.megabytes %><%= 8.exabytes - 1 %><%= 1.hour.kilobyte %><%= 'a'.bytes %>",
		"max_size: <%= 256.megabytes %>\nnamespace: <%= Rails.env %>\n<%= (1.gigabyte / 1.megabyte).inspect %><%= nil&.megabytes %><%= 1.megabytes(2) %>",
		// Commands (run by a fake: see runNoCommands).
		"<%= `hostname`.strip %><%= %x(echo #{ENV['X']} (a)) %><%= %x[a].chomp %><%= %x{b} %><%= %x<c> %><%= %x|d| %><%= `e \\` f` %>",
	} {
		f.Add([]byte(s))
	}
	for _, s := range deepSeeds() {
		f.Add([]byte(s))
	}
	env := func(name string) (string, bool) {
		switch name {
		case "X":
			return "a,b, c", true
		case "EMPTY":
			return "", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 64<<10 {
			return // bounded: big inputs are the Big benchmarks' and TestParseLinear's
		}
		tmpl, err := Parse("f.erb", src)
		if err != nil {
			checkError(t, err, src)
			return
		}
		if !bytes.Contains(src, []byte("<%")) {
			var out bytes.Buffer
			if err := tmpl.Execute(&out, env, Options{}); err != nil || !bytes.Equal(out.Bytes(), src) {
				t.Fatalf("text without tags: got %q, %v; want it unchanged", out.Bytes(), err)
			}
		}
		for _, strict := range []bool{false, true} {
			var out bytes.Buffer
			if err := tmpl.Execute(&out, env, Options{Strict: strict}); err != nil {
				checkError(t, err, src)
				if out.Len() > 0 {
					t.Fatalf("failed render wrote %d bytes", out.Len())
				}
			}
		}
	})
}

func checkError(t *testing.T, err error, src []byte) {
	t.Helper()
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v is %T, not *Error", err, err)
	}
	lines := bytes.Count(src, []byte("\n")) + 1
	if rerr.Name != "f.erb" || rerr.Line < 1 || rerr.Line > lines || rerr.Col < 1 || rerr.Msg == "" {
		t.Fatalf("error %q has a bad position (template has %d lines)", err, lines)
	}
	if !strings.HasPrefix(err.Error(), "f.erb:") {
		t.Fatalf("error %q does not start with the name", err)
	}
}

// runNoCommands makes the templates of a fuzz test run no command: a
// mutated seed could say anything. The fake prints the command line.
func runNoCommands(f *testing.F) {
	f.Helper()
	saved := commandRunner
	commandRunner = func(line string, _ []string, _ time.Duration, limit int) ([]byte, error) {
		if len(line) > limit {
			return nil, errCommandOutput
		}
		return []byte(line + "\n"), nil
	}
	f.Cleanup(func() { commandRunner = saved })
}
