package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A control socket no permission could make work is refused before
// anything runs, naming the place and the fix (issue 19).
func TestCtlSocketRefusedBeforeStart(t *testing.T) {
	dir := t.TempDir()
	long := "/tmp/" + strings.Repeat("s", 110) + ".sock"
	for _, c := range []struct {
		yml  string
		env  []string
		want string
	}{
		{"control_socket: /nonexistent-entry-dir/x.sock\n", nil,
			"entry: entry.yml: control_socket: /nonexistent-entry-dir/x.sock: directory /nonexistent-entry-dir does not exist: create it in the image, or choose a path in an existing directory, such as /tmp/entry.sock\n"},
		{"", []string{"ENTRY_CONTROL_SOCKET=" + long},
			"entry: --control-socket (ENTRY_CONTROL_SOCKET): " + long + ": too long (120 > 107 bytes): choose a shorter path, such as /tmp/entry.sock\n"},
	} {
		writeFiles(t, dir, map[string]string{"entry.yml": c.yml + "roles:\n  web:\n    app: echo ran\n"})
		r := runEntry(t, dir, c.env, "role=web")
		if r.code != 2 || r.stderr != c.want || r.stdout != "" {
			t.Errorf("%s%v: exit %d\nstdout %q\nstderr %q\nwant exit 2 and %q", c.yml, c.env, r.code, r.stdout, r.stderr, c.want)
		}
	}
	if _, err := os.Stat("/nonexistent-entry-dir"); !os.IsNotExist(err) {
		t.Errorf("/nonexistent-entry-dir was created: %v", err)
	}
	// A relative control_socket is relative to entry.yml, not to the
	// caller's directory.
	writeFiles(t, dir, map[string]string{"conf/entry.yml": "control_socket: missing/ctl.sock\nroles:\n  web:\n    app: echo ran\n"})
	r := runEntry(t, dir, nil, "--config", "conf/entry.yml", "role=web")
	abs := filepath.Join(dir, "conf/missing")
	if want := "entry: conf/entry.yml: control_socket: " + abs + "/ctl.sock: directory " + abs + " does not exist"; r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("relative control_socket: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
}

// A timeout that would give up before asking is refused (issue 19: the
// supervisor was said to be unreachable).
func TestCtlHealthTimeoutRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ctl", "--timeout=-1s", "status"}, "entry: ctl: --timeout -1s: want a positive duration, such as 30s\n"},
		{[]string{"ctl", "--timeout", "0s", "status"}, "entry: ctl: --timeout 0s: want a positive duration, such as 30s\n"},
		{[]string{"health", "--timeout=-5s"}, "entry: health: --timeout -5s: want a positive duration, such as 30s\n"},
		{[]string{"health", "--timeout", "0s"}, "entry: health: --timeout 0s: want a positive duration, such as 30s\n"},
	} {
		r := runEntry(t, dir, nil, c.args...)
		if r.code != 2 || r.stderr != c.want {
			t.Errorf("entry %v: exit %d, stderr %q; want 2, %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
