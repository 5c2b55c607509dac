package render

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/readcap"
)

// A template without loops evaluates each expression once, however many
// there are: the step limit counts loop iterations, not template size.
func TestManyTagsNoStepLimit(t *testing.T) {
	const n = 1_200_000 // more than maxSteps
	src := strings.Repeat("<%=1%>", n)
	tmpl, err := Parse("big.erb", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil {
		t.Fatalf("%d tags, no loop: %v", n, err)
	}
	if out.Len() != n || strings.Trim(out.String(), "1") != "" {
		t.Fatalf("output: %d bytes, want %d ones", out.Len(), n)
	}
}

// A long chain of || is one node evaluated in a loop: no deep recursion,
// and strict mode still checks only its last operand.
func TestLongOrChain(t *testing.T) {
	const n = 200_000
	src := "<%= " + strings.Repeat("ENV['A'] || ", n) + "ENV['B'] %>"
	tmpl, err := Parse("or.erb", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		vars    map[string]string
		strict  bool
		want    string
		wantErr string
	}{
		{map[string]string{"A": "a"}, true, "a", ""},
		{map[string]string{"B": "b"}, true, "b", ""},
		{nil, false, "", ""},
		{nil, true, "", "or.erb:1:2400005: ENV['B']: B is not set (strict mode"},
	} {
		var out bytes.Buffer
		err := tmpl.Execute(&out, func(k string) (string, bool) { v, ok := tt.vars[k]; return v, ok }, Options{Strict: tt.strict})
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("%v strict=%v: error %v, want %s...", tt.vars, tt.strict, err, tt.wantErr)
			}
		case err != nil || out.String() != tt.want:
			t.Errorf("%v strict=%v: %q, %v; want %q", tt.vars, tt.strict, out.String(), err, tt.want)
		}
	}
}

// A loop whose body is large hits the work bound even with few
// iterations, so a template cannot multiply its size by a loop's length
// without limit.
func TestLoopWorkLimit(t *testing.T) {
	body := strings.Repeat("<% x %>", 25_000)
	// 1,000 iterations of 25,000 evaluations: past maxLoopWork.
	src := "<% ENV['L'].split(',').each do |x| %>" + body + "<% end %>"
	tmpl, err := Parse("loop.erb", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	list := strings.TrimSuffix(strings.Repeat("i,", 1000), ",")
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(k string) (string, bool) { return list, k == "L" }, Options{})
	want := "template too expensive: its loops evaluate more than 20000000 expressions"
	if err == nil || !strings.Contains(err.Error(), want) || out.Len() > 0 {
		t.Fatalf("error %v (wrote %d bytes), want %q and nothing written", err, out.Len(), want)
	}
	// Ten iterations of the same body are fine.
	list = "a,b,c,d,e,f,g,h,i,j"
	if err := tmpl.Execute(&out, func(k string) (string, bool) { return list, k == "L" }, Options{}); err != nil {
		t.Fatalf("10 iterations: %v", err)
	}
}

// A template file larger than MaxSize is refused at once, with its size,
// before it is read; a FIFO is refused without waiting for a writer.
func TestReadFileCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yml.erb")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is what counts, not its content.
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ParseFile(big)
	want := big + ": 50 MiB is larger than the 10 MiB cap for a template"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, readcap.ErrTooLarge) {
		t.Fatalf("ParseFile(50 MiB): %v, want %q", err, want)
	}
	_, err = ParseFile(filepath.Join(dir, "missing.erb"))
	if err == nil || err.Error() != filepath.Join(dir, "missing.erb")+": no such template (check the path)" {
		t.Fatalf("missing: %v", err)
	}
	ok := filepath.Join(dir, "ok.erb")
	os.WriteFile(ok, []byte("a: <%= ENV.fetch('NOPE', 'x') %>\n"), 0o644)
	tmpl, err := ParseFile(ok)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil || out.String() != "a: x\n" {
		t.Fatalf("ok.erb: %q, %v", out.String(), err)
	}
}

// Output tags with the same Ruby share one parsed expression; an error in
// a later copy still names its own line and column.
func TestSharedTagPositions(t *testing.T) {
	src := "<% if ENV['A'] %><%= ENV.fetch('X') %><% end %>\nx: <%= ENV.fetch('X') %>\n"
	tmpl, err := Parse("s.erb", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{})
	want := `s.erb:2:8: ENV.fetch('X'): X is not set`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %s...", err, want)
	}
	// A tag that reads a loop variable is not shared across scopes.
	src = "<% %w[a b].each do |v| %><%= v %><% end %>|<% %w[c d].each do |v| %><%= v %><% end %>"
	if tmpl, err = Parse("v.erb", []byte(src)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil || out.String() != "ab|cd" {
		t.Fatalf("loops: %q, %v; want ab|cd", out.String(), err)
	}
}

// Parsing and rendering are linear in the template's size: four copies of
// each corpus template one after the other cost at most about four times
// the allocations of one (counted, not timed, so that a busy machine
// cannot make this fail).
func TestParseLinear(t *testing.T) {
	checked := 0
	for _, c := range loadCorpus(t) {
		if c.env != "unset" {
			continue
		}
		checked++
		one, err := os.ReadFile(filepath.Join(corpusDir, c.template))
		if err != nil {
			t.Fatal(err)
		}
		four := bytes.Repeat(append(one, '\n'), 4)
		lookup := func(k string) (string, bool) { v, ok := c.vars[k]; return v, ok }
		cost := func(src []byte) float64 {
			return testing.AllocsPerRun(2, func() {
				if tmpl, err := Parse(c.template, src); err == nil {
					tmpl.Execute(io.Discard, lookup, Options{})
				}
			})
		}
		if a1, a4 := cost(one), cost(four); a4 > 4.5*a1+16 {
			t.Errorf("%s: %v allocations for one copy, %v for four", c.template, a1, a4)
		}
	}
	if checked < 40 {
		t.Errorf("checked %d templates, want the 40 real_* ones at least", checked)
	}
}
