package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
	"github.com/entryhq/entry/supervise"
)

// jsonLines parses every line of out as one JSON object, failing the test
// on the first line that is not.
func jsonLines(t *testing.T, what, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("%s: a line is not one JSON object: %q (%v)\n%s", what, line, err, out)
		}
		objs = append(objs, obj)
	}
	return objs
}

// findEvent returns the first entry event named name, or fails.
func findEvent(t *testing.T, objs []map[string]any, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o["event"] == name && o["stream"] == "entry" && (match == nil || match(o)) {
			return o
		}
	}
	t.Fatalf("no %q event among:\n%s", name, dumpObjs(objs))
	return nil
}

func dumpObjs(objs []map[string]any) string {
	var b strings.Builder
	for _, o := range objs {
		j, _ := json.Marshal(o)
		fmt.Fprintf(&b, "%s\n", j)
	}
	return b.String()
}

// wantFields checks that o has each field with the value given; a nil
// value only asks for the field to be there.
func wantFields(t *testing.T, o map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := o[k]
		if !ok || (v != nil && got != v) {
			j, _ := json.Marshal(o)
			t.Errorf("event %v: %s = %v, want %v\n%s", o["event"], k, got, v, j)
		}
	}
}

const secretValue = "s3cr3t-v4lue-never-logged"

// In json log format every line entry writes, as PID 1, is one JSON
// object: the hook's events and output, the role's events with their
// fields (a process that exits 3 and restarts, then gives up; a cron job
// that fails), and the last line; no environment value appears.
func TestJSONEventsAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".env": "API_TOKEN=" + secretValue + "\n",
		"entry.yml": `control_socket: none
log_format: json
hooks:
  - {name: greet, run: "echo hello from the hook; echo warning from the hook >&2"}
roles:
  web:
    app:
      # waits (bounded) for the cron job's first run, then exits 3
      command: "i=0; while [ ! -e cron-ran ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 3"
      restart: on-failure
      max_restarts: 1
    cron: {crontab: crontab, essential: false}
`,
		// The variable below every job draws a warning while the role is
		// prepared: JSON as well.
		"crontab": "# entry: name=nightly\n* * * * * * touch cron-ran; exit 5\nLATE=1\n",
	})
	r := startEntry(t, dir, nil, true, "role=web")
	if code := r.wait(60 * time.Second); code != 3 {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	out, errs := r.stdout.String(), r.stderr.String()
	if strings.Contains(out+errs, secretValue) {
		t.Errorf("an environment value was logged:\n%s\n%s", out, errs)
	}
	stdout, stderr := jsonLines(t, "stdout", out), jsonLines(t, "stderr", errs)
	for _, o := range append(append([]map[string]any{}, stdout...), stderr...) {
		wantFields(t, o, map[string]any{"time": nil, "role": "web", "process": nil, "stream": nil, "line": nil})
		if o["stream"] == "entry" {
			wantFields(t, o, map[string]any{"event": nil})
		}
	}

	hookLine := func(stream, line string) func(map[string]any) bool {
		return func(o map[string]any) bool { return o["stream"] == stream && o["line"] == line }
	}
	var found bool
	for _, o := range stdout {
		found = found || hookLine("stdout", "hello from the hook")(o) && o["process"] == "hook:greet"
	}
	for _, o := range stderr {
		if hookLine("stderr", "warning from the hook")(o) && o["process"] != "hook:greet" {
			t.Errorf("hook stderr line labelled %v", o["process"])
		}
	}
	if !found {
		t.Errorf("the hook's stdout line is not labelled hook:greet:\n%s", out)
	}
	findEvent(t, stderr, "note", func(o map[string]any) bool {
		return strings.HasPrefix(o["line"].(string), "cron: warning: crontab:3: LATE= applies to no job")
	})
	wantFields(t, findEvent(t, stderr, "hook_started", nil), map[string]any{"hook": "greet", "step": "hooks"})
	wantFields(t, findEvent(t, stderr, "hook_ok", nil), map[string]any{"hook": "greet", "exit_code": 0.0, "duration_ms": nil})

	started := findEvent(t, stderr, "started", func(o map[string]any) bool { return o["process"] == "app" })
	wantFields(t, started, map[string]any{"pid": nil})
	restarting := findEvent(t, stderr, "restarting", nil)
	wantFields(t, restarting, map[string]any{"process": "app", "exit_code": 3.0, "restarts": 1.0, "delay_ms": 1000.0,
		"duration_ms": nil, "pid": started["pid"], "line": "exited with 3; restarting in 1s (restart: on-failure)"})
	wantFields(t, findEvent(t, stderr, "started", func(o map[string]any) bool { return o["process"] == "app" && o["restarts"] == 1.0 }),
		map[string]any{"pid": nil})
	wantFields(t, findEvent(t, stderr, "gave_up", nil), map[string]any{"process": "app", "exit_code": 3.0, "restarts": 1.0})

	run := findEvent(t, stderr, "cron_run", nil)
	wantFields(t, run, map[string]any{"process": "cron", "job": "nightly", "pid": nil, "due": nil})
	due, err := time.Parse(time.RFC3339, run["due"].(string))
	if err != nil || due.IsZero() {
		t.Errorf("due %v is not RFC 3339: %v", run["due"], err)
	}
	failed := findEvent(t, stderr, "cron_failed", nil)
	wantFields(t, failed, map[string]any{"process": "cron", "job": "nightly", "outcome": "failed", "exit_code": 5.0,
		"due": run["due"], "pid": run["pid"], "duration_ms": nil})

	last := stderr[len(stderr)-1]
	wantFields(t, last, map[string]any{"event": "role_stopped", "exit_code": 3.0, "line": "role web stopped, exit code 3"})

	checkDocFilters(t, stderr)
}

