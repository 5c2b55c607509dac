package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A rubyEval is what Ruby made of one expression: the bytes <%= %>
// prints, or the exception it raised ("RangeError: message").
type rubyEval struct {
	Out []byte `json:"out"`
	Err string `json:"err"`
}

// lookRuby finds ruby, or skips the test (fails it under ENTRY_TEST_STRICT).
func lookRuby(t *testing.T) string {
	t.Helper()
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		if os.Getenv("ENTRY_TEST_STRICT") != "" {
			t.Fatalf("ruby is not installed: %v", err)
		}
		t.Skip("ruby is not installed")
	}
	return ruby
}

// compareExprsWithRuby evaluates each expression with Ruby (in one process)
// and renders <%= expr %> with entry: where Ruby prints, entry prints the
// same bytes; where Ruby raises, entry fails with Ruby's message followed
// by "(Ruby raises CLASS here".
func compareExprsWithRuby(t *testing.T, exprs []string) {
	t.Helper()
	const script = `require "json"
out = JSON.parse(STDIN.read).map do |src|
  begin
    { "out" => eval(src).to_s.bytes }
  rescue StandardError => e
    { "err" => "#{e.class}: #{e.message}" }
  end
end
print JSON.generate(out)`
	var want []rubyEval
	rubyJSON(t, lookRuby(t), script, exprs, &want)
	if len(want) != len(exprs) {
		t.Fatalf("ruby printed %d results for %d expressions", len(want), len(exprs))
	}
	for i, src := range exprs {
		out, err := renderString(src)
		w := want[i]
		if w.Err == "" {
			if err != nil || !bytes.Equal(out, w.Out) {
				t.Errorf("%s:\n got %q, %v\nwant %q (Ruby)", src, out, err, w.Out)
			}
			continue
		}
		class, msg, _ := strings.Cut(w.Err, ": ")
		var re *Error
		if !errors.As(err, &re) || !strings.HasPrefix(re.Msg, msg+" (Ruby raises "+class+" here") {
			t.Errorf("%s:\n got %q, %v\nwant the error %s (Ruby)", src, out, err, w.Err)
		}
	}
}

// renderString renders <%= src %> with no environment.
func renderString(src string) ([]byte, error) { return renderTemplate("<%= " + src + " %>") }

// renderTemplate renders src with no environment.
func renderTemplate(src string) ([]byte, error) {
	tmpl, err := Parse("t.erb", []byte(src))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{})
	return out.Bytes(), err
}

// TestFormatCharMatchesRuby: format's %c with every kind of argument at
// the edges of Ruby's range: -1 and -2 are raw bytes, surrogates are
// written as Ruby writes them, the rest of the int range is "invalid
// character", and past it a RangeError.
func TestFormatCharMatchesRuby(t *testing.T) {
	var exprs []string
	for _, arg := range []string{
		"0", "65", "127", "128", "255", "2047", "2048", "65535", "65536", "1114111", "1114112",
		"55296", "56319", "56320", "57343", "57344",
		"-1", "-2", "-3", "-128", "-256", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"4294967295", "99999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "-99999999999999999999",
		"65.9", "-1.5", "1e20", "-1e20", "3e9", "nil", "true", ":a",
		`"a"`, `"é"`, `"ab"`, `""`, `"\xff"`, `"a\xff"`, `"\u{1F600}"`,
	} {
		exprs = append(exprs, "format('%c', "+arg+")")
	}
	for _, f := range []string{"%3c", "%-3c|", "%03c", "%.0c", "%+c", "% c", "%#c", "%5.2c"} {
		for _, arg := range []string{"65", `"é"`, "-1", "55296"} {
			exprs = append(exprs, "format('"+f+"', "+arg+")")
		}
	}
	for _, f := range []string{"%5s", "%-5s|", "%05s", "%.1s", "%5.1s", "%-5.2s|", "%.0s", "%+s", "%.9s"} {
		for _, arg := range []string{`"ab"`, `"éé"`, `"\xffab"`, "nil", "12"} {
			exprs = append(exprs, "format('"+f+"', "+arg+")")
		}
	}
	exprs = append(exprs, `"%c%c" % [104, "i"]`, `"%c" % -1`)
	compareExprsWithRuby(t, exprs)
}

