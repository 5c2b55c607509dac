package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
	"github.com/entryhq/entry/secrets"
)

// Every file entry is given is refused at once when it is a device or a
// FIFO, by name, with the exit code of its command; nothing is written.
func TestFilesThatAreNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	const dev = ": is a character device, not a regular file; give the path of "
	const fifo = "fifo: is a FIFO, not a regular file; give the path of "
	tests := []struct {
		yml  string // entry.yml, if any
		args []string
		code int
		want string // stderr
	}{
		{"", []string{"--config", "/dev/zero", "config", "check"}, 2, "entry: config: /dev/zero" + dev + "a config file\n"},
		{"", []string{"--config", "fifo", "--", "true"}, 2, "entry: config: " + fifo + "a config file\n"},
		{"", []string{"--env-file", "/dev/zero", "--", "true"}, 2, "entry: env file /dev/zero" + dev + "an env file\n"},
		{"", []string{"--env-file", "fifo", "--", "true"}, 2, "entry: env file " + fifo + "an env file\n"},
		{"env_files: [fifo]\n", []string{"config", "check", "--", "true"}, 2, "entry: env file " + fifo + "an env file\n"},
		{"", []string{"render", "/dev/zero", "out"}, 1, "entry: render: /dev/zero" + dev + "a template\n"},
		{"", []string{"render", "fifo"}, 1, "entry: render: " + fifo + "a template\n"},
		{"", []string{"cron", "check", "/dev/zero"}, 2, "entry: cron check: crontab: /dev/zero" + dev + "a crontab\n"},
		{"", []string{"cron", "check", "fifo"}, 2, "entry: cron check: crontab: " + fifo + "a crontab\n"},
		{"roles:\n  job:\n    cron: {crontab: /dev/zero}\n", []string{"config", "check"}, 2,
			"entry: entry.yml:3: roles.job.cron: crontab: /dev/zero" + dev + "a crontab (crontab: names a file relative to the working directory)\n"},
		{"roles:\n  job:\n    cron: {crontab: fifo}\n", []string{"role=job"}, 2,
			"entry: entry.yml:3: roles.job.cron: crontab: " + fifo + "a crontab (crontab: names a file relative to the working directory)\n"},
		{"render:\n  templates:\n    - {src: fifo, dst: out}\n", []string{"config", "check", "--", "true"}, 2, "entry: render: " + fifo + "a template\n"},
		{"", []string{"deploy", "--cluster", "c", "--service", "s", "--image-definitions", "/dev/zero"}, 2, "entry: deploy: --image-definitions: /dev/zero" + dev + "an imagedefinitions file\n"},
		{"", []string{"deploy", "--cluster", "c", "--service", "s", "--task-definition", "fifo"}, 2, "entry: deploy: --task-definition: " + fifo + "a task definition\n"},
		{"", []string{"secrets", "decrypt", "fifo"}, 1, "entry: secrets: " + fifo + "a vault\n"},
		{"", []string{"assets", "push", "--bucket", "b", "--env", "production", "--sha", "abc", "/dev/zero"}, 1, "entry: assets: /dev/zero" + dev + "a manifest\n"},
		// Start-up's hint names where start looks for the key: it has no --key-file.
		{"secrets:\n  vaults:\n    - {src: /dev/zero, dst: out}\n", []string{"--", "true"}, 1,
			"entry: secrets: key: no age key: set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM in the container's environment, or secrets.key_file or secrets.key_ssm in entry.yml\n"},
	}
	// The REVISION file that selects the assets manifest.
	if err := syscall.Mkfifo(filepath.Join(dir, "REVISION"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		yml  string
		args []string
		code int
		want string
	}{"assets:\n  fetch:\n    - {src: \"s3://b/{env}/{sha}/m.json\", dst: m.json}\n", []string{"assets", "fetch", "--env", "production"}, 1,
		"entry: assets: REVISION: is a FIFO, not a regular file; give the path of a REVISION file\n"})
	for _, tt := range tests {
		os.Remove(filepath.Join(dir, "entry.yml"))
		if tt.yml != "" {
			writeFiles(t, dir, map[string]string{"entry.yml": tt.yml})
		}
		before := testtool.DirNames(t, dir)
		r := runEntry(t, dir, nil, tt.args...)
		if r.code != tt.code || r.stderr != tt.want {
			t.Errorf("%v:\n got exit %d, %q\nwant exit %d, %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
		if after := testtool.DirNames(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("%v: files changed: %v -> %v", tt.args, before, after)
		}
	}
}

// A file over its cap is refused with its size and the cap.
func TestFilesOverTheirCap(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("# padding\n", (1<<20)/10+1)
	writeFiles(t, dir, map[string]string{"big.yml": big, "big.env": big})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "big.yml", "--", "true"}, "entry: config: big.yml: 1048580 B is larger than the 1048576 B cap for a config file\n"},
		{[]string{"--env-file", "big.env", "--", "true"}, "entry: env file big.env: 1048580 B is larger than the 1048576 B cap for an env file\n"},
	} {
		r := runEntry(t, dir, nil, tt.args...)
		if r.code != 2 || r.stderr != tt.want {
			t.Errorf("%v:\n got exit %d, %q\nwant exit 2, %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// EntryKit forms that would do nothing print usage and exit 2, as EntryKit
// did; nothing runs.
func TestEntryKitFormsThatDoNothing(t *testing.T) {
	bin := entryKitDir(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"prehook"}, entryKitUsage["prehook"] + "entry: prehook: nothing to do: give tasks, or -- and a command\n"},
		{[]string{"render"}, entryKitUsage["render"] + "entry: render: nothing to do: give tasks, or -- and a command\n"},
		{[]string{"switch"}, entryKitUsage["switch"] + "entry: switch: nothing to do: give name=task arguments and -- DEFAULT COMMAND\n"},
		{[]string{"switch", "a=touch ran"}, entryKitUsage["switch"] + "entry: switch: no task matches and there is no -- DEFAULT COMMAND to run instead\n"},
	} {
		before := testtool.DirNames(t, bin)
		args := append([]string{}, tt.args...)
		r := runBinary(t, filepath.Join(bin, args[0]), bin, nil, args[1:]...)
		if r.code != 2 || r.stderr != tt.want || r.stdout != "" {
			t.Errorf("%v:\n got exit %d, stderr %q\nwant exit 2, %q", tt.args, r.code, r.stderr, tt.want)
		}
		if after := testtool.DirNames(t, bin); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("%v: files changed: %v -> %v", tt.args, before, after)
		}
	}
	// A matching switch task still runs, and so does a prehook with only NEXT.
	if r := runBinary(t, filepath.Join(bin, "switch"), bin, nil, "a=echo picked", "a"); r.code != 0 || r.stdout != "picked\n" {
		t.Errorf("switch a=... a: %+v", r)
	}
	if r := runBinary(t, filepath.Join(bin, "prehook"), bin, nil, "--", "echo", "next"); r.code != 0 || r.stdout != "next\n" {
		t.Errorf("prehook -- echo next: %+v", r)
	}
}