// A hook that fails stops start-up with one JSON line that names it, with
// its exit code; the lines before entry.yml is read (a YAML error) are JSON
// when ENTRY_LOG_FORMAT says so.
func TestJSONStartupFailuresAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": `control_socket: none
log_format: json
hooks:
  - {name: migrate, run: "echo migrating; exit 4"}
roles:
  web:
    app: sleep 100
`})
	r := startEntry(t, dir, nil, true, "role=web")
	if code := r.wait(30 * time.Second); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, r.stderr.String())
	}
	stderr := jsonLines(t, "stderr", r.stderr.String())
	jsonLines(t, "stdout", r.stdout.String())
	failed := findEvent(t, stderr, "hook_failed", nil)
	wantFields(t, failed, map[string]any{"hook": "migrate", "exit_code": 4.0, "step": "hooks", "role": "web",
		"line": `hook "migrate" ("echo migrating; exit 4") exited 4`})
	if last := stderr[len(stderr)-1]; last["event"] != "hook_failed" {
		t.Errorf("the last line is not the failure: %v", last)
	}
	if strings.Contains(r.stderr.String(), `"event":"started"`) {
		t.Errorf("a process was started after the hook failed:\n%s", r.stderr.String())
	}

	bad := t.TempDir()
	writeFiles(t, bad, map[string]string{"entry.yml": "roles: [\n"})
	r = startEntry(t, bad, []string{"ENTRY_LOG_FORMAT=json"}, true, "role=web")
	if code := r.wait(30 * time.Second); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, r.stderr.String())
	}
	stderr = jsonLines(t, "stderr", r.stderr.String())
	e := findEvent(t, stderr, "error", nil)
	wantFields(t, e, map[string]any{"exit_code": 2.0, "process": "entry"})
	if !strings.Contains(e["line"].(string), "entry.yml") {
		t.Errorf("the error does not name entry.yml: %v", e["line"])
	}
}

// A CloudWatch Logs JSON filter term: $.field OP value.
var filterTerm = regexp.MustCompile(`^\$\.([a-z_]+)\s*(=|!=|>=|<=|>|<)\s*("[^"]*"|-?[0-9.]+)$`)

