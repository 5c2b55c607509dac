package config

import (
	"bytes"
	"errors"
	"github.com/entryhq/entry/internal/readcap"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const fullConfig = `# A complete entry.yml.
env_files: [.env, {path: .env.local, required: false}]
render:
  templates:
    - {src: docker/config/database.yml.erb, dst: config/database.yml, mode: 0640}
secrets:
  vaults:
    - {src: config/secrets.yml.enc, dst: config/secrets.yml}
assets:
  bucket: my-assets
  skip_envs: [development, test]
hooks:
  - bundle exec rake db:create
  - name: setup
    run: sh ./docker/setup.sh
    timeout: 2m
default_role: web
log_format: json
roles:
  web:
    puma: bundle exec puma -C config/puma.rb
  job:
    sidekiq:
      command: [bundle, exec, sidekiq]
      stop_signal: TERM
      stop_timeout: 20s
      signals: {HUP: USR1}
    cron: {crontab: config/crontab, after: [sidekiq]}
deploy:
  cluster: prod
  services: [web, job]
  timeout: 10m
`

func TestParseFull(t *testing.T) {
	f, err := Parse("entry.yml", []byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	if want := []EnvFile{{".env", true}, {".env.local", false}}; !slices.Equal(f.EnvFiles, want) {
		t.Errorf("env_files = %+v, want %+v", f.EnvFiles, want)
	}
	if got := f.Roles.Names(); strings.Join(got, ",") != "web,job" {
		t.Errorf("roles in file order: got %v", got)
	}
	job := f.Roles.Get("job")
	if job == nil || len(job.Processes) != 2 {
		t.Fatalf("job role: %+v", job)
	}
	sk := job.Processes[0]
	if sk.Name != "sidekiq" || strings.Join(sk.Command.Argv, " ") != "bundle exec sidekiq" || sk.StopTimeout != 20*time.Second || sk.Signals["HUP"] != "USR1" || sk.Line != 23 {
		t.Errorf("sidekiq = %+v", sk)
	}
	if cron := job.Processes[1]; cron.Crontab != "config/crontab" || cron.After[0] != "sidekiq" {
		t.Errorf("cron = %+v", cron)
	}
	if h := f.Hooks[1]; h.Name != "setup" || h.Run != "sh ./docker/setup.sh" || h.Timeout != 2*time.Minute {
		t.Errorf("hook 2 = %+v", h)
	}
	if f.Hooks[0].Run != "bundle exec rake db:create" {
		t.Errorf("hook 1 = %+v", f.Hooks[0])
	}
	if m := f.Render.Templates[0].Mode; m == nil || *m != 0o640 {
		t.Errorf("mode = %v", m)
	}
	if f.DefaultRoleName() != "web" || f.LogFormat != "json" || f.Deploy.Timeout != 10*time.Minute {
		t.Errorf("top level: %+v", f)
	}
}

// Every class of bad input names the file, the line and the fix.
func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"syntax", "roles:\n  web: [\n", "entry.yml:2: YAML syntax: did not find expected node content"},
		{"unknown top-level key", "hoks: [x]\n", `entry.yml:1: unknown key "hoks" in top level (did you mean "hooks"?)`},
		{"unknown key, no suggestion", "zzzzzz: 1\n", `entry.yml:1: unknown key "zzzzzz" in top level (known keys: assets, control_socket, default_role, deploy, env_files, hooks, log_format, metrics, render, roles, secrets)`},
		{"unknown process key", "roles:\n  web:\n    app: {comand: x}\n", `entry.yml:3: unknown key "comand" in roles.web.app (did you mean "command"?)`},
		{"wrong type", "hooks: yes\n", `entry.yml:1: hooks: want a list, got "yes"`},
		{"wrong scalar type", "deploy:\n  keep: many\n", `entry.yml:2: deploy.keep: want a whole number, got "many"`},
		{"bad duration", "roles:\n  web:\n    app: {command: x, stop_timeout: 5}\n", `entry.yml:3: roles.web.app.stop_timeout: "5" is not a duration (write it like 25s, 2m or 1h30m)`},
		{"role without processes", "roles:\n  web:\n", `entry.yml:2: role "web" has no processes; give it at least one, e.g. web: {app: "bundle exec puma"}`},
		{"process without command", "roles:\n  web:\n    app: {stop_signal: TERM}\n", `entry.yml:3: roles.web.app: no command; give a command, or crontab: FILE for the cron scheduler`},
		{"command and crontab", "roles:\n  job:\n    cron: {command: x, crontab: y}\n", `entry.yml:3: roles.job.cron: give either command or crontab, not both`},
		{"unknown signal", "roles:\n  web:\n    app: {command: x, stop_signal: TERMINATE}\n", `entry.yml:3: roles.web.app: stop_signal: unknown signal "TERMINATE" (use a name such as TERM, QUIT or USR1)`},
		{"unknown rewritten signal", "roles:\n  web:\n    app: {command: x, signals: {HUP: USR9}}\n", `entry.yml:3: roles.web.app: signals: unknown signal "USR9" (use a name such as TERM, QUIT or USR1)`},
		{"bad restart", "roles:\n  web:\n    app: {command: x, restart: sometimes}\n", `entry.yml:3: roles.web.app: restart: "sometimes": want always, on-failure or never`},
		{"after unknown", "roles:\n  web:\n    app: {command: x, after: [db]}\n", `entry.yml:3: roles.web.app: after: "db" is not another process of role web`},
		{"duplicate role", "roles:\n  web: {a: x}\n  web: {b: y}\n", `entry.yml:3: roles: key "web" appears twice`},
		{"duplicate key", "hooks: []\nhooks: []\n", `entry.yml:2: top level: key "hooks" appears twice`},
		{"default role missing", "default_role: api\nroles:\n  web: {a: x}\n", `entry.yml: default_role "api" is not one of the roles (web)`},
		{"bad log format", "log_format: xml\n", `entry.yml: log_format "xml": want prefix, raw or json`},
		{"hook without run", "hooks:\n  - {name: x}\n", `entry.yml:2: hooks: a hook needs run: COMMAND`},
		{"bad mode", "render:\n  templates:\n    - {src: a, dst: b, mode: 0999}\n", `entry.yml:3: mode: "0999" is not an octal file mode such as 0640`},
		{"argv not strings", "roles:\n  web:\n    app: [a, [b]]\n", `entry.yml:3: command: each argument must be a string`},
		{"env file not a path", "env_files: [[a]]\n", `entry.yml:1: env_files: want a path or {path: FILE, required: false}, got a list`},
		{"env file without path", "env_files:\n  - {required: false}\n", `entry.yml: env_files: entry 1 is empty: give a path or {path: FILE, required: false}`},
		{"env file empty", "env_files: [a, ~]\n", `entry.yml: env_files: entry 2 is empty: give a path or {path: FILE, required: false}`},
		{"env file empty string", "env_files: [\"\"]\n", `entry.yml: env_files: entry 1 is empty: give a path or {path: FILE, required: false}`},
		{"env file unknown key", "env_files:\n  - {path: a, optional: true}\n", `entry.yml:2: unknown key "optional" in env_files (known keys: path, required)`},
		{"negative duration", "roles:\n  web:\n    app:\n      command: x\n      stop_timeout: -5s\n", `entry.yml:5: roles.web.app.stop_timeout: "-5s" is negative (give 0 or more, like 25s)`},
		{"huge duration", "hooks:\n  - {run: x, timeout: 99999999h}\n", `entry.yml:2: hooks.timeout: "99999999h" is too large (at most 2562047h0m0s)`},
		{"stop signal STOP", "roles:\n  web:\n    app: {command: x, stop_signal: STOP}\n", `entry.yml:3: roles.web.app: stop_signal: STOP pauses or resumes a process and never stops it; use TERM (the default), INT, QUIT or USR1`},
		{"stop signal TSTP", "roles:\n  web:\n    app: {command: x, stop_signal: sigtstp}\n", `entry.yml:3: roles.web.app: stop_signal: sigtstp pauses or resumes a process and never stops it; use TERM (the default), INT, QUIT or USR1`},
		{"rewrite CHLD", "roles:\n  web:\n    app: {command: x, signals: {CHLD: TERM}}\n", `entry.yml:3: roles.web.app: signals: CHLD is never forwarded (entry reaps children with it), so it cannot be rewritten`},
		{"rewrite KILL", "roles:\n  web:\n    app: {command: x, signals: {KILL: TERM, HUP: USR1}}\n", `entry.yml:3: roles.web.app: signals: KILL is never forwarded (no process can catch it), so it cannot be rewritten`},
		{"process as a number", "roles:\n  web:\n    a: 42\n", `entry.yml:3: roles.web.a: want a command (a string or a list of strings) or a mapping, got 42 (quote it if 42 is the command)`},
		{"process as a bool", "roles:\n  web:\n    a: true\n", `entry.yml:3: roles.web.a: want a command (a string or a list of strings) or a mapping, got true (quote it if true is the command)`},
		{"render dst is src", "render:\n  templates:\n    - {src: config/db.yml, dst: ./config/db.yml}\n", `entry.yml: render.templates[0]: dst ./config/db.yml is the template itself; rendering would overwrite it (render into another file, e.g. drop the .erb)`},
		{"render same dst", "render:\n  templates:\n    - {src: a.erb, dst: out/a}\n    - {src: b.erb, dst: out//a}\n", `entry.yml: render.templates[0] and [1] both render to out//a; give each template its own dst`},
		{"top level not a mapping", "- a\n- b\n", `entry.yml:1: top level: want a mapping, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("entry.yml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error for %q", tt.src)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	f, err := Load(filepath.Join(dir, "entry.yml"), true)
	if err != nil || f.Path != "" || len(f.Roles) != 0 {
		t.Fatalf("optional missing file: %+v, %v", f, err)
	}
	_, err = Load(filepath.Join(dir, "entry.yml"), false)
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("required missing file: %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "~\n"} {
		f, err := Parse("entry.yml", []byte(src))
		if err != nil || len(f.Roles) != 0 || f.Hooks != nil {
			t.Errorf("Parse(%q) = %+v, %v", src, f, err)
		}
	}
}

func TestDefaultRoleName(t *testing.T) {
	for src, want := range map[string]string{
		"roles: {job: {a: x}, web: {a: x}}":                    "web",
		"roles: {job: {a: x}}":                                 "job",
		"roles: {job: {a: x}, api: {a: x}}":                    "",
		"default_role: api\nroles: {job: {a: x}, api: {a: x}}": "api",
	} {
		f, err := Parse("entry.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.DefaultRoleName(); got != want {
			t.Errorf("%q: default role %q, want %q", src, got, want)
		}
	}
}

// FuzzParse checks that no input makes the parser panic or accept a config
// that breaks its own invariants. Its seeds run as an ordinary test.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte("roles:\n  web:\n    app: x\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("roles: &r\n  web: *r\n"))
	f.Add([]byte("hooks: [{run: x, timeout: 1s}]\n"))
	f.Add([]byte("roles:\n  web:\n    a: [x, y]\n    b: {command: z, after: [a]}\n"))
	f.Add([]byte("env_files: [a, {path: b, required: false}, &e {path: c}, *e]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, e := range cfg.EnvFiles {
			if e.Path == "" {
				t.Fatalf("accepted an env file without a path: %+v", cfg.EnvFiles)
			}
		}
		for _, r := range cfg.Roles {
			if len(r.Processes) == 0 {
				t.Fatalf("accepted role %q without processes", r.Name)
			}
			for _, p := range r.Processes {
				if p.Command.IsZero() == (p.Crontab == "") {
					t.Fatalf("accepted process %q with neither or both of command and crontab", p.Name)
				}
			}
		}
	})
}

// FuzzLoad reads fuzzed files through Load: a file over readcap.Config is
// refused by its size and never parsed, any other gives what Parse gives.
// Its seeds, one of them just over the cap, run as an ordinary test.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte("roles:\n  web:\n    a: 42\n"))
	f.Add([]byte("roles:\n  web:\n    a: {command: x, stop_timeout: 99999999h}\n"))
	f.Add(append([]byte("roles:\n  web:\n    a: x\n"), bytes.Repeat([]byte("#"), readcap.Config)...))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "entry.yml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, false)
		if len(data) > readcap.Config {
			if !errors.Is(err, readcap.ErrTooLarge) || !strings.Contains(err.Error(), path+": ") {
				t.Fatalf("a %d-byte file: err = %v, want it refused as too large", len(data), err)
			}
			return
		}
		want, wantErr := Parse(path, data)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("Load: %v; Parse: %v", err, wantErr)
		}
		if err == nil && len(cfg.Roles) != len(want.Roles) {
			t.Fatalf("Load and Parse disagree: %+v vs %+v", cfg, want)
		}
	})
}

// Past the YAML itself, every problem is reported, one line each.
func TestParseReportsEveryProblem(t *testing.T) {
	src := "log_format: xml\nroles:\n  web:\n    a: {command: x, stop_signal: STOP}\n    b: {command: y, restart: sometimes}\n  job:\n"
	_, err := Parse("entry.yml", []byte(src))
	want := `entry.yml: log_format "xml": want prefix, raw or json` + "\n" +
		`entry.yml:4: roles.web.a: stop_signal: STOP pauses or resumes a process and never stops it; use TERM (the default), INT, QUIT or USR1` + "\n" +
		`entry.yml:5: roles.web.b: restart: "sometimes": want always, on-failure or never` + "\n" +
		`entry.yml:6: role "job" has no processes; give it at least one, e.g. job: {app: "bundle exec puma"}`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}
