package config

import (
	"testing"
	"time"
)

// ready_timeout is read and checked; "all" is not a process name, because
// entry ctl restart all means every process (issue 23).
func TestReadyTimeoutAndReservedName(t *testing.T) {
	const web = "roles:\n  web:\n"
	f, err := Parse("entry.yml", []byte(web+"    puma: {command: x, ready: \"tcp://127.0.0.1:3000\", ready_timeout: 2m}\n"))
	if err != nil || f.Roles[0].Processes[0].ReadyTimeout != 2*time.Minute {
		t.Fatalf("ready_timeout 2m: %+v %v", f, err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"negative", web + "    puma: {command: x, ready: \"tcp://127.0.0.1:3000\", ready_timeout: -1s}\n", `entry.yml:3: roles.web.puma.ready_timeout: "-1s" is negative (give 0 or more, like 25s)`},
		{"without ready", web + "    puma: {command: x, ready_timeout: 30s}\n", "entry.yml:3: roles.web.puma: ready_timeout 30s without ready: there is no check to wait for; add ready: (tcp://HOST:PORT, http://HOST:PORT/PATH or a command), or remove ready_timeout"},
		{"not a duration", web + "    puma: {command: x, ready: \"tcp://127.0.0.1:3000\", ready_timeout: 60}\n", ""},
		{"all", web + "    puma: x\n    all: y\n", `entry.yml:4: roles.web: process name "all" is reserved: entry ctl restart all (stop all, start all) means every process of the role; rename it`},
	} {
		_, err := Parse("entry.yml", []byte(tc.src))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
	// A role may still be called all: only process names are reserved.
	if _, err := Parse("entry.yml", []byte("roles:\n  all:\n    a: x\n")); err != nil {
		t.Errorf("role all: %v", err)
	}
}
