package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// renderWith parses and renders src with the environment vars, both as
// ENV[...] and as the commands' environment.
func renderWith(t *testing.T, src string, vars map[string]string, opts Options) (string, error) {
	t.Helper()
	tmpl, err := Parse("t.erb", []byte(src))
	if err != nil {
		return "", err
	}
	if opts.Environ == nil {
		opts.Environ = []string{}
		for k, v := range vars {
			opts.Environ = append(opts.Environ, k+"="+v)
		}
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, opts)
	return out.String(), err
}

// TestCommandsLikeRuby renders commands with Ruby's ERB and with entry in
// the same environment: the bytes are the same, and where Ruby raises,
// entry fails.
func TestCommandsLikeRuby(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	testtool.Require(t, "hostname")
	srcs := []string{
		"<%= `echo hi` %>|",
		"<%= `hostname` %>",
		"<%= `hostname`.strip %>|",
		"<%= `hostname`.chomp %>|",
		"<%= %x(echo #{ENV['X']} (a b)) %>|",
		"<%= %x[echo [x]] %>|<%= %x{echo {y}} %>|<%= %x<echo a> %>|<%= %x|echo b| %>|<%= %x!echo c! %>|",
		"<%= `printf '%s' \"$X\"` %>|",
		"<%= `printf 'a\\nb\\n\\n'` %>|",
		"<%= `echo \\`echo nested\\`` %>|",
		"<%= `echo out; echo err >&2; exit 3` %>|",
		"<%= `exit 1` %>|",
		"<%= `false`.empty? %>|",
		"<%= `echo a b`.split %>",
		"<%= `pwd`.strip == Dir.pwd %>",
		"<%= `nosuchprogram_entry_test` %>",
		"<%= `nosuchprogram_entry_test arg` %>",
		"<%= `nosuchprogram_entry_test; echo after` %>|",
		"<%= `X=1 nosuchprogram_entry_test` %>|",
		"<%= `./nosuchprogram_entry_test` %>",
		"<%= `echo #{1 + 2}` %>",
		"<% v = `echo 5`.to_i %><%= v * 2 %>",
	}
	vars := map[string]string{"X": "a value", "PATH": os.Getenv("PATH")}
	if raised := compareWithRuby(t, rubyBin, "", srcs, vars, func(src string) string {
		return strings.ReplaceAll(src, "Dir.pwd", "Rails.root.to_s")
	}); raised == 0 {
		t.Error("no case raised in Ruby")
	}
}

