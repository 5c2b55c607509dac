package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// `entry help PATH...` prints what `entry PATH... --help` prints, for every
// command and every command with verbs below it; a path that is not a
// command is refused, naming it.
func TestHelpOfEveryCommandPath(t *testing.T) {
	paths := append([][]string{{"secrets"}, {"secrets", "recipients"}, {"assets"}, {"cron"}, {"config"}}, helpCommands...)
	for _, path := range paths {
		if len(path) == 0 {
			continue
		}
		name := strings.Join(path, " ")
		want := runEntry(t, t.TempDir(), nil, append(append([]string{}, path...), "--help")...)
		got := runEntry(t, t.TempDir(), nil, append([]string{"help"}, path...)...)
		if got.code != 0 || got.stdout != want.stdout || want.code != 0 || got.stderr != "" {
			t.Errorf("entry help %s: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and what entry %s --help prints:\n%s", name, got.code, got.stderr, got.stdout, name, want.stdout)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nosuch"}, `entry: help: no subcommand "nosuch" (see 'entry help')`},
		{[]string{"help", "deploy", "nosuch"}, `entry: help: no subcommand "deploy nosuch" (see 'entry help deploy')`},
		{[]string{"help", "secrets", "recipients", "nosuch"}, `entry: help: no subcommand "secrets recipients nosuch" (see 'entry help secrets recipients')`},
		{[]string{"help", "version", "run"}, `entry: help: no subcommand "version run" (see 'entry help version')`},
		{[]string{"help", "help"}, `entry: help: no subcommand "help" (see 'entry help')`},
	} {
		r := runEntry(t, t.TempDir(), nil, c.args...)
		if r.code != 2 || r.stdout != "" || r.stderr != c.want+"\n" {
			t.Errorf("entry %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.want)
		}
	}
}

// A command that needs a verb and got none says so in one line, as assets,
// config and ctl always did, rather than printing its whole help on stderr.
func TestMissingSubcommandIsOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"secrets"}, "entry: secrets: missing subcommand: keygen, encrypt, decrypt, edit, recipients or rotate (see 'entry secrets --help')"},
		{[]string{"secrets", "recipients"}, "entry: secrets recipients: missing subcommand: list, add or remove (see 'entry secrets recipients --help')"},
		{[]string{"cron"}, "entry: cron: missing subcommand: check or run (see 'entry cron --help')"},
		{[]string{"assets"}, "entry: assets: missing subcommand: push or fetch (see 'entry assets --help')"},
		{[]string{"config"}, "entry: config: missing subcommand (run 'entry config check')"},
		{[]string{"ctl"}, "entry: ctl: missing command (status, start, stop, restart, signal or run; see 'entry ctl --help')"},
	} {
		r := runEntry(t, t.TempDir(), nil, c.args...)
		if r.code != 2 || r.stdout != "" || r.stderr != c.want+"\n" {
			t.Errorf("entry %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.want)
		}
	}
}

