package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/entryhq/entry/prehook"
)

// entryKitDir returns a directory holding entry's EntryKit symlinks, made
// with `entry --symlink DIR`.
func entryKitDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := runEntry(t, dir, nil, "--symlink", dir)
	if r.code != 0 {
		t.Fatalf("--symlink: %+v", r)
	}
	for _, tool := range entryKitTools {
		if dest, err := os.Readlink(filepath.Join(dir, tool)); err != nil || dest != entryBin {
			t.Fatalf("%s -> %q, %v", tool, dest, err)
		}
	}
	// A second run leaves the links as they are.
	if r := runEntry(t, dir, nil, "--symlink", dir); r.code != 0 || r.stdout != "" {
		t.Fatalf("second --symlink: %+v", r)
	}
	return dir
}

// The seed set-ups' ENTRYPOINT runs unchanged: a chain of prehooks, in order,
// then the command, with $VAR expanded as EntryKit did.
func TestEntryKitPrehookChain(t *testing.T) {
	bin := entryKitDir(t)
	r := runEntry(t, bin, []string{"GREETING=hello"},
		filepath.Join(bin, "prehook"), "echo one", "echo one two", "named=echo three | tr a-z A-Z", "--",
		"prehook", "sh -c 'echo four'", "--",
		"echo", "final", "$GREETING")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	// Two tasks with the same first word stay two tasks, in order; shell
	// syntax works.
	if want := "one\none two\nTHREE\nfour\nfinal hello\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

func TestEntryKitExitCodes(t *testing.T) {
	bin := entryKitDir(t)
	r := runEntry(t, bin, nil, filepath.Join(bin, "prehook"), "echo ok", "exit 7", "touch never", "--", "touch", "never2")
	if r.code != 7 {
		t.Errorf("exit %d, want the task's own 7 (stderr %q)", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `entry: hook 2 "exit 7" exited 7`) {
		t.Errorf("stderr %q", r.stderr)
	}
	for _, f := range []string{"never", "never2"} {
		if _, err := os.Stat(filepath.Join(bin, f)); err == nil {
			t.Errorf("%s ran after the failing task", f)
		}
	}
	r = runEntry(t, bin, nil, filepath.Join(bin, "prehook"), "true", "--", "sh", "-c", "exit 42")
	if r.code != 42 {
		t.Errorf("final command's exit %d, want 42", r.code)
	}
}

func TestEntryKitSwitch(t *testing.T) {
	bin := entryKitDir(t)
	sw := filepath.Join(bin, "switch")
	// `docker run img shell` appends "shell" to the ENTRYPOINT's arguments.
	r := runEntry(t, bin, nil, sw, "shell=echo switched to shell", "version=echo 1.0", "--", "echo", "default", "shell")
	if r.code != 0 || r.stdout != "switched to shell\n" {
		t.Errorf("switch by last argument: %+v", r)
	}
	r = runEntry(t, bin, nil, sw, "shell=echo switched", "--", "echo", "default", "other")
	if r.code != 0 || r.stdout != "default other\n" {
		t.Errorf("no match runs the default: %+v", r)
	}
	// Tasks from SWITCH_* variables when none are given as arguments.
	r = runEntry(t, bin, []string{"SWITCH_CONSOLE=echo console"}, sw, "--", "echo", "default", "console")
	if r.code != 0 || r.stdout != "console\n" {
		t.Errorf("switch from the environment: %+v", r)
	}
}

func TestEntryKitEnvAndFileTasks(t *testing.T) {
	bin := entryKitDir(t)
	writeFiles(t, bin, map[string]string{"tasks": "# comment\nprehook_b=echo file-b\nPREHOOK_A=echo file-a\n"})
	// Variable tasks run sorted by name (EntryKit's order was random).
	r := runEntry(t, bin, []string{"PREHOOK_ZED=echo z", "PREHOOK_ALPHA=echo a"}, filepath.Join(bin, "prehook"), "--", "true")
	if r.code != 0 || r.stdout != "a\nz\n" {
		t.Errorf("env tasks: %+v", r)
	}
	r = runEntry(t, bin, []string{"EK_PREHOOK_NS=echo namespaced", "PREHOOK_PLAIN=echo plain"}, filepath.Join(bin, "prehook"), "-E", "echo arg", "--", "true")
	if r.code != 0 || r.stdout != "namespaced\narg\n" {
		t.Errorf("-E: %+v", r)
	}
	r = runEntry(t, bin, nil, filepath.Join(bin, "prehook"), "-f", "tasks", "echo arg", "--", "true")
	if r.code != 0 || r.stdout != "file-a\nfile-b\narg\n" {
		t.Errorf("-f: %+v", r)
	}
}

func TestEntryKitUsageErrors(t *testing.T) {
	bin := entryKitDir(t)
	writeFiles(t, bin, map[string]string{"badtasks": "not a task line\n"})
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"prehook", "-x", "echo"}, "entry: prehook: unknown option -x (EntryKit options are -e, -E, -f FILE) (see docs/entrykit.md)"},
		{[]string{"prehook", "-f"}, "entry: prehook: -f needs a file name (see docs/entrykit.md)"},
		{[]string{"prehook", "-f", "nope"}, "entry: prehook: -f nope: no such file or directory (see docs/entrykit.md)"},
		{[]string{"prehook", "-f", "badtasks"}, "entry: prehook: badtasks:1: want PREHOOK_NAME=command (see docs/entrykit.md)"},
		{[]string{"prehook", "name=", "--", "true"}, `entry: prehook: task "name=" has a name but no command (see docs/entrykit.md)`},
		{[]string{"prehook", " ", "--", "true"}, "entry: prehook: empty task (see docs/entrykit.md)"},
		{[]string{"codep"}, "entry: codep: no tasks (give tasks as arguments or CODEP_* variables)"},
	}
	for _, tt := range tests {
		args := append([]string{}, tt.args...)
		args[0] = filepath.Join(bin, args[0])
		r := runEntry(t, bin, nil, args...)
		if r.code != 2 || strings.TrimSpace(r.stderr) != tt.msg {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", tt.args, r.code, r.stderr, tt.msg)
		}
	}
}

