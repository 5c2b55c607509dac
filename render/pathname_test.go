package render

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPathnameJoinMatchesRuby compares Pathname#join (Rails.root.join)
// with Ruby's on every combination of awkward parts: "..", ".", absolute
// parts, trailing and doubled slashes, and ".." above the root.
func TestPathnameJoinMatchesRuby(t *testing.T) {
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		if os.Getenv("ENTRY_TEST_STRICT") != "" {
			t.Fatalf("ruby is not installed: %v", err)
		}
		t.Skip("ruby is not installed")
	}
	bases := []string{"/app", "/", "/app/", "/srv/app/current", "app", ".", "//app"}
	parts := []string{"", ".", "..", "a", "b/", "/", "//", "/x", "../..", "./c", "a//b", "x/..", "../shared/storage", "..//y", "a/../../.."}
	type joinCase struct {
		Base  string   `json:"base"`
		Parts []string `json:"parts"`
	}
	var cases []joinCase
	for _, b := range bases {
		cases = append(cases, joinCase{b, nil})
		for _, p := range parts {
			cases = append(cases, joinCase{b, []string{p}})
			for _, q := range parts {
				cases = append(cases, joinCase{b, []string{p, q}})
			}
		}
		cases = append(cases, joinCase{b, []string{"a", "../../..", "b"}}, joinCase{b, []string{"log", "x", "/abs", "..", "y"}})
	}
	const script = `require "pathname"; require "json"
out = JSON.parse(STDIN.read).map { |c| Pathname.new(c["base"]).join(*c["parts"]).to_s }
print JSON.generate(out)`
	var want []string
	rubyJSON(t, ruby, script, cases, &want)
	if len(want) != len(cases) {
		t.Fatalf("ruby printed %d results for %d cases", len(want), len(cases))
	}
	wrong := 0
	for i, c := range cases {
		if got := pathnameJoin(c.Base, c.Parts); got != want[i] {
			wrong++
			if wrong <= 20 {
				t.Errorf("Pathname(%q).join(%s) = %q, Ruby %q", c.Base, quoteAll(c.Parts), got, want[i])
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d joins differ from Ruby", wrong, len(cases))
	}
}

// rubyJSON runs script with ruby, in as JSON on its standard input, and
// decodes what it prints into out.
func rubyJSON(t *testing.T, ruby, script string, in, out any) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ruby, "-e", script)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("ruby: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(printed, out); err != nil {
		t.Fatalf("ruby printed no JSON: %v\n%.2000s", err, printed)
	}
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		b, _ := json.Marshal(s)
		q[i] = string(b)
	}
	return strings.Join(q, ", ")
}

// TestRailsRootResolvesSymlinks: reached through a symlink with $PWD set
// to it (as a shell's cd leaves it), Rails.root is the resolved directory,
// as Ruby's Dir.pwd and Rails print it.
func TestRailsRootResolvesSymlinks(t *testing.T) {
	real := t.TempDir()
	link := t.TempDir() + "/current"
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(link)
	t.Setenv("PWD", link)
	tmpl, err := Parse("t.erb", []byte(`<%= Rails.root %> <%= Rails.root.join("../shared/storage") %>`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, func(string) (string, bool) { return "", false }, Options{}); err != nil {
		t.Fatal(err)
	}
	resolved, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	want := resolved + " " + pathnameJoin(resolved, []string{"../shared/storage"})
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if strings.Contains(out.String(), "current") {
		t.Errorf("Rails.root shows the symlink's path: %q", out.String())
	}
}
