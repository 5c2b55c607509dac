package prehook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

func TestLoadEnvFilesPrecedence(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	os.WriteFile(".env", []byte("A=from-env-file\nB=first\nexport C=\"quoted value\"\n"), 0o644)
	os.WriteFile(".env.local", []byte("B=second\nD=${B}-expanded\n"), 0o644)

	env := EnvFromList([]string{"A=real"})
	loaded, err := LoadEnvFiles(env, []EnvFile{{Path: ".env"}, {Path: ".env.absent", Optional: true}, {Path: ".env.local", Optional: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "real", "B": "first", "C": "quoted value", "D": "second-expanded"}
	for k, v := range want {
		if got := env.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if strings.Join(loaded, ",") != ".env,.env.local" {
		t.Errorf("loaded %v", loaded)
	}
}

func TestLoadEnvFilesDefault(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	env := &Env{}
	if loaded, err := LoadEnvFiles(env, nil); err != nil || loaded != nil {
		t.Fatalf("no .env: %v, %v", loaded, err)
	}
	os.WriteFile(".env", []byte("X=1\n"), 0o644)
	if loaded, err := LoadEnvFiles(env, nil); err != nil || len(loaded) != 1 || env.Get("X") != "1" {
		t.Fatalf(".env present: %v, %v, X=%q", loaded, err, env.Get("X"))
	}
}

// TestLoadEnvFilesPermissionDenied runs as the user nobody: root reads a
// mode 000 file, a non-root image's user does not.
func TestLoadEnvFilesPermissionDenied(t *testing.T) {
	if testtool.Unprivileged(t) {
		return
	}
	dir := t.TempDir()
	chdir(t, dir)
	if err := os.WriteFile("unreadable.env", []byte("A=1\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	for _, optional := range []bool{false, true} {
		env := EnvFromList([]string{"KEEP=1"})
		_, err := LoadEnvFiles(env, []EnvFile{{Path: "unreadable.env", Optional: optional}})
		const want = "env file unreadable.env: permission denied"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("optional=%v: error %v, want prefix %q", optional, err, want)
		}
		if env.Get("KEEP") != "1" || len(env.List()) != 1 {
			t.Errorf("the environment changed on failure: %v", env.List())
		}
	}
}

func TestLoadEnvFilesErrors(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	os.WriteFile("bad.env", []byte("GOOD=1\nthis is not an assignment\n"), 0o644)
	os.Mkdir("adir", 0o755)
	tests := []struct{ file, want string }{
		{"missing.env", "env file missing.env: does not exist (create it, remove it from env_files / --env-file, or mark it {path: missing.env, required: false})"},
		{"bad.env", "env file bad.env:2: not a NAME=value line, an export NAME=value line or a # comment"},
		{"adir", "env file adir: is a directory"},
	}
	for _, tt := range tests {
		env := EnvFromList([]string{"KEEP=1"})
		_, err := LoadEnvFiles(env, []EnvFile{{Path: tt.file}})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want prefix %q", tt.file, err, tt.want)
		}
		if tt.file != "missing.env" { // optional skips an absent file only
			_, err := LoadEnvFiles(env, []EnvFile{{Path: tt.file, Optional: true}})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s (optional): error %v, want prefix %q", tt.file, err, tt.want)
			}
		}
		if env.Get("KEEP") != "1" || len(env.List()) != 1 {
			t.Errorf("%s: the environment changed on failure: %v", tt.file, env.List())
		}
	}
}

func TestEnv(t *testing.T) {
	e := EnvFromList([]string{"B=1", "A=2", "B=3", "bogus", "=x"})
	if got := strings.Join(e.List(), " "); got != "B=3 A=2" {
		t.Errorf("List = %q", got)
	}
	e.SetDefault("A", "no")
	e.SetDefault("C", "yes")
	e.Unset("B")
	e.Unset("missing")
	if got := strings.Join(e.List(), " "); got != "A=2 C=yes" {
		t.Errorf("after edits: %q", got)
	}
	c := e.Clone()
	c.Set("A", "changed")
	if e.Get("A") != "2" {
		t.Error("Clone shares state")
	}
	if _, ok := e.Lookup("B"); ok {
		t.Error("B still set")
	}
}

func runHooks(t *testing.T, ctx context.Context, hooks ...Hook) (stdout string, logs []string, err error) {
	t.Helper()
	var out bytes.Buffer
	h := &Hooks{List: hooks, Stdout: &out, Stderr: &out, KillGrace: 200 * time.Millisecond}
	err = h.Run(ctx, EnvFromList([]string{"PATH=" + os.Getenv("PATH"), "GREETING=hi"}), func(f string, a ...any) {
		logs = append(logs, fmt.Sprintf(f, a...))
	})
	return out.String(), logs, err
}

func TestHooksRunInOrderWithShellSyntax(t *testing.T) {
	out, logs, err := runHooks(t, context.Background(),
		Hook{Command: `echo "$GREETING" one | tr a-z A-Z`},
		Hook{Command: "echo two"},
		Hook{Name: "three", Command: "echo two"}, // same first word: still its own hook
	)
	if err != nil {
		t.Fatal(err)
	}
	if out != "HI ONE\ntwo\ntwo\n" {
		t.Errorf("output %q", out)
	}
	want := []string{`hook 1 "echo \"$GREETING\" one | tr a-z A-Z"`, `hook 2 "echo two"`, `hook "three" ("echo two")`}
	if strings.Join(logs, "\n") != strings.Join(want, "\n") {
		t.Errorf("logs:\n%s\nwant:\n%s", strings.Join(logs, "\n"), strings.Join(want, "\n"))
	}
}

func TestHookFailures(t *testing.T) {
	tests := []struct {
		hook Hook
		code int
		msg  string
	}{
		{Hook{Command: "exit 3"}, 3, `hook 2 "exit 3" exited 3`},
		{Hook{Command: "no-such-command-entry-test"}, 127, `hook 2 "no-such-command-entry-test" exited 127 (command not found: check the command and PATH)`},
		{Hook{Command: "kill -USR1 $$"}, 128 + 10, `hook 2 "kill -USR1 $$" was killed by SIGUSR1`},
		{Hook{Command: "sleep 30", Timeout: 100 * time.Millisecond}, 124, `hook 2 "sleep 30" timed out after 100ms; its process group was stopped (raise the hook's timeout if it needs longer)`},
	}
	for _, tt := range tests {
		out, _, err := runHooks(t, context.Background(), Hook{Command: "echo first"}, tt.hook, Hook{Command: "echo never"})
		var he *HookError
		if !errors.As(err, &he) {
			t.Fatalf("%q: error %v", tt.hook.Command, err)
		}
		if he.Code != tt.code || err.Error() != tt.msg {
			t.Errorf("%q: code %d %q; want %d %q", tt.hook.Command, he.Code, err, tt.code, tt.msg)
		}
		if strings.Contains(out, "never") {
			t.Errorf("%q: a hook after the failure ran", tt.hook.Command)
		}
	}
}

// A timeout stops the whole process group, not just the shell.
func TestHookTimeoutKillsGroup(t *testing.T) {
	// The timeout leaves the shell time to start the sleeper even on a busy
	// machine; the sleeper outlasts the test by far, so Run returns in time
	// only if the group is killed.
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		var pid int
		if data, err := os.ReadFile(pidFile); err == nil {
			if fmt.Sscan(string(data), &pid); pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	_, _, err := runHooks(t, context.Background(), Hook{
		Command: "trap '' TERM; sleep 600 & echo $! > " + pidFile + "; wait",
		Timeout: 2 * time.Second,
	})
	var he *HookError
	if !errors.As(err, &he) || he.Code != 124 {
		t.Fatalf("error %v, want a timeout (124)", err)
	}
	if took := time.Since(start); took > 5*time.Minute {
		t.Errorf("Run took %v: it waited for the sleeper", took)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the hook did not start its sleeper within its 2s timeout: %v", err)
	}
	var pid int
	fmt.Sscan(string(data), &pid)
	// Gone, or a zombie not yet reaped by its (re-parented) reaper.
	testtool.Eventually(t, fmt.Sprintf("background sleep %d gone after the hook's timeout", pid), func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		_, rest, _ := strings.Cut(string(stat), ") ")
		return err != nil || strings.HasPrefix(rest, "Z")
	})
}

func TestHookInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("received terminated")) })
	_, _, err := runHooks(t, ctx, Hook{Command: "sleep 30"})
	if err == nil || err.Error() != `hook 1 "sleep 30" interrupted: received terminated` {
		t.Errorf("error %v", err)
	}
}

