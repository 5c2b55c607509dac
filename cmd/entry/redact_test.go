package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// TestConfigCheckMasksPasswords: the plan of entry config check shows a
// ready: URL and a hook's command with the password masked; a ready: URL
// that does not parse is refused without it.
func TestConfigCheckMasksPasswords(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": `hooks:
  - "true http://app:hookpass77@db/x"
roles:
  web:
    app: {command: "true", ready: "http://u:topsecret99@127.0.0.1:3000/up"}
`})
	r := runEntry(t, dir, nil, "config", "check")
	want := "config entry.yml: valid\n" +
		" 1. hooks: run hook 1 \"true http://app:xxxxx@db/x\"\n" +
		" 2. start role web:\n" +
		"      app: true (ready http://u:xxxxx@127.0.0.1:3000/up)\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d stdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    app: {command: \"true\", ready: \"http://u:topsecret99@127.0.0.1:99x/up\"}\n"})
	r = runEntry(t, dir, nil, "config", "check")
	wantErr := "entry: entry.yml:3: roles.web.app: ready: parse \"http://u:xxxxx@127.0.0.1:99x/up\": invalid port \":99x\" after host\n"
	if r.code != 2 || r.stderr != wantErr {
		t.Errorf("exit %d stderr:\n%s\nwant:\n%s", r.code, r.stderr, wantErr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, "topsecret99") || strings.Contains(out, "hookpass77") {
			t.Errorf("a password is shown:\n%s", out)
		}
	}
}

// TestReadyLogMasksPassword: the supervisor's ready line and entry health
// name an http:// check with the password masked, while the check itself
// still sends it.
func TestReadyLogMasksPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "topsecret99" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	// The ready check runs while a process waits for it (after:).
	url := strings.Replace(srv.URL, "http://", "http://u:topsecret99@", 1) + "/up"
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	loop := "trap 'exit 0' TERM; echo up; while :; do sleep 0.05; done"
	writeFiles(t, dir, map[string]string{"entry.yml": fmt.Sprintf("roles:\n  web:\n    puma: {command: %q, ready: %q}\n    worker: {command: %q, after: [puma]}\n", loop, url, loop)})
	r := startEntry(t, dir, env, true, "role=web")
	masked := strings.Replace(url, "topsecret99", "xxxxx", 1)
	r.waitFor("entry: puma: ready ("+masked+")", testtool.Patience)
	waitSocket(t, r, sock)
	if res := runEntry(t, dir, env, "ctl", "status"); res.code != 0 || strings.Contains(res.stdout, "topsecret99") {
		t.Errorf("ctl status: %+v", res)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), "topsecret99") {
		t.Errorf("the log shows the password:\n%s", r.stderr.String())
	}
}