// TestIntegerArgumentsMatchRuby: every method taking an Integer argument
// (a count, a width, an index) converts it as Ruby does: a Float is
// truncated, an Integer past 64 bits is Ruby's RangeError, nil and other
// classes Ruby's TypeError; the results at the edges are Ruby's.
func TestIntegerArgumentsMatchRuby(t *testing.T) {
	const big = "99999999999999999999"
	var exprs []string
	for _, arg := range []string{big, "-" + big, "9223372036854775808", "-9223372036854775809", "1e20", "-1e19", "nil", "true", `"1"`, ":a", "[1]", "1.9", "-1.5", "-0.5", "2", "-2", "0"} {
		for _, call := range []string{
			`"abc"[%s]`, `"abc"[%s, 1]`, `"abc"[0, %s]`, `[1, 2][%s]`, `[1, 2][%s, 1]`, `[1, 2][0, %s]`,
			`"x" * %s`, `"" * %s`, `[1, 2] * %s`, `[] * %s`,
			`"x".ljust(%s)`, `"x".rjust(%s, "ab")`,
			`[1, 2].first(%s)`, `[1, 2].last(%s)`, `[1, 2].fetch(%s)`, `[1, 2].fetch(%s, 0)`,
			`[[1], 2].dig(0, %s)`, `{"a" => [1]}.dig("a", %s)`,
		} {
			exprs = append(exprs, strings.ReplaceAll(call, "%s", arg))
		}
	}
	exprs = append(exprs,
		`"abc"[`+big+`..`+big+`]`, `"abc"[-3..-2]`, `"abc"[1...1]`, `[1, 2, 3][-9223372036854775808..-9223372036854775807]`,
		`"abc"[9223372036854775806..9223372036854775807]`, `[1, 2, 3][9223372036854775807..9223372036854775807]`,
		`"abc"[-9223372036854775808...-9223372036854775807]`, `[1, 2, 3][-3...-2]`, `"abc"["b"]`, `"abc"["x"]`, `"abc"[""]`,
		`"abc"[4611686018427387904]`, `"abc"[1, 4611686018427387904]`, `[1, 2][1, 4611686018427387904]`,
		`[1, 2, 3].first(4611686018427387904)`, `"" * 4611686018427387904`, `[] * 4611686018427387904`,
		`(`+big+`..`+big+`).to_a`, `(`+big+`...`+big+`).to_a`, `(`+big+`..`+big+` + 2).map { |i| i - `+big+` }`,
		`(-`+big+`..-`+big+` + 1).to_a`, `(5..1).to_a`, `(1...1).to_a`,
		`[1, 2].fetch(5)`, `[1, 2].fetch(-3)`, `[].fetch(0)`, `[1, 2].fetch(2.5)`, `[1, 2].fetch(-1)`,
		`[1, 2] * 2`, `[[1], "a"] * 2`,
		`"é".ljust(6, "😀ab")`, `"é".rjust(7, "😀ab")`, `"abc".rjust(2, "x")`, `"ab".ljust(5, "\xff")`,
	)
	compareExprsWithRuby(t, exprs)
}