// --symlink into a missing directory, or over files that are not entry's
// links, says so and creates no link at all.
func TestSymlinkAllOrNone(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "bin")
	r := runEntry(t, dir, nil, "--symlink", missing)
	want := "entry: --symlink: directory " + missing + " does not exist (create it first: mkdir -p " + missing + "); nothing was created\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("missing dir:\n got exit %d, %q\nwant exit 2, %q", r.code, r.stderr, want)
	}
	if _, err := os.Lstat(missing); err == nil {
		t.Errorf("%s was created", missing)
	}

	writeFiles(t, dir, map[string]string{"switch": "mine\n", "render": "mine too\n"})
	r = runEntry(t, dir, nil, "--symlink", dir)
	want = "entry: --symlink: " + filepath.Join(dir, "switch") + ", " + filepath.Join(dir, "render") +
		" already exist and are not a link to entry (remove them or choose another directory); nothing was created\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("taken names:\n got exit %d, %q\nwant exit 2, %q", r.code, r.stderr, want)
	}
	if got := testtool.DirNames(t, dir); strings.Join(got, " ") != "render switch" {
		t.Errorf("files after a refused --symlink: %v", got)
	}
}

// entry config check reports every problem start-up would meet, all of
// them, and exits 2; it writes nothing.
func TestConfigCheckReportsEverything(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": "render:\n  templates:\n    - {src: bad.erb, dst: out/bad}\n    - {src: tmpl/, dst: out}\n" +
			"hooks: [no-such-hook-xyz]\n" +
			"roles:\n  web:\n    app: no-such-program-xyz -p 3000\n    sh: sh -c 'exit 0'\n    argv: [./bin/missing]\n",
		"bad.erb":      "<% if x %>\n",
		"tmpl/a.erb":   "a\n",
		"tmpl/bad.erb": "b\n",
	})
	before := testtool.DirNames(t, dir)
	r := runEntry(t, dir, nil, "config", "check")
	want := "entry: entry.yml:8: roles.web.app: cannot run: no-such-program-xyz: command not found (install it in the image, or fix the command)\n" +
		"entry: entry.yml:10: roles.web.argv: cannot run: ./bin/missing: command not found (install it in the image, or fix the command)\n" +
		"entry: entry.yml:5: hook 1 \"no-such-hook-xyz\" cannot run: no-such-hook-xyz: command not found (install it in the image, or fix the command)\n" +
		"entry: render: bad.erb and tmpl/bad.erb both render to out/bad (fix render.templates in the config)\n" +
		"entry: render: bad.erb:1:"
	if r.code != 2 || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 5 || r.stdout != "" {
		t.Errorf("got exit %d, stdout %q, stderr\n%s\nwant exit 2, stderr\n%s...", r.code, r.stdout, r.stderr, want)
	}

	// No roles, a template that does not parse and a command not installed:
	// all three.
	writeFiles(t, dir, map[string]string{"entry.yml": "render:\n  templates:\n    - {src: bad.erb, dst: out/bad}\n"})
	r = runEntry(t, dir, nil, "config", "check")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "entry: nothing to run: entry.yml configures no roles") ||
		!strings.Contains(r.stderr, "\nentry: render: bad.erb:1:") {
		t.Errorf("no roles: exit %d, stderr\n%s", r.code, r.stderr)
	}
	r = runEntry(t, dir, nil, "config", "check", "--", "no-such-program-xyz", "arg")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "entry: -- 'no-such-program-xyz' 'arg': cannot run: no-such-program-xyz: command not found (install it in the image, or fix the command; PATH=") ||
		!strings.Contains(r.stderr, "\nentry: render: bad.erb:1:") {
		t.Errorf("-- CMD: exit %d, stderr\n%s", r.code, r.stderr)
	}
	if after := testtool.DirNames(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("config check wrote files: %v -> %v", before, after)
	}
}