// Each deploy verb's --help describes its flags as that verb uses them:
// no text copied from another verb, no flag it ignores.
func TestDeployVerbFlagTexts(t *testing.T) {
	for _, c := range []struct {
		verb          string
		flag          string
		want, notWant []string // in the flag's line; notWant "" means no such flag
	}{
		{"deploy", "service", []string{"service to deploy; repeat or separate with commas"}, nil},
		{"deploy", "timeout", []string{"the migration, the rollout, the rollback"}, nil},
		{"deploy", "schedules", []string{"at its new revision"}, nil},
		{"deploy rollback", "service", []string{"service to roll back; repeat or separate with commas"}, []string{"to deploy"}},
		{"deploy rollback", "schedules", []string{"at the revision it went back to"}, []string{"new revision"}},
		{"deploy rollback", "timeout", []string{"the rollback"}, []string{"migration"}},
		{"deploy status", "service", []string{"service to show; repeat or separate with commas"}, []string{"to deploy"}},
		{"deploy status", "timeout", nil, []string{""}},
		{"deploy status", "poll-interval", nil, []string{""}},
		{"deploy run", "service", []string{"--service NAME", "the service whose task definition"}, []string{"to deploy", "repeat", "commas"}},
		{"deploy run", "timeout", []string{"the task"}, []string{"migration", "rollout"}},
	} {
		out, ok := help(t, strings.Fields(c.verb))
		if !ok {
			continue
		}
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if regexp.MustCompile(`^\s+--` + c.flag + `[ =]`).MatchString(l) {
				line = l // the flag's line; the environment list comes after
				break
			}
		}
		if len(c.notWant) == 1 && c.notWant[0] == "" {
			if line != "" || strings.Contains(out, "--"+c.flag+" ") {
				t.Errorf("entry %s --help lists --%s, which it does not use:\n%s", c.verb, c.flag, out)
			}
			continue
		}
		if line == "" {
			t.Errorf("entry %s --help: no --%s line:\n%s", c.verb, c.flag, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("entry %s --help: --%s says %q, want it to say %q", c.verb, c.flag, strings.TrimSpace(line), w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(line, w) {
				t.Errorf("entry %s --help: --%s says %q, which is wrong for %s (%q)", c.verb, c.flag, strings.TrimSpace(line), c.verb, w)
			}
		}
	}
	// deploy run takes exactly one --service, whatever the help says.
	r := runEntry(t, t.TempDir(), nil, "deploy", "run", "--cluster", "c", "--service", "a,b", "--", "true")
	if want := "entry: deploy run: name the --cluster and exactly one --service (see 'entry deploy run --help')\n"; r.code != 2 || r.stderr != want {
		t.Errorf("deploy run --service a,b: exit %d, stderr %q, want exit 2 and %q", r.code, r.stderr, want)
	}
}

// Every boolean flag's environment variable takes true/false, yes/no,
// on/off and 1/0 in any case; anything else is refused naming the variable
// and the values it takes, before anything is done.
func TestBooleanEnvironmentValues(t *testing.T) {
	for value, pq := range map[string]bool{
		"yes": true, "YES": true, "On": true, "1": true, "true": true, "True": true,
		"no": false, "NO": false, "off": false, "0": false, "false": false, "FALSE": false,
	} {
		dir := t.TempDir()
		r := runEntry(t, dir, []string{"ENTRY_SECRETS_PQ=" + value}, "secrets", "keygen", "-o", "age.key")
		if r.code != 0 {
			t.Errorf("ENTRY_SECRETS_PQ=%s: exit %d, stderr %q", value, r.code, r.stderr)
			continue
		}
		if got := strings.Contains(r.stderr, "age1pq1"); got != pq {
			t.Errorf("ENTRY_SECRETS_PQ=%s: a post-quantum key: %v, want %v (stderr %q)", value, got, pq, r.stderr)
		}
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"ENTRY_SECRETS_PQ=maybe", []string{"secrets", "keygen", "-o", "age.key"},
			`entry: secrets keygen: ENTRY_SECRETS_PQ="maybe": not a boolean: want true or false (also yes/no, on/off, 1/0)`},
		{"ENTRY_DEPLOY_DRY_RUN=", []string{"deploy", "--cluster", "c", "--service", "web", "--image", "app:1"},
			`entry: deploy: ENTRY_DEPLOY_DRY_RUN="": not a boolean: want true or false (also yes/no, on/off, 1/0)`},
		{"ENTRY_DEPLOY_DRY_RUN=ja", []string{"deploy", "--cluster", "c", "--service", "web", "--image", "app:1"},
			`entry: deploy: ENTRY_DEPLOY_DRY_RUN="ja": not a boolean: want true or false (also yes/no, on/off, 1/0)`},
		{"ENTRY_ASSETS_PATH_STYLE=auto", []string{"assets", "fetch", "s3://b/k", "out.json"},
			`entry: assets fetch: ENTRY_ASSETS_PATH_STYLE="auto": not a boolean: want true or false (also yes/no, on/off, 1/0)`},
	} {
		dir := t.TempDir()
		r := runEntry(t, dir, []string{c.env}, c.args...)
		if r.code != 2 || r.stderr != c.want+"\n" {
			t.Errorf("%s entry %s: exit %d, stderr %q; want exit 2 and %q", c.env, strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s entry %s: wrote %s", c.env, strings.Join(c.args, " "), entries[0].Name())
		}
	}
	// ENTRY_DEPLOY_DRY_RUN=yes is taken: the deploy goes on to the next
	// check (here: no region, since nothing names one).
	r := runEntry(t, t.TempDir(), []string{"ENTRY_DEPLOY_DRY_RUN=yes", "AWS_CONFIG_FILE=/nonexistent"}, "deploy", "--cluster", "c", "--service", "web", "--image", "app:1")
	if strings.Contains(r.stderr, "DRY_RUN") || strings.Contains(r.stderr, "strconv") {
		t.Errorf("ENTRY_DEPLOY_DRY_RUN=yes: %q", r.stderr)
	}
}

// --path-style is a switch, as docs/cli.md says: --path-style and
// --path-style=false, with auto (on exactly when a custom endpoint is set)
// when it is not given.
func TestPathStyleIsASwitch(t *testing.T) {
	out, ok := help(t, []string{"assets", "fetch"})
	if !ok {
		return
	}
	if !regexp.MustCompile(`(?m)^\s+--path-style\s{2,}[^$\s]`).MatchString(out) {
		t.Errorf("entry assets fetch --help: --path-style takes a value:\n%s", out)
	}
	for _, args := range [][]string{{"--path-style"}, {"--path-style=false"}, {"--path-style=true"}} {
		// A fetch from a closed port: what matters is that the flag parses.
		dir := t.TempDir()
		r := runEntry(t, dir, []string{"AWS_ACCESS_KEY_ID=a", "AWS_SECRET_ACCESS_KEY=b"},
			append([]string{"assets", "fetch", "--region", "us-east-1", "--endpoint", "http://127.0.0.1:1", "--timeout", "1s"}, append(args, "s3://bucket/key", filepath.Join(dir, "out.json"))...)...)
		if r.code == 2 || strings.Contains(r.stderr, "path-style") {
			t.Errorf("assets fetch %v: exit %d, %q", args, r.code, r.stderr)
		}
	}
}

// docs/cli.md's flag tables agree with the flag definitions of the
// commands their sections are about: each flag exists there, with the
// environment variable the binary reads; a switch is shown without a value
// (`--dry-run`) and any other flag with one (`--timeout D`); a repeatable
// flag says so.
func TestCLIReferenceFlagForms(t *testing.T) {
	doc := readFile(t, "../..", "docs/cli.md")
	flagsOf := map[string]*flagSet{}
	for _, path := range commandPaths() {
		flagsOf[strings.Join(append([]string{"entry"}, path...), " ")] = commandFlags(path)
	}
	row := regexp.MustCompile("^\\| (?:`-[a-zA-Z]`, )?`--([a-z0-9-]+)( [^`]+)?` \\| `([A-Z0-9_]+)` \\|(.*)\\|$")
	section, rows := "", 0
	for _, line := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(strings.TrimSuffix(h, "(start)"))
		} else if h, ok := strings.CutPrefix(line, "### "); ok && strings.HasPrefix(h, "entry ") {
			section = h
		}
		m := row.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(section, "entry") {
			continue
		}
		rows++
		name, value, env, meaning := m[1], m[2], m[3], m[4]
		// The section's own command first, then the commands below it.
		var fs *flagSet
		for _, exact := range []bool{true, false} {
			for cmd, set := range flagsOf {
				if fs == nil && set.Lookup(name) != nil && (cmd == section || !exact && section != "entry" && strings.HasPrefix(cmd, section+" ")) {
					fs = set
				}
			}
		}
		if fs == nil {
			t.Errorf("docs/cli.md, %s: --%s is no flag of %s", section, name, section)
			continue
		}
		f := fs.Lookup(name)
		if got := fs.envName(f); got != env {
			t.Errorf("docs/cli.md, %s: --%s reads %s, not %s", section, name, got, env)
		}
		isBool := f.Value.Type() == "bool"
		if isBool && value != "" {
			t.Errorf("docs/cli.md, %s: `--%s%s`: a switch takes no value (--%s or --%s=false)", section, name, value, name, name)
		}
		if !isBool && value == "" {
			t.Errorf("docs/cli.md, %s: `--%s` takes a value (%s): show it", section, name, f.Value.Type())
		}
		if strings.HasSuffix(f.Value.Type(), "Slice") || strings.HasSuffix(f.Value.Type(), "Array") {
			if !strings.Contains(meaning, "repeat") {
				t.Errorf("docs/cli.md, %s: --%s may be given several times; its row does not say so (repeatable)", section, name)
			}
		}
	}
	if rows < 50 {
		t.Errorf("docs/cli.md: read %d flag rows; has the table format changed?", rows)
	}
}

// The command tree that help and completion walk is the one the binary
// dispatches: its commands are those whose --help the CLI tests read, and
// commandFlags finds each one's flags, exactly those its --help lists.
func TestCommandTree(t *testing.T) {
	var got, want []string
	for _, p := range commandPaths() {
		got = append(got, strings.Join(p, " "))
	}
	for _, p := range helpCommands {
		want = append(want, strings.Join(p, " "))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("commandPaths() = %q\nwant the commands with flags %q", got, want)
	}
	for _, path := range commandPaths() {
		fs := commandFlags(path)
		if fs == nil {
			t.Errorf("entry %s: commandFlags found no flags", strings.Join(path, " "))
			continue
		}
		out, ok := help(t, path)
		if !ok {
			continue
		}
		listed, _ := helpFlags(out)
		delete(listed, "help")
		defined := map[string]bool{}
		fs.VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				defined[f.Name] = true
			}
		})
		if !maps.Equal(listed, defined) {
			t.Errorf("entry %s: commandFlags gives %v, --help lists %v", strings.Join(path, " "), slices.Sorted(maps.Keys(defined)), slices.Sorted(maps.Keys(listed)))
		}
	}
}
