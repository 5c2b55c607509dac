package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/prehook"
)

const dbTemplate = `production:
  url: <%= ENV.fetch('DATABASE_URL') %>
  pool: <%= ENV['DB_POOL'] || 5 %>
<%- if ENV['REPLICA_URL'] -%>
  replica: <%= ENV['REPLICA_URL'] %>
<%- end -%>
`

// readFile returns the content of dir/name, or "<missing>".
func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tempFiles lists leftover renameio temporary files (".name1234") in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasPrefix(info.Name(), ".") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func TestRenderCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"db.yml.erb": dbTemplate})
	os.Chmod(filepath.Join(dir, "db.yml.erb"), 0o640)

	// To standard output.
	r := runEntry(t, dir, []string{"DATABASE_URL=postgres://db/app", "REPLICA_URL=postgres://r/app"}, "render", "db.yml.erb")
	want := "production:\n  url: postgres://db/app\n  pool: 5\n  replica: postgres://r/app\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("render to stdout: %+v, want %q", r, want)
	}

	// To a file, atomically, with the template's mode.
	r = runEntry(t, dir, []string{"DATABASE_URL=postgres://db/app", "DB_POOL=20"}, "render", "db.yml.erb", "config/database.yml")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("render to file: %+v", r)
	}
	if got := readFile(t, dir, "config/database.yml"); got != "production:\n  url: postgres://db/app\n  pool: 20\n" {
		t.Errorf("config/database.yml = %q", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "config/database.yml")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, %v; want the template's 0640", st.Mode(), err)
	}

	// A render failure leaves the destination as it was and no temp file.
	r = runEntry(t, dir, nil, "render", "db.yml.erb", "config/database.yml")
	wantErr := `entry: render: db.yml.erb:2:12: ENV.fetch('DATABASE_URL'): DATABASE_URL is not set (set it, or give a default: ENV.fetch("DATABASE_URL", default))` + "\n"
	if r.code != 1 || r.stderr != wantErr || r.stdout != "" {
		t.Errorf("unset fetch: code %d stderr %q, want 1 %q", r.code, r.stderr, wantErr)
	}
	if got := readFile(t, dir, "config/database.yml"); got != "production:\n  url: postgres://db/app\n  pool: 20\n" {
		t.Errorf("failed render changed the destination: %q", got)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// --strict through its environment variable.
	r = runEntry(t, dir, []string{"DATABASE_URL=x", "ENTRY_RENDER_STRICT=true"}, "render", "db.yml.erb")
	if r.code != 0 { // ENV['DB_POOL'] || 5 and if ENV['REPLICA_URL'] only test the variables
		t.Errorf("strict with guarded lookups: %+v", r)
	}
	writeFiles(t, dir, map[string]string{"img.erb": `"image": "<%= ENV['DOCKER_REPO'] %>:web-b<%= ENV['CIRCLE_BUILD_NUM'] %>"`})
	r = runEntry(t, dir, []string{"DOCKER_REPO=repo"}, "render", "--strict", "img.erb")
	wantErr = `entry: render: img.erb:1:46: ENV['CIRCLE_BUILD_NUM']: CIRCLE_BUILD_NUM is not set (strict mode: set it, or give a default with ENV.fetch("CIRCLE_BUILD_NUM", default))` + "\n"
	if r.code != 1 || r.stderr != wantErr || r.stdout != "" {
		t.Errorf("strict: %+v, want stderr %q", r, wantErr)
	}
	r = runEntry(t, dir, []string{"DOCKER_REPO=repo"}, "render", "img.erb")
	if r.code != 0 || r.stdout != `"image": "repo:web-b"` {
		t.Errorf("lax: %+v", r)
	}
}

func TestRenderCommandErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"good.erb":            "<%= ENV['X'] %>\n",
		"docker/database.erb": "a\nb\nc\nd\ne\nf\nhost: <%= Rails.logger %>\n",
		"unbalanced.erb":      "<% if true %>\nyes\n",
		"dst.yml":             "old content\n",
	})
	// A template over the 10 MiB cap (sparse: its size is what counts) and
	// a FIFO are refused before they are read.
	if err := os.WriteFile(filepath.Join(dir, "big.erb"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "big.erb"), 11<<20); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.erb"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"render", "docker/database.erb", "dst.yml"}, 1, "",
			"entry: render: docker/database.erb:7:11: unsupported Ruby: Rails.logger (entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...])\n"},
		{[]string{"render", "unbalanced.erb", "dst.yml"}, 1, "", "entry: render: unbalanced.erb:1:1: if without end (add <% end %>)\n"},
		{[]string{"render", "missing.erb"}, 1, "", "entry: render: missing.erb: no such template (check the path)\n"},
		{[]string{"render", "big.erb", "dst.yml"}, 1, "", "entry: render: big.erb: 11 MiB is larger than the 10 MiB cap for a template\n"},
		{[]string{"render", "--check", "fifo.erb"}, 1, "", "entry: render: fifo.erb: is a FIFO, not a regular file; give the path of a template\n" +
			"entry: render: 1 of 1 templates failed to parse\n"},
		{[]string{"render"}, 2, "", "entry: render: want SRC [DST], got 0 arguments (see 'entry render --help')\n"},
		{[]string{"render", "a", "b", "c"}, 2, "", "entry: render: want SRC [DST], got 3 arguments (see 'entry render --help')\n"},
		{[]string{"render", "--check"}, 2, "", "entry: render --check: want at least one SRC (see 'entry render --help')\n"},
		{[]string{"render", "--bogus", "good.erb"}, 2, "", "entry: render: unknown flag: --bogus (see 'entry render --help')\n"},
		{[]string{"render", "--check", "good.erb", "docker/database.erb", "unbalanced.erb"}, 1, "ok good.erb\n",
			"entry: render: docker/database.erb:7:11: unsupported Ruby: Rails.logger (entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...])\n" +
				"entry: render: unbalanced.erb:1:1: if without end (add <% end %>)\n" +
				"entry: render: 2 of 3 templates failed to parse\n"},
		{[]string{"render", "--check", "good.erb"}, 0, "ok good.erb\n", ""},
	}
	for _, tt := range tests {
		r := runEntry(t, dir, nil, tt.args...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
			t.Errorf("entry %v:\n got %d %q %q\nwant %d %q %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
		if got := readFile(t, dir, "dst.yml"); got != "old content\n" {
			t.Errorf("entry %v changed dst.yml to %q", tt.args, got)
		}
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRenderHelp(t *testing.T) {
	r := runEntry(t, t.TempDir(), nil, "render", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "entry render docker/config/database.yml.erb config/database.yml") ||
		!strings.Contains(r.stdout, "$ENTRY_RENDER_STRICT") || !strings.Contains(r.stdout, "--check") {
		t.Errorf("help: %+v", r)
	}
	// The example in the help text works as written.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"docker/config/database.yml.erb": dbTemplate})
	r = runEntry(t, dir, []string{"DATABASE_URL=postgres://x"}, "render", "docker/config/database.yml.erb", "config/database.yml")
	if r.code != 0 || readFile(t, dir, "config/database.yml") != "production:\n  url: postgres://x\n  pool: 5\n" {
		t.Errorf("help example: %+v", r)
	}
}

// TestRenderStartup runs the render step of the start-up pipeline through
// the binary: a file pair, a glob into a directory, modes, and the log.
func TestRenderStartup(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": `render:
  templates:
    - {src: docker/config/database.yml.erb, dst: config/database.yml, mode: "0600"}
    - {src: "docker/templates/*.erb", dst: config/}
`,
		"docker/config/database.yml.erb": dbTemplate,
		"docker/templates/sidekiq.yml.erb": `:concurrency: <%= ENV.fetch('SIDEKIQ_CONCURRENCY', 10) %>
:queues:
<% ENV.fetch('QUEUES', 'default').split(',').each do |q| -%>
  - <%= q %>
<% end -%>
`,
		"docker/templates/cable.yml.erb": "production:\n  url: <%= ENV.fetch('REDIS_URL') { 'redis://localhost:6379/1' } %>\n",
	})
	os.Chmod(filepath.Join(dir, "docker/templates/cable.yml.erb"), 0o604)
	r := runEntry(t, dir, []string{"DATABASE_URL=postgres://db/app", "QUEUES=critical,default"}, "--", "cat", "config/database.yml", "config/sidekiq.yml", "config/cable.yml")
	want := "production:\n  url: postgres://db/app\n  pool: 5\n" +
		":concurrency: 10\n:queues:\n  - critical\n  - default\n" +
		"production:\n  url: redis://localhost:6379/1\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("start-up render: %+v\nwant stdout %q", r, want)
	}
	for _, line := range []string{
		"entry: render config/database.yml (from docker/config/database.yml.erb)\n",
		"entry: render config/cable.yml (from docker/templates/cable.yml.erb)\n",
		"entry: render config/sidekiq.yml (from docker/templates/sidekiq.yml.erb)\n",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	for name, mode := range map[string]os.FileMode{"config/database.yml": 0o600, "config/cable.yml": 0o604, "config/sidekiq.yml": 0o644} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", name, st.Mode().Perm(), err, mode)
		}
	}

	// config check prints the plan without writing.
	os.RemoveAll(filepath.Join(dir, "config"))
	r = runEntry(t, dir, nil, "config", "check", "--", "true")
	if !strings.Contains(r.stdout, "render: render config/database.yml (from docker/config/database.yml.erb)") ||
		!strings.Contains(r.stdout, "render: render config/sidekiq.yml (from docker/templates/sidekiq.yml.erb)") {
		t.Errorf("config check: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "config")); !os.IsNotExist(err) {
		t.Errorf("config check wrote files: %v", err)
	}
}

// TestRenderStartupAllOrNothing shows that one bad template stops start-up
// before any file is written, and the old files stay.
func TestRenderStartupAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": `render:
  templates:
    - {src: a.yml.erb, dst: config/a.yml}
    - {src: b.yml.erb, dst: config/b.yml}
`,
		"a.yml.erb":    "a: <%= ENV['A'] %>\n",
		"b.yml.erb":    "b: <%= Rails.cache %>\n",
		"config/a.yml": "old a\n",
		"config/b.yml": "old b\n",
	})
	r := runEntry(t, dir, []string{"A=new"}, "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "b.yml.erb:1:8: unsupported Ruby: Rails.cache (entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...]); nothing was written") {
		t.Errorf("bad template: %+v", r)
	}
	// A render-time failure in the second template also writes nothing.
	writeFiles(t, dir, map[string]string{"b.yml.erb": "b: <%= ENV.fetch('B') %>\n"})
	r = runEntry(t, dir, []string{"A=new"}, "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "b.yml.erb:1:8: ENV.fetch('B'): B is not set") {
		t.Errorf("unset fetch: %+v", r)
	}
	if a, b := readFile(t, dir, "config/a.yml"), readFile(t, dir, "config/b.yml"); a != "old a\n" || b != "old b\n" {
		t.Errorf("files changed by a failed start-up: %q %q", a, b)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// strict: true in the config.
	writeFiles(t, dir, map[string]string{
		"entry.yml": "render:\n  strict: true\n  templates:\n    - {src: a.yml.erb, dst: config/a.yml}\n",
	})
	r = runEntry(t, dir, nil, "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "a.yml.erb:1:8: ENV['A']: A is not set (strict mode") {
		t.Errorf("strict config: %+v", r)
	}
	// A glob that matches nothing is a mistake.
	writeFiles(t, dir, map[string]string{"entry.yml": "render:\n  templates:\n    - {src: 'nope/*.erb', dst: config/}\n"})
	r = runEntry(t, dir, nil, "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "render: nope/*.erb matches no template (check render.templates in the config)") {
		t.Errorf("empty glob: %+v", r)
	}
}

// TestRenderEntryKit runs entry invoked as `render`: X.tmpl -> X.
func TestRenderEntryKit(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "render")
	if err := os.Symlink(entryBin, link); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"nginx.conf.tmpl": "listen <%= ENV.fetch('PORT', '80') %>;\n",
		"app.conf.tmpl":   "name <%= ENV['NAME'] %>;\n",
		"sigil.conf.tmpl": "listen {{ var \"PORT\" }};\n",
	})
	r := runBinary(t, link, dir, []string{"PORT=8080", "NAME=shop"}, "nginx.conf", "app.conf.tmpl", "--", "cat", "nginx.conf", "app.conf")
	if r.code != 0 || r.stdout != "listen 8080;\nname shop;\n" {
		t.Errorf("entrykit render: %+v", r)
	}
	r = runBinary(t, link, dir, nil, "sigil.conf", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "sigil.conf.tmpl: looks like an EntryKit (sigil) template; entry renders ERB") {
		t.Errorf("sigil template: %+v", r)
	}
	if got := readFile(t, dir, "sigil.conf"); got != "<missing>" {
		t.Errorf("sigil.conf written: %q", got)
	}
}

// TestRenderStartupCommandEnvironment: a template's command at start-up
// sees the environment being built (.env files, secrets), not only entry's
// own.
func TestRenderStartupCommandEnvironment(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.yml.erb": "rev: <%= `echo \"$FROM_DOTENV\"`.strip %>\n"})
	env := prehook.EnvFromList([]string{"PATH=" + os.Getenv("PATH")})
	env.Set("FROM_DOTENV", "built")
	jobs := []prehook.RenderJob{{Src: filepath.Join(dir, "app.yml.erb"), Dst: filepath.Join(dir, "app.yml")}}
	if err := prehook.RenderJobs(jobs, env, false, prehook.StderrLogger); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "app.yml"); got != "rev: built\n" {
		t.Errorf("app.yml = %q, want the built environment's value", got)
	}
}
