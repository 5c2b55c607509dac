package render

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// refusalTests are constructs real templates use that entry refuses, with
// the exact message (TestParseErrors has more). TestEveryRefusalAsserted
// checks that every refusal in the engine's source is asserted somewhere
// in the package's tests.
var refusalTests = []struct{ src, want string }{
	{"<%= +5 %>", "t.erb:1:5: unsupported Ruby: unary + (write the number without +)"},
	{"<% ENV['HOSTS']&.each do |h| %><% end %>", "t.erb:1:18: unsupported Ruby: &.each (write LIST.each do |x|, with LIST.to_a for a list that may be nil)"},
	{"<%= [[1]].map { |a, b, c, d, e, f, g, h, i, j| a } %>", "t.erb:1:43: unsupported Ruby: more than nine block variables (use fewer)"},
	{"<%= ENV['X'] ?x : 'y' %>", "t.erb:1:14: unsupported Ruby: ?x character literal (write cond ? a : b with spaces)"},
	{"<%= ?a %>", "t.erb:1:5: unsupported Ruby: character literal (use a quoted string)"},
	{"<%= <<~YAML %>", "t.erb:1:5: unsupported Ruby: heredoc (use a quoted string)"},
	{"<%= self %>", "t.erb:1:5: unsupported Ruby: self (entry knows ENV, local variables and block variables)"},
	{"<%= __FILE__ %>", "t.erb:1:5: unsupported Ruby: __FILE__ (entry knows ENV, local variables and block variables)"},
	{"<%= __dir__ %>", "t.erb:1:5: unsupported Ruby: __dir__ (entry knows ENV, local variables and block variables)"},
	{"<%= format('%s', &:x) %>", "t.erb:1:5: unsupported Ruby: &:x (only methods with blocks take &:name)"},
	{"<%= ENV::HOME %>", "t.erb:1:5: unsupported Ruby: ENV:: (use ENV[...] or ENV.fetch(...))"},
	{"<%= ENV %>", `t.erb:1:5: unsupported Ruby: ENV by itself (use ENV["NAME"])`},
	{"<%= ENV.fetch('X') do 5 end %>", `t.erb:1:19: unsupported Ruby: ENV.fetch(...) do ... end (write ENV.fetch("NAME") { default })`},
	{"<%= ENV.fetch('X') { |k| 5 } %>", `t.erb:1:22: unsupported Ruby: block variable in ENV.fetch (write ENV.fetch("NAME") { default })`},
	{`<%= "a" "b" %>`, "t.erb:1:9: unsupported Ruby: adjacent string literals (write one string)"},
	{`<%= 'postgres://' 'db' %>`, "t.erb:1:19: unsupported Ruby: adjacent string literals (write one string)"},
	{`<%= "a#{1}" 'b' %>`, "t.erb:1:13: unsupported Ruby: adjacent string literals (write one string)"},
	{`<%= "\cA" %>`, `t.erb:1:6: unsupported Ruby: control/meta escape \c (write the character itself or use \x)`},
	{"<%= 0x1F %>", "t.erb:1:5: unsupported Ruby: prefixed integer literal (write the number in decimal)"},
	{"<%= if ENV['X'] then 1 end %>", "t.erb:1:5: unsupported Ruby: if inside <%= %> (use <% if ... %> ... <% end %>, or cond ? a : b)"},
	{"<%= begin; 1; end %>", "t.erb:1:5: unsupported Ruby: begin inside <%= %> (use <% if ... %> ... <% end %>, or cond ? a : b)"},
	{"<% elseif ENV['X'] %>", "t.erb:1:4: unsupported Ruby: elseif (Ruby writes elsif)"},
	{"<% x = 1 === 1 %>", "t.erb:1:10: unsupported Ruby: === (use ==)"},
	{"<%= ENV['X'] => y %>", "t.erb:1:14: unsupported Ruby: => outside a Hash literal (write { key => value })"},
	{"<%= 8 >> 1 %>", "t.erb:1:7: unsupported Ruby: operator >> (entry has no bit shifts)"},
	{"<%= Rails.root::X %>", "t.erb:1:15: unsupported Ruby: :: (entry knows no nested constants)"},
	{"<%= ENV['X'] { 1 } %>", "t.erb:1:14: unsupported Ruby: block { ... } (blocks go after a method that takes one: .map { |x| ... }, ENV.fetch('X') { default })"},
	{"<% x = ENV['X'] do %>", "t.erb:1:17: unsupported Ruby: do block (LIST.each do |x| and each_with_index do |x, i| span tags; other blocks use { |x| ... })"},
	{"<% case ENV['X'] -%>\n<% when *%w[a b] -%>\n<% end %>", `t.erb:2:9: unsupported Ruby: splat in when (list the values: when "a", "b")`},
	{"<%= [1].map { |x| x; if x then 1 end } %>", "t.erb:1:22: unsupported Ruby: if after ; (put each of if, unless, end ... in its own tag)"},
	{"<%= Rails.application.credentials.aws(1) %>", "t.erb:1:35: unsupported Ruby: .aws(...) (a credentials key takes no arguments)"},
	{"<%= [not ENV['X']] %>", "t.erb:1:6: unsupported Ruby: not (use !)"},
	{`<% require "yaml" %>`, `t.erb:1:4: unsupported Ruby: require "yaml" (entry has no YAML: keep the value in JSON and use JSON.parse(File.read(path)), or an environment variable; entry accepts require of "erb", "etc", "json", "pathname", "socket", which it needs not load)`},
	// In a YAML comment, as storage.yml's are: the message says that ERB
	// runs it all the same.
	{"# host: <%= $? %>", "t.erb:1:13: unsupported Ruby: $? (entry keeps no exit status of a command; print it in the command's output: `cmd; echo $?`; this line is a YAML comment, but ERB runs the code in it all the same: delete the line, or write <%= as <%%= to keep it as text)"},
}

