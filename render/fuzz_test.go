package render

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary templates to Parse and renders what parses,
// strict and lax. Its seeds (the corpus and the bad inputs of the error
// tests) run as an ordinary test. It checks that nothing panics or hangs
// (rendering is bounded by maxSteps), that every error is an *Error with
// a position inside the template, that text without tags renders as
// itself, and that a failed render writes nothing.
func FuzzParse(f *testing.F) {
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
	} {
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