// docFilterPatterns returns the metric filter patterns of docs/supervise.md:
// those of the recipes (--filter-pattern '…', pattern = "…") and the
// inline examples.
func docFilterPatterns(t *testing.T) (recipes, all []string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(testtool.RepoRoot(t), "docs", "supervise.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`--filter-pattern '([^']*)'`).FindAllStringSubmatch(string(doc), -1) {
		recipes = append(recipes, m[1])
	}
	for _, m := range regexp.MustCompile(`pattern\s+= "((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(doc), -1) {
		recipes = append(recipes, strings.ReplaceAll(m[1], `\"`, `"`))
	}
	inline := regexp.MustCompile("`(\\{ \\$\\.[^`]*\\})`")
	for _, m := range inline.FindAllStringSubmatch(strings.ReplaceAll(string(doc), "\n", " "), -1) {
		all = append(all, m[1])
	}
	if len(recipes) < 4 {
		t.Fatalf("found %d recipe patterns in docs/supervise.md: %q", len(recipes), recipes)
	}
	return recipes, append(all, recipes...)
}

// docEventNames are the names of the event table of docs/supervise.md.
func docEventNames(t *testing.T) map[string]bool {
	doc, err := os.ReadFile(filepath.Join(testtool.RepoRoot(t), "docs", "supervise.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| (`[a-z_]+`(?:, `[a-z_]+`)*) \\| ").FindAllStringSubmatch(string(doc), -1) {
		for _, n := range strings.Split(m[1], ", ") {
			names[strings.Trim(n, "`")] = true
		}
	}
	return names
}

// filterTerms splits a pattern "{ A && B }" (or ||) into its terms.
func filterTerms(t *testing.T, pattern string) [][]string {
	t.Helper()
	body, ok := strings.CutPrefix(strings.TrimSpace(pattern), "{")
	body, ok2 := strings.CutSuffix(strings.TrimSpace(body), "}")
	if !ok || !ok2 {
		t.Fatalf("pattern %q is not { … }", pattern)
	}
	var terms [][]string
	for _, part := range regexp.MustCompile(`\s*(?:&&|\|\|)\s*`).Split(strings.TrimSpace(body), -1) {
		m := filterTerm.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("pattern %q: cannot read term %q", pattern, part)
		}
		terms = append(terms, m[1:])
	}
	return terms
}

// checkDocFilters checks the documented metric filter patterns against
// the events a real run wrote: every field they name is one entry writes,
// every event name they compare with is documented, and each recipe's
// pattern finds its event among the real lines (its numeric terms compare
// with a number there).
func checkDocFilters(t *testing.T, events []map[string]any) {
	known := map[string]bool{"time": true, "role": true, "process": true, "stream": true, "line": true}
	for _, f := range supervise.EventFieldNames {
		known[f] = true
	}
	names := docEventNames(t)
	if !names["cron_failed"] || !names["restarting"] {
		t.Fatalf("the event table of docs/supervise.md was not found: %v", names)
	}
	recipes, all := docFilterPatterns(t)
	for _, p := range all {
		for _, term := range filterTerms(t, p) {
			if !known[term[0]] {
				t.Errorf("pattern %q: entry writes no field %q", p, term[0])
			}
			if term[0] == "event" && !names[strings.Trim(term[2], `"`)] {
				t.Errorf("pattern %q: event %s is not in the event table", p, term[2])
			}
		}
	}
	for _, p := range recipes {
		terms := filterTerms(t, p)
		matched := false
		for _, ev := range events {
			ok := true
			for _, term := range terms {
				v, has := ev[term[0]]
				if !has {
					ok = false
					break
				}
				if strings.HasPrefix(term[2], `"`) {
					ok = ok && term[1] == "=" && v == strings.Trim(term[2], `"`)
				} else if _, isNum := v.(float64); !isNum {
					ok = false
				}
			}
			matched = matched || ok
		}
		if !matched {
			t.Errorf("pattern %q matches no event entry wrote:\n%s", p, dumpObjs(events))
		}
	}
}

// As PID 1 in json format, an after: target that never becomes ready is a
// not_ready event, and the process waiting for it a start_failed one with
// exit code 1; the role's last line carries entry's exit code.
func TestJSONNotReadyEventsAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": `control_socket: none
log_format: json
roles:
  job:
    redis: {command: sleep 1000, ready: "test -f never", ready_timeout: 1s}
    sidekiq: {command: echo ran, after: [redis]}
`})
	r := startEntry(t, dir, nil, true, "role=job")
	if code := r.wait(60 * time.Second); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, r.stderr.String())
	}
	stderr := jsonLines(t, "stderr", r.stderr.String())
	wantFields(t, findEvent(t, stderr, "not_ready", nil), map[string]any{"process": "redis", "pid": nil, "duration_ms": 1000.0})
	wantFields(t, findEvent(t, stderr, "start_failed", nil), map[string]any{"process": "sidekiq", "exit_code": 1.0})
	wantFields(t, stderr[len(stderr)-1], map[string]any{"event": "role_stopped", "exit_code": 1.0})
}
