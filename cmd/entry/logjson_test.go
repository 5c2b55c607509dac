package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// As PID 1, a process's JSON log line (lograge) comes out as one object
// with entry's fields merged in, in json and prefix format alike.
func TestJSONLogLinesMergedAsPID1(t *testing.T) {
	for _, format := range []string{"json", "prefix"} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"entry.yml": "control_socket: none\nroles:\n  web:\n    puma: |\n      echo '{\"method\":\"GET\",\"path\":\"/up\",\"status\":200}'; echo plain\n"})
		r := startEntry(t, dir, nil, true, "--log-format", format, "role=web")
		if code := r.wait(30 * time.Second); code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, r.stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: stdout:\n%s", format, r.stdout.String())
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &obj); err != nil {
			t.Fatalf("%s: %q is not one JSON object: %v", format, lines[0], err)
		}
		if obj["process"] != "puma" || obj["stream"] != "stdout" || obj["status"] != 200.0 || obj["line"] != nil {
			t.Errorf("%s: merged object %s", format, lines[0])
		}
		if format == "prefix" && lines[1] != "puma | plain" {
			t.Errorf("prefix: plain line %q", lines[1])
		}
		if format == "json" && (obj["role"] != "web" || !strings.Contains(lines[1], `"line":"plain"`)) {
			t.Errorf("json: %s / %s", lines[0], lines[1])
		}
	}
}