func TestParseEntryKitTask(t *testing.T) {
	tests := map[string]entryKitTask{
		"ruby -v":                    {"ruby", "ruby -v", false},
		"sh ./docker/setup.sh":       {"sh", "sh ./docker/setup.sh", false},
		"setup=sh ./docker/setup.sh": {"setup", "sh ./docker/setup.sh", true},
		"sh -c 'a=b'":                {"sh", "sh -c 'a=b'", false},
		"/usr/bin/ruby.sh --x":       {"ruby", "/usr/bin/ruby.sh --x", false},
		"web=FOO=1 bundle exec puma": {"web", "FOO=1 bundle exec puma", true},
	}
	for in, want := range tests {
		got, err := parseEntryKitTask(in)
		if err != nil || got != want {
			t.Errorf("parseEntryKitTask(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestExpandArgs(t *testing.T) {
	env := prehook.EnvFromList([]string{"PORT=3000", "EMPTY="})
	got := expandArgs([]string{"-p", "$PORT", "${PORT}x", "${MISSING:-d1}", "${EMPTY:-d2}", "${EMPTY-d3}", "${MISSING-d4}", "$MISSING"}, env)
	want := []string{"-p", "3000", "3000x", "d1", "d2", "", "d4", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expandArgs = %q, want %q", got, want)
	}
}

// FuzzParseEntryKit: no argument list makes the parser panic, every task it
// accepts has a name and a command, and what follows -- is kept verbatim.
func FuzzParseEntryKit(f *testing.F) {
	for _, seed := range []string{
		"ruby -v\x00--\x00prehook\x00sh ./docker/setup.sh\x00--\x00bundle\x00exec\x00unicorn_rails",
		"-e\x00-f\x00x\x00a=b",
		"name=\x00--",
		"-E\x00--\x00--",
		"=x\x00 =y\x00a b=c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		call, err := parseEntryKit("prehook", args, prehook.EnvFromList([]string{"PREHOOK_X=echo x"}))
		if err != nil {
			return
		}
		for _, task := range call.tasks {
			if task.Name == "" || strings.TrimSpace(task.Shell) == "" {
				t.Fatalf("task %+v from %q", task, args)
			}
		}
		for i, a := range args {
			if a == "--" {
				if !reflect.DeepEqual(call.next, args[i+1:]) && !(len(call.next) == 0 && len(args[i+1:]) == 0) {
					t.Fatalf("next %q, want %q", call.next, args[i+1:])
				}
				break
			}
		}
	})
}