type fakeStep struct {
	name string
	err  error
	ran  *[]string
}

func (s fakeStep) Name() string       { return s.name }
func (s fakeStep) Plan(*Env) []string { return []string{"do " + s.name} }
func (s fakeStep) Run(_ context.Context, env *Env, _ Logger) error {
	*s.ran = append(*s.ran, s.name)
	env.Set("RAN_"+s.name, "1")
	return s.err
}

func TestPipelineOrderAndStop(t *testing.T) {
	var ran []string
	p := NewPipeline(func(string, ...any) {},
		fakeStep{"hooks", nil, &ran},
		nil,
		fakeStep{"assets", errors.New("assets: no manifest"), &ran},
		fakeStep{"secrets", nil, &ran},
		fakeStep{"render", nil, &ran},
	)
	if got := strings.Join(p.Plan(&Env{}), "; "); got != "secrets: do secrets; render: do render; assets: do assets; hooks: do hooks" {
		t.Errorf("plan %q", got)
	}
	env := &Env{}
	err := p.Run(context.Background(), env)
	if err == nil || err.Error() != "assets: no manifest" {
		t.Errorf("error %v", err)
	}
	if strings.Join(ran, ",") != "secrets,render,assets" {
		t.Errorf("ran %v; hooks must not run after a failure", ran)
	}
	if env.Get("RAN_render") != "1" {
		t.Error("steps do not share the environment")
	}
}

func TestPipelineUnknownStepPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a step outside Order")
		}
	}()
	var ran []string
	NewPipeline(nil, fakeStep{"bogus", nil, &ran})
}

func TestHookProgram(t *testing.T) {
	for cmd, want := range map[string]string{
		"bundle exec rake db:create":        "bundle",
		"RAILS_ENV=production A_1=x rake t": "rake",
		"sh ./docker/setup.sh":              "sh",
		"./bin/setup --quiet":               "./bin/setup",
		"$HOME/bin/x":                       "",
		"'quoted' arg":                      "",
		"(cd app && make)":                  "",
		"[ -f x ] || touch x":               "[",
		"":                                  "",
		"FOO=bar":                           "",
		"echo ok > out":                     "echo",
	} {
		if got := hookProgram(cmd); got != want {
			t.Errorf("hookProgram(%q) = %q, want %q", cmd, got, want)
		}
	}
}

func TestHooksCheck(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644)
	env := EnvFromList([]string{"PATH=" + dir + ":/usr/bin:/bin"})
	ok := &Hooks{List: []Hook{{Command: "tool --x"}, {Command: "cd /tmp && tool"}, {Command: "echo hi"}, {Command: "if true; then tool; fi"}, {Command: "$X"}}}
	if err := ok.Check(env); err != nil {
		t.Errorf("Check: %v", err)
	}
	for cmd, want := range map[string]string{
		"missing-tool-xyz":  `hook 1 "missing-tool-xyz" cannot run: missing-tool-xyz: command not found (install it in the image, or fix the command)`,
		dir + "/plain":      `hook 1 "` + dir + `/plain" cannot run: ` + dir + `/plain: not executable (install it in the image, or fix the command)`,
		dir + " arg":        `hook 1 "` + dir + ` arg" cannot run: ` + dir + `: is a directory (install it in the image, or fix the command)`,
		"./nope/setup.sh x": `hook 1 "./nope/setup.sh x" cannot run: ./nope/setup.sh: command not found (install it in the image, or fix the command)`,
	} {
		err := (&Hooks{List: []Hook{{Command: cmd}}}).Check(env)
		if err == nil || err.Error() != want {
			t.Errorf("Check(%q) = %v, want %s", cmd, err, want)
		}
	}
}