// TestCommandGitRevParse: the other common command, in a git checkout.
func TestCommandGitRevParse(t *testing.T) {
	git := testtool.Require(t, "git")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(git, "rev-parse", "HEAD")
	cmd.Dir = dir
	head, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, err := renderWith(t, "rev: <%= `git rev-parse HEAD`.strip %>\nraw: <%= `git rev-parse HEAD` %>", nil, Options{Environ: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	if want := "rev: " + strings.TrimSpace(string(head)) + "\nraw: " + string(head); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCommandEnvironment: a command sees the environment the template
// renders with, not entry's own.
func TestCommandEnvironment(t *testing.T) {
	t.Setenv("ENTRY_TEST_OUTSIDE", "leak")
	got, err := renderWith(t, "<%= `echo \"[$ENTRY_TEST_INSIDE][$ENTRY_TEST_OUTSIDE]\"` %>", map[string]string{"ENTRY_TEST_INSIDE": "in"}, Options{})
	if err != nil || got != "[in][]\n" {
		t.Errorf("got %q, %v; want \"[in][]\\n\"", got, err)
	}
	// Without Options.Environ: the process's own.
	got, err = renderWith(t, "<%= `echo \"$ENTRY_TEST_OUTSIDE\"` %>", nil, Options{Environ: nil})
	if err == nil && got != "\n" {
		t.Errorf("renderWith with no vars sets an empty Environ; got %q", got)
	}
	tmpl, err := Parse("t.erb", []byte("<%= `echo \"$ENTRY_TEST_OUTSIDE\"` %>"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, os.LookupEnv, Options{}); err != nil || out.String() != "leak\n" {
		t.Errorf("nil Environ: got %q, %v; want the process's environment", out.String(), err)
	}
}

// TestCommandTimeout: a command still running at the timeout is killed
// with its whole process group, and the render fails naming the place.
func TestCommandTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	src := "a\n<%= `sleep 600 & echo $! > " + pidFile + "; wait` %>"
	// The render must end long before the sleep would: a timeout that does
	// not fire is a hang, caught here at the test's patience.
	type result struct {
		got string
		err error
	}
	done := make(chan result, 1)
	t.Cleanup(func() { // when the timeout failed to fire: leave no sleep behind
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				if pgid, err := syscall.Getpgid(pid); err == nil && pgid != syscall.Getpgrp() {
					syscall.Kill(-pgid, syscall.SIGKILL)
				}
			}
		}
	})
	go func() {
		got, err := renderWith(t, src, map[string]string{"PATH": os.Getenv("PATH")}, Options{CommandTimeout: 300 * time.Millisecond})
		done <- result{got, err}
	}()
	var got string
	var err error
	select {
	case r := <-done:
		got, err = r.got, r.err
	case <-time.After(testtool.Patience):
		t.Fatalf("the render still runs after %v: the 300ms command timeout did not fire", testtool.Patience)
	}
	want := "t.erb:2:5: `sleep 600 & echo $! > " + pidFile + "; wait`: still running after 300ms: killed it and its process group (a template's command must finish quickly; pass slow values in environment variables)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %q, %v; want error %s", got, err, want)
	}
	if got != "" {
		t.Errorf("wrote %q before failing", got)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The background sleep was in the group: it is gone (or a zombie
	// waiting for init).
	testtool.Eventually(t, "the background sleep to be killed", func() bool {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(stat), ") Z ")
	})
}

