package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// update rewrites the expected outputs of the corpus from entry's own
// rendering; TestCorpusRuby then proves them against Ruby.
var update = flag.Bool("update", false, "rewrite testdata/corpus/expected from entry's output")

const corpusDir = "testdata/corpus"

// A corpusCase is one template of the conformance corpus rendered in one
// of the environments of its .env.json file.
type corpusCase struct {
	template string // file name under corpusDir
	env      string // environment name
	vars     map[string]string
	app      string // the directory under corpusDir the case runs in; "" for render/
}

// appKey in an environment of a .env.json file is not a variable: it names
// the directory under corpusDir the case runs in (Rails.root, and where
// config/credentials.yml.enc and config/master.key are read), as
// testdata/erb.rb does for Ruby. The apps are in testdata/corpus/apps.
const appKey = "@app"

func (c corpusCase) key() string { return c.template + " " + c.env }

// expectedPath is where the committed output (.out) or error (.err) of c
// lives.
func (c corpusCase) expectedPath(ext string) string {
	return filepath.Join(corpusDir, "expected", strings.TrimSuffix(c.template, ".erb")+"."+c.env+ext)
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	templates, err := filepath.Glob(filepath.Join(corpusDir, "*.erb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(templates) < 40 {
		t.Fatalf("corpus has %d templates, want at least 40", len(templates))
	}
	var cases []corpusCase
	for _, path := range templates {
		data, err := os.ReadFile(strings.TrimSuffix(path, ".erb") + ".env.json")
		if err != nil {
			t.Fatalf("every corpus template needs an environment file: %v", err)
		}
		var envs map[string]map[string]string
		if err := json.Unmarshal(data, &envs); err != nil {
			t.Fatalf("%s.env.json: %v", path, err)
		}
		names := make([]string, 0, len(envs))
		for name := range envs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			vars := envs[name]
			app := vars[appKey]
			delete(vars, appKey)
			if app != "" {
				if st, err := os.Stat(filepath.Join(corpusDir, app)); err != nil || !st.IsDir() {
					t.Fatalf("%s: environment %s: %s %q is not a directory under %s", path, name, appKey, app, corpusDir)
				}
			}
			cases = append(cases, corpusCase{template: filepath.Base(path), env: name, vars: vars, app: app})
		}
	}
	return cases
}

// renderCase renders c with entry, returning the output or the error.
func renderCase(t testing.TB, c corpusCase, opts Options) ([]byte, error) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(corpusDir, c.template))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Parse(c.template, src)
	if err != nil {
		t.Fatalf("%s: Parse: %v", c.key(), err)
	}
	if c.app != "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chdir(filepath.Join(corpusDir, c.app)); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.Chdir(wd); err != nil {
				t.Fatal(err)
			}
		}()
	}
	// Commands see the case's environment, as in Ruby's run (erb.rb).
	opts.Environ = []string{}
	for k, v := range c.vars {
		opts.Environ = append(opts.Environ, k+"="+v)
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(name string) (string, bool) {
		v, ok := c.vars[name]
		return v, ok
	}, opts)
	if err != nil && out.Len() > 0 {
		t.Errorf("%s: Execute wrote %d bytes before failing", c.key(), out.Len())
	}
	return out.Bytes(), err
}

// TestCorpus renders every corpus case and compares it with the committed
// output, so that conformance is checked without Ruby.
func TestCorpus(t *testing.T) {
	// Rails.root is the working directory: the committed outputs say
	// {{ROOT}} for it, so that they hold in any checkout.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range loadCorpus(t) {
		out, err := renderCase(t, c, Options{})
		out = bytes.ReplaceAll(out, []byte(wd), []byte("{{ROOT}}"))
		if *update {
			os.MkdirAll(filepath.Join(corpusDir, "expected"), 0o755)
			os.Remove(c.expectedPath(".out"))
			os.Remove(c.expectedPath(".err"))
			if err != nil {
				os.WriteFile(c.expectedPath(".err"), []byte(err.Error()+"\n"), 0o644)
			} else {
				os.WriteFile(c.expectedPath(".out"), out, 0o644)
			}
			continue
		}
		if wantErr, rerr := os.ReadFile(c.expectedPath(".err")); rerr == nil {
			if err == nil || err.Error()+"\n" != string(wantErr) {
				t.Errorf("%s: error = %v, want %s", c.key(), err, wantErr)
			}
			continue
		}
		want, rerr := os.ReadFile(c.expectedPath(".out"))
		if rerr != nil {
			t.Errorf("%s: no expected output (run go test ./render -run TestCorpus -update): %v", c.key(), rerr)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.key(), err)
			continue
		}
		if !bytes.Equal(out, want) {
			t.Errorf("%s: output differs from %s:\n got %q\nwant %q", c.key(), c.expectedPath(".out"), out, want)
		}
	}
}