// executeRefusalTests are refused while rendering, where what a value is
// decides.
var executeRefusalTests = []struct{ src, want string }{
	{"<%= ENV['X'].to_s[1, 2, 3] %>", "t.erb:1:18: String[...] with 3 arguments is not supported (index an Array, a String or a Hash with one)"},
}

// TestRefusals: Parse refuses each construct of refusalTests with its
// message and returns no template.
func TestRefusals(t *testing.T) {
	for _, tt := range refusalTests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		var rerr *Error
		switch {
		case err == nil:
			t.Errorf("Parse(%q) succeeded, want %s", tt.src, tt.want)
		case tmpl != nil:
			t.Errorf("Parse(%q) returned a template with its error", tt.src)
		case !errors.As(err, &rerr):
			t.Errorf("Parse(%q): %T is not *Error", tt.src, err)
		case err.Error() != tt.want:
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.src, err, tt.want)
		}
	}
}

// TestExecuteRefusals: Execute refuses each construct of
// executeRefusalTests with its message, writing nothing.
func TestExecuteRefusals(t *testing.T) {
	for _, tt := range executeRefusalTests {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		var out bytes.Buffer
		err = tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Execute(%q):\n got %v\nwant %s", tt.src, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("Execute(%q) wrote %q before failing", tt.src, out.String())
		}
	}
}