// TestIntegerArgumentsTooBig: where Ruby would try to allocate what the
// number asks for (NoMemoryError, or a loop that runs for ever), entry
// refuses with its own limits.
func TestIntegerArgumentsTooBig(t *testing.T) {
	const big = "99999999999999999999"
	for _, tt := range []struct{ src, want string }{
		{`"x" * 1099511627776`, "t.erb:1:9: string longer than 64 MiB"},
		{`"x" * 4611686018427387904`, "t.erb:1:9: string longer than 64 MiB"},
		{`"x".ljust(1099511627776)`, "t.erb:1:9: string longer than 64 MiB"},
		{`"x".rjust(4611686018427387904)`, "t.erb:1:9: string longer than 64 MiB"},
		{`[1] * 1099511627776`, "t.erb:1:9: array longer than 1000000 elements"},
		{`[1] * 4611686018427387904`, "t.erb:1:9: array longer than 1000000 elements"},
		{`(1..` + big + `).to_a`, "t.erb:1:6: range of more than 1000000 elements (entry makes a range's elements; Ruby would loop over them)"},
		{`(-` + big + `..1).first(3)`, "t.erb:1:6: range of more than 1000000 elements (entry makes a range's elements; Ruby would loop over them)"},
		// A range whose elements entry cannot make, even to index with it.
		{`"abc"[0..` + big + `]`, "t.erb:1:11: range of more than 1000000 elements (entry makes a range's elements; Ruby would loop over them)"},
		{`[1, 2][0..9223372036854775807]`, "t.erb:1:12: range of more than 1000000 elements (entry makes a range's elements; Ruby would loop over them)"},
		{`<% ` + big + `.times do |i| %>x<% end %>`, "t.erb:1:4: " + big + ".times: more than 1000000 passes"},
		{`<% (-` + big + `).times do |i| %>x<% end %>y`, ""},
	} {
		out, err := renderString(tt.src)
		if strings.HasPrefix(tt.src, "<%") {
			out, err = renderTemplate(tt.src)
		}
		if tt.want == "" {
			if err != nil || string(out) != "y" {
				t.Errorf("%s: %q, %v; want \"y\"", tt.src, out, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want || len(out) > 0 {
			t.Errorf("%s:\n got %q, %v\nwant %s", tt.src, out, err, tt.want)
		}
	}
}

// TestJSONParseUnicodeEdges: JSON.parse gives Ruby's strings for escapes
// and UTF-8 that Ruby's JSON decodes to valid strings, and refuses, with
// its message, the texts where Ruby's JSON makes a string that is not
// valid UTF-8 or fails (checked with Ruby: Go's decoder would print
// U+FFFD where Ruby prints neither).
func TestJSONParseUnicodeEdges(t *testing.T) {
	good := []string{`"\u00e9"`, `"\ud83d\ude00"`, `["\ud83d\ude00", "\u20ac"]`, `"\u0000"`, `"é😀"`, `{"\u00e9": "\\ud800"}`, `"\\\\ud800"`, "\"\u2028\""}
	bad := map[string]string{
		`"\ud800"`:                     `JSON.parse: \ud800 is half of a UTF-16 surrogate pair`,
		`"\udc00"`:                     `JSON.parse: \udc00 is half of a UTF-16 surrogate pair`,
		`"\ud800x"`:                    `JSON.parse: \ud800 is half of a UTF-16 surrogate pair`,
		`"\ude00\ud83d"`:               `JSON.parse: \ude00 is half of a UTF-16 surrogate pair`,
		`["ok", "\uD800\uDBFF\uDC00"]`: `JSON.parse: \uD800 is half of a UTF-16 surrogate pair`,
		"\"a\xffb\"":                   `JSON.parse: the text is not valid UTF-8`,
		"{\"\xff\": 1}":                `JSON.parse: the text is not valid UTF-8`,
		"\"\xed\xa0\x80\"":             `JSON.parse: the text is not valid UTF-8`,
	}
	var exprs []string
	for _, g := range good {
		exprs = append(exprs, "JSON.parse("+rubyString(g)+").inspect")
	}
	compareExprsWithRuby(t, exprs)

	// What entry refuses, Ruby either raises on or makes invalid.
	var texts []string
	for b := range bad {
		texts = append(texts, b)
	}
	const script = `require "json"
valid = ->(v) { v.is_a?(String) ? v.valid_encoding? : v.is_a?(Array) ? v.all?(&valid) : v.is_a?(Hash) ? v.all? { |k, x| valid.(k) && valid.(x) } : true }
print JSON.generate(JSON.parse(STDIN.read).map { |s| s = s.encode("ISO-8859-1").force_encoding("UTF-8"); begin; valid.(JSON.parse(s)) ? "valid" : "invalid"; rescue JSON::ParserError; "raises"; end })`
	var ruby []string
	rubyJSON(t, lookRuby(t), script, bytesAsLatin1(texts), &ruby)
	for i, text := range texts {
		if ruby[i] == "valid" {
			t.Errorf("JSON.parse(%q): Ruby makes a valid value of it; entry refuses it", text)
		}
		_, err := renderString("JSON.parse(" + rubyString(text) + ")")
		var re *Error
		if !errors.As(err, &re) || !strings.HasPrefix(re.Msg, bad[text]) || !strings.Contains(re.Msg, "(Ruby raises JSON::ParserError here)") {
			t.Errorf("JSON.parse(%q): %v, want %s", text, err, bad[text])
		}
	}
}

// rubyString writes s as a Ruby double-quoted literal, bytes escaped.
func rubyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '#':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// bytesAsLatin1 carries arbitrary bytes through JSON to Ruby, which reads
// them back as ISO-8859-1: each byte becomes the character of its value.
func bytesAsLatin1(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		r := make([]rune, len(s))
		for j := 0; j < len(s); j++ {
			r[j] = rune(s[j])
		}
		out[i] = string(r)
	}
	return out
}