// TestCorpusRuby renders every corpus case with Ruby's
// ERB.new(src, trim_mode: "-").result and with entry: the bytes must be the
// same, and where Ruby raises, entry must fail too.
func TestCorpusRuby(t *testing.T) {
	results := rubyResults(t)
	cases := loadCorpus(t)
	if len(results) != len(cases) {
		t.Errorf("ruby rendered %d cases, entry %d", len(results), len(cases))
	}
	failures := 0
	for _, c := range cases {
		r, ok := results[c.key()]
		if !ok {
			t.Errorf("%s: not rendered by ruby", c.key())
			continue
		}
		out, err := renderCase(t, c, Options{})
		switch {
		case r.Out == nil && err == nil:
			t.Errorf("%s: Ruby raised %s; entry rendered %q", c.key(), r.Error, out)
		case r.Out == nil:
			// Both fail: entry must fail where Ruby does and for the
			// same reason.
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.Line != r.Line || !sameFailure(rerr.Msg, r.Error) {
				t.Errorf("%s: Ruby raised %s at line %d; entry: %v", c.key(), r.Error, r.Line, err)
			}
			failures++
		case err != nil:
			t.Errorf("%s: Ruby rendered; entry: %v", c.key(), err)
		default:
			want, _ := base64.StdEncoding.DecodeString(*r.Out)
			if !bytes.Equal(out, want) {
				t.Errorf("%s: differs from Ruby:\nentry %q\n ruby %q", c.key(), out, want)
			}
		}
	}
	if failures == 0 || failures == len(cases) {
		t.Errorf("%d of %d cases fail in Ruby; the corpus must have both kinds", failures, len(cases))
	}
}

// sameFailure reports whether entry's message says what Ruby's error
// ("Class: message") says: the variable or method it names, or its class
// named in entry's "(Ruby raises Class here)" and the words of its
// message up to any quoted value.
func sameFailure(msg, rubyErr string) bool {
	class, rmsg, _ := strings.Cut(rubyErr, ": ")
	if strings.HasSuffix(msg, " here: the template's raise)") { // raise "message"
		if rmsg == "" {
			rmsg = "raise without a message"
		}
		return msg == rmsg+" (Ruby raises "+class+" here: the template's raise)"
	}
	switch class {
	case "KeyError": // key not found: "NAME", or credentials' ":name is blank"
		if quoted, ok := strings.CutPrefix(rmsg, "key not found: "); ok {
			name, err := strconv.Unquote(quoted)
			return err == nil && strings.Contains(msg, ": "+name+" is not set (")
		}
	case "NoMethodError": // undefined method `m' for nil:NilClass
		m, _, _ := strings.Cut(strings.TrimPrefix(rmsg, "undefined method `"), "'")
		return strings.HasPrefix(msg, "undefined method '"+m+"' for ")
	case "Errno::ENOENT": // File.read, or a command that does not exist
		return strings.Contains(msg, ": no such file or directory (Ruby raises here") || strings.Contains(msg, rmsg+" (Ruby raises Errno::ENOENT here")
	case "JSON::ParserError": // Ruby's message quotes its parser's state
		return strings.HasPrefix(msg, "JSON.parse: ") && strings.Contains(msg, "(Ruby raises JSON::ParserError here)")
	}
	words, _, _ := strings.Cut(rmsg, `"`)
	return strings.Contains(msg, "(Ruby raises "+class+" here") && strings.HasPrefix(msg, words)
}

// rubyResults renders the whole corpus directory, pending templates
// included, with testdata/erb.rb.
func rubyResults(t *testing.T) map[string]rubyResult {
	ruby := testtool.Require(t, "ruby")
	cmd := exec.Command(ruby, "testdata/erb.rb", corpusDir)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("ruby testdata/erb.rb: %v\n%s", err, stderr.Bytes())
	}
	var results map[string]rubyResult
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	return results
}

type rubyResult struct {
	Out   *string `json:"out"`
	Error string  `json:"error"` // "Class: message"
	Line  int     `json:"line"`  // the template's line that raised
}

// TestCorpusStrict renders the corpus in strict mode: every case either
// renders exactly as in lax mode or fails on an unset ENV[...] that is used.
func TestCorpusStrict(t *testing.T) {
	strictFailures := 0
	for _, c := range loadCorpus(t) {
		lax, laxErr := renderCase(t, c, Options{})
		out, err := renderCase(t, c, Options{Strict: true})
		var rerr *Error
		switch {
		case err == nil && laxErr == nil:
			if !bytes.Equal(out, lax) {
				t.Errorf("%s: strict output differs from lax", c.key())
			}
		case err != nil && laxErr == nil:
			if !errors.As(err, &rerr) || !strings.Contains(rerr.Msg, "is not set (strict mode") {
				t.Errorf("%s: strict error %v", c.key(), err)
			}
			strictFailures++
		case err == nil:
			t.Errorf("%s: fails lax (%v) but renders strict", c.key(), laxErr)
		}
	}
	if strictFailures == 0 {
		t.Error("no corpus case fails in strict mode")
	}
	// Guarded uses stay allowed: conditions, ||, .nil?, .presence, ==, !.
	if _, err := renderCase(t, corpusCase{template: "strict_guarded.erb", env: "none", vars: map[string]string{}}, Options{Strict: true}); err != nil {
		t.Errorf("strict_guarded.erb with nothing set: %v", err)
	}
}
