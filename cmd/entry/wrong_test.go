package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCLIAcceptedThoughWrong: command lines and config that entry used to
// run in a way the user did not mean are refused with the place and the
// fix, exit 2, and nothing runs.
func TestCLIAcceptedThoughWrong(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"t.erb":     "x: <%= 1 %>\n",
		"out/.keep": "",
		"crontab":   "* * * * * touch ran\n",
		"roles.yml": "roles:\n  web:\n    app: touch ran\n  job:\n    worker: touch ran\n",
		"port.yml":  "roles:\n  web:\n    app: {command: touch ran, ready: \"tcp://127.0.0.1:99999\"}\n    after: {command: touch ran, after: [app]}\n",
		"owner.yml": "render:\n  templates:\n    - {src: t.erb, dst: out/t, owner: nosuchuser}\n",
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "roles.yml", "web", "job"},
			`entry: web is a role of roles.yml, but more words follow (job): entry starts one role, named alone (entry web), and runs a command after -- (entry -- web job)`},
		{[]string{"render", "t.erb", "out"},
			"entry: render: DST out is a directory; give the file to write, e.g. out/t"},
		{[]string{"cron", "run", "--stop-timeout=-5s", "crontab"},
			"entry: cron run: --stop-timeout -5s: give a positive duration, like 25s (the default)"},
		{[]string{"cron", "run", "--stop-timeout=0s", "crontab"},
			"entry: cron run: --stop-timeout 0s: give a positive duration, like 25s (the default)"},
		{[]string{"config", "check", "--config", "port.yml"},
			"entry: port.yml:3: roles.web.app: ready: tcp://127.0.0.1:99999: port 99999 is not a TCP port (1 to 65535)"},
		{[]string{"--config", "port.yml", "role=web"},
			"entry: port.yml:3: roles.web.app: ready: tcp://127.0.0.1:99999: port 99999 is not a TCP port (1 to 65535)"},
		{[]string{"config", "check", "--config", "owner.yml", "--", "true"},
			`entry: owner.yml: render.templates[0]: owner "nosuchuser": no such user in this image`},
	} {
		r := runEntry(t, dir, nil, tc.args...)
		if r.code != 2 || r.stdout != "" || r.stderr != tc.want+"\n" {
			t.Errorf("entry %q: exit %d stdout %q stderr:\n%s\nwant exit 2 and\n%s", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	for _, p := range []string{"ran", "out/t"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s exists: something ran", p)
		}
	}
	// One role alone still starts it; a command after -- still runs.
	if r := runEntry(t, dir, nil, "--config", "roles.yml", "--", "echo", "web", "job"); r.code != 0 || r.stdout != "web job\n" {
		t.Errorf("entry -- echo web job: %+v", r)
	}
}
