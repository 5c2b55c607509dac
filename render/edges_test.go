package render

import (
	"bytes"
	"errors"
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

// compareWithRuby evaluates each expression with Ruby (in one process)
// and renders <%= expr %> with entry: where Ruby prints, entry prints the
// same bytes; where Ruby raises, entry fails with Ruby's message followed
// by "(Ruby raises CLASS here".
func compareWithRuby(t *testing.T, exprs []string) {
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
func renderString(src string) ([]byte, error) {
	tmpl, err := Parse("t.erb", []byte("<%= "+src+" %>"))
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
	compareWithRuby(t, exprs)
}