// TestCommandLeavesDaemons: as in Ruby, a process the command starts in
// the background with its output elsewhere keeps running after it.
func TestCommandLeavesDaemons(t *testing.T) {
	got, err := renderWith(t, "<%= `sleep 600 >/dev/null 2>&1 & echo $!`.strip %>", map[string]string{"PATH": os.Getenv("PATH")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(got)
	if err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("the background sleep is gone: %v", err)
	}
}

// TestCommandOutputCap: at most 1 MiB of output; more fails the render.
func TestCommandOutputCap(t *testing.T) {
	vars := map[string]string{"PATH": os.Getenv("PATH")}
	got, err := renderWith(t, "<%= `head -c 1048576 /dev/zero`.size %>", vars, Options{})
	if err != nil || got != "1048576" {
		t.Errorf("exactly 1 MiB: got %q, %v", got, err)
	}
	got, err = renderWith(t, "x\n <%= `head -c 1048577 /dev/zero`.size %>", vars, Options{})
	want := "t.erb:2:6: `head -c 1048577 /dev/zero`: printed more than 1 MiB: killed it and its process group (a template's command may print at most 1 MiB)"
	if err == nil || err.Error() != want {
		t.Errorf("1 MiB + 1: got %q, %v; want %s", got, err, want)
	}
	// A command that never stops printing is cut off at the cap, not at
	// the timeout.
	_, err = renderWith(t, "<%= `yes` %>", vars, Options{CommandTimeout: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "printed more than 1 MiB") {
		t.Errorf("yes: %v", err)
	}
}

// TestCommandMessages: what entry refuses about commands.
func TestCommandMessages(t *testing.T) {
	tests := []struct{ src, want string }{
		{"<%= `echo a; echo $?` %>", ""},
		{"<% `true` %><%= $? %>", "t.erb:1:17: unsupported Ruby: $? (entry keeps no exit status of a command; print it in the command's output: `cmd; echo $?`)"},
		{"<%= `echo a %>", "t.erb:1:5: unterminated string (a %> inside a string ends the tag; write %%>)"},
		{"<%= %x %>", "t.erb:1:5: unterminated %x: write %x(command)"},
		{"<%= %x(echo #{ %>", "t.erb:1:16: unexpected end of tag: expected a value"},
		{"<%= `nosuch_entry_cmd` %>", "t.erb:1:5: `nosuch_entry_cmd`: No such file or directory - nosuch_entry_cmd (Ruby raises Errno::ENOENT here; is the program installed in the image, and on PATH?)"},
		{"<%= `#{1}` %>", "t.erb:1:5: `#{1}`: No such file or directory - 1 (Ruby raises Errno::ENOENT here; is the program installed in the image, and on PATH?)"},
	}
	for _, tt := range tests {
		_, err := renderWith(t, tt.src, map[string]string{"PATH": os.Getenv("PATH")}, Options{})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.src, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}

// TestInterpolationIsAString: "#{1}" is the String "1", not the Integer
// (a lone interpolated literal used to stand for itself).
func TestInterpolationIsAString(t *testing.T) {
	got, err := renderWith(t, `<%= "#{1}" + "a" %>|<%= "#{nil}".size %>|<%= "#{:a}".size %>|<%= "#{'x'}" %>`, nil, Options{})
	if err != nil || got != "1a|0|1|x" {
		t.Errorf("got %q, %v; want \"1a|0|1|x\"", got, err)
	}
}

// compareWithRuby renders each of srcs with Ruby's ERB (after the Ruby
// prelude, e.g. a require) and with entry (after entrySrc changes it, if
// given) in the environment vars: the bytes must be the same, and where Ruby
// raises, entry must fail with Ruby's message and "(Ruby raises Class
// here". It returns how many Ruby raised.
func compareWithRuby(t *testing.T, rubyBin, prelude string, srcs []string, vars map[string]string, entrySrc func(string) string) int {
	t.Helper()
	var ruby struct {
		Out   map[string]string
		Error map[string]string
	}
	rubyJSON(t, rubyBin, prelude+`
require "erb"; require "json"; require "base64"
input = JSON.parse($stdin.read)
ENV.replace(input["env"])
out, error = {}, {}
input["srcs"].each do |src|
  begin
    out[src] = Base64.strict_encode64(ERB.new(src, trim_mode: "-").result.b)
  rescue Exception => e
    error[src] = "#{e.class}: #{e.message}"
  end
end
print JSON.generate({"Out" => out, "Error" => error})
`, map[string]any{"env": vars, "srcs": srcs}, &ruby)
	for _, src := range srcs {
		esrc := src
		if entrySrc != nil {
			esrc = entrySrc(src)
		}
		got, err := renderWith(t, esrc, vars, Options{})
		if rerr, raised := ruby.Error[src]; raised {
			var perr *Error
			if err == nil {
				t.Errorf("%s: Ruby raised %s; entry rendered %q", src, rerr, got)
			} else if !errors.As(err, &perr) || !sameFailure(perr.Msg, rerr) {
				t.Errorf("%s: Ruby raised %s; entry: %v", src, rerr, err)
			}
			continue
		}
		want, _ := base64.StdEncoding.DecodeString(ruby.Out[src])
		if err != nil {
			t.Errorf("%s: Ruby rendered %q; entry: %v", src, want, err)
		} else if got != string(want) {
			t.Errorf("%s: entry %q, Ruby %q", src, got, want)
		}
	}
	return len(ruby.Error)
}

// TestCommandOutputNotShown: a command's output may be a secret; errors
// name the command instead.
func TestCommandOutputNotShown(t *testing.T) {
	_, err := renderWith(t, "<%= Integer(`printf %s s3cr3t-t0ken | tr a-z A-Z`) %>", map[string]string{"PATH": os.Getenv("PATH")}, Options{})
	want := "t.erb:1:5: invalid value for Integer(): `printf %s s3cr3t-t0ken | tr a-z A-Z` (12 bytes, not shown) (Ruby raises ArgumentError here)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