// Without a key where config check runs (a docker build), the plan says
// where start-up will look for one.
func TestConfigCheckNoKey(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "secrets:\n  vaults:\n    - {src: a.enc, dst: a}\n"})
	r := runEntry(t, dir, nil, "config", "check", "--", "true")
	want := " 1. secrets: key: none configured here; start-up needs one: set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM in the container's environment, or secrets.key_file or secrets.key_ssm in entry.yml\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "key from no key") {
		t.Errorf("exit %d, stdout\n%s\nwant it to contain\n%s", r.code, r.stdout, want)
	}
}

// entry render SRC SRC would overwrite the template: refused, and the
// template is left as it was.
func TestRenderOverItself(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yml.erb": "<%= 1 %>\n"})
	r := runEntry(t, dir, nil, "render", "a.yml.erb", "./a.yml.erb")
	want := "entry: render: DST ./a.yml.erb is the template itself; rendering would overwrite it (give another DST)\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("got exit %d, %q; want 2, %q", r.code, r.stderr, want)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "a.yml.erb")); string(data) != "<%= 1 %>\n" {
		t.Errorf("the template changed: %q", data)
	}
}

// entry assets fetch URL DST blames the command line for a bad URL or DST,
// not entry.yml (there may be none), and writes nothing.
func TestAssetsFetchBlamesTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ src, dst, want string }{
		{"notaurl", "out", `entry: assets fetch: "notaurl" is not an s3://BUCKET/KEY URL` + "\n"},
		{"s3://", "out", `entry: assets fetch: "s3://" is not an s3://BUCKET/KEY URL (it needs a bucket and a key naming one object)` + "\n"},
		{"s3://b/k", "dir/", `entry: assets fetch: DST "dir/": name the file to write, such as dir/k` + "\n"},
	} {
		r := runEntry(t, dir, nil, "assets", "fetch", tt.src, tt.dst)
		if r.code != 2 || r.stderr != tt.want {
			t.Errorf("%s %s: got exit %d, %q; want 2, %q", tt.src, tt.dst, r.code, r.stderr, tt.want)
		}
	}
	if names := testtool.DirNames(t, dir); len(names) != 0 {
		t.Errorf("files written: %v", names)
	}
}

// config check prints each problem of entry.yml on its own "entry:" line.
func TestConfigCheckEveryConfigProblem(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    a: 42\n    b: {command: x, signals: {CHLD: TERM}}\n"})
	r := runEntry(t, dir, nil, "config", "check")
	want := "entry: entry.yml:3: roles.web.a: want a command (a string or a list of strings) or a mapping, got 42 (quote it if 42 is the command)\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("a: 42: got exit %d, %q; want 2, %q", r.code, r.stderr, want)
	}
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    a: {command: x, stop_timeout: -5s}\n"})
	r = runEntry(t, dir, nil, "config", "check")
	want = "entry: entry.yml:3: roles.web.a.stop_timeout: \"-5s\" is negative (give 0 or more, like 25s)\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("-5s: got exit %d, %q; want 2, %q", r.code, r.stderr, want)
	}
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    a: {command: x, stop_signal: TSTP}\n    b: {command: y, signals: {CHLD: TERM}}\n"})
	r = runEntry(t, dir, nil, "config", "check")
	want = "entry: entry.yml:3: roles.web.a: stop_signal: TSTP pauses or resumes a process and never stops it; use TERM (the default), INT, QUIT or USR1\n" +
		"entry: entry.yml:4: roles.web.b: signals: CHLD is never forwarded (entry reaps children with it), so it cannot be rewritten\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("signals: got exit %d, %q; want 2, %q", r.code, r.stderr, want)
	}
}

// An age key file that is a FIFO or a device is refused at once, by name.
func TestKeyFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "no age key: --key-file " + fifo + ": is a FIFO, not a regular file; give the path of an age key file",
		"/dev/zero": "no age key: --key-file /dev/zero: is a character device, not a regular file; give the path of an age key file",
	} {
		ks := secrets.KeySource{File: path, Lookup: func(string) (string, bool) { return "", false }}
		done := make(chan error, 1)
		go func() { _, _, err := ks.Identities(context.Background()); done <- err }()
		select {
		case err := <-done:
			if err == nil || err.Error() != want {
				t.Errorf("%s:\n got %v\nwant %s", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: reading the key did not return within 10s", path)
		}
	}
}