// TestCredentialsYAMLRefusals: credentials YAML that entry does not read
// (merge keys, Ruby object tags) stops the render naming the file and
// line, without showing a value.
func TestCredentialsYAMLRefusals(t *testing.T) {
	const key = "00112233445566778899aabbccddeeff"
	for _, c := range []struct{ yaml, want string }{
		{"default: &d\n  host: db\nproduction:\n  <<: *d\n  password: hidden-value\n",
			"t.erb:1:8: Rails.application.credentials: config/credentials.yml.enc: line 4: merge keys (<<) are not supported in credentials"},
		{"aws:\n  region: !ruby/symbol hidden-value\n",
			`t.erb:1:8: Rails.application.credentials: config/credentials.yml.enc: line 2: !ruby/symbol "hidden-value" is not supported in credentials (use a quoted string)`},
	} {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := os.Mkdir("config", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("config/credentials.yml.enc", encryptCredentials(t, key, c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := renderWithEnv(`x: <%= Rails.application.credentials.dig(:aws) %>`, map[string]string{"RAILS_MASTER_KEY": key})
		if err == nil || err.Error() != c.want {
			t.Errorf("err = %v\nwant %s", err, c.want)
		}
	}
}

// encryptCredentials writes text as Rails 7.1+ can (JSON-serialized, in
// MessageEncryptor's aes-128-gcm format).
func encryptCredentials(t *testing.T, hexKey, text string) []byte {
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := json.Marshal(text)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, iv, plain, nil)
	data, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	b64 := base64.StdEncoding.EncodeToString
	return []byte(b64(data) + "--" + b64(iv) + "--" + b64(tag))
}

// A refusal is one place in the engine's source that refuses a construct:
// a call of p.unsupported, or a message saying "not supported". Its
// message is known as the literal pieces around the parts computed at run
// time.
type refusal struct {
	at     string   // file:line
	pieces []string // in order
}

func (r refusal) String() string { return strings.Join(r.pieces, "…") }

// matches reports whether msg holds r's pieces in order.
func (r refusal) matches(msg string) bool {
	for _, p := range r.pieces {
		i := strings.Index(msg, p)
		if i < 0 {
			return false
		}
		msg = msg[i+len(p):]
	}
	return true
}

// hole stands for a part of a message computed at run time.
const hole = "\x00"

// literal returns the text of a string expression: literals joined by +,
// methodList by its value, anything else a hole.
func literal(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return s
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return literal(e.X) + literal(e.Y)
		}
	case *ast.ParenExpr:
		return literal(e.X)
	case *ast.Ident:
		if e.Name == "methodList" {
			return methodList
		}
	}
	return hole
}

func splitHoles(s string) []string {
	var out []string
	for _, p := range strings.Split(s, hole) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// formatVerb is a fmt verb in a format string: a hole in the message.
var formatVerb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

// engineRefusals finds every refusal in the package's non-test source.
func engineRefusals(t *testing.T) []refusal {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var found []refusal
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			at := name + ":" + strconv.Itoa(fset.Position(call.Pos()).Line)
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "unsupported" && len(call.Args) == 3 {
				// The closing ")" is left out: a YAML comment's note
				// comes before it.
				msg := "unsupported Ruby: " + literal(call.Args[1]) + " (" + literal(call.Args[2])
				found = append(found, refusal{at: at, pieces: splitHoles(msg)})
				return true
			}
			for _, arg := range call.Args {
				lit, ok := arg.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !strings.Contains(lit.Value, "not supported") {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				s = strings.ReplaceAll(formatVerb.ReplaceAllString(strings.ReplaceAll(s, "%%", "\x01"), hole), "\x01", "%")
				found = append(found, refusal{at: at, pieces: splitHoles(s)})
			}
			return true
		})
	}
	if len(found) < 50 {
		t.Fatalf("found %d refusals in the engine's source; the search is broken", len(found))
	}
	return found
}

// testMessages returns every string the package's tests spell out (the
// expected errors among them), built with + or not.
func testMessages(t *testing.T) []string {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var msgs []string
	for _, name := range files {
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch e := n.(type) {
			case *ast.BasicLit, *ast.BinaryExpr:
				if s := literal(e.(ast.Expr)); s != hole {
					msgs = append(msgs, s)
				}
			}
			return true
		})
	}
	return msgs
}

// TestEveryRefusalAsserted: every refusal in the engine has a test that
// asserts its message. When this fails, add a case for the construct
// named to refusalTests above (or, for a refusal while rendering, to
// TestExecuteErrors in errors_test.go).
func TestEveryRefusalAsserted(t *testing.T) {
	// Refusals no template reaches: a safety net behind another parse.
	unreachable := map[string]string{
		"unsupported Ruby: &. (use x && x.method, or .presence / .to_s": "every value's postfix parse takes &. first",
	}
	msgs := testMessages(t)
	var missing []string
	for _, r := range engineRefusals(t) {
		if _, ok := unreachable[r.String()]; ok {
			delete(unreachable, r.String())
			continue
		}
		asserted := false
		for _, m := range msgs {
			if strings.HasPrefix(m, "t.erb:") && r.matches(m) {
				asserted = true
				break
			}
		}
		if !asserted {
			missing = append(missing, r.at+": "+r.String())
		}
	}
	for msg := range unreachable {
		t.Errorf("%q is listed as unreachable but is no longer in the engine: remove it from the list", msg)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s\n\tno test asserts this refusal's message: add a template that triggers it, with its whole message, to refusalTests in refusals_test.go", m)
	}
}
