package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// helpCommands is every command line that has its own flags.
var helpCommands = [][]string{
	{},
	{"config", "check"},
	{"render"},
	{"secrets", "keygen"}, {"secrets", "encrypt"}, {"secrets", "decrypt"}, {"secrets", "edit"},
	{"secrets", "recipients", "add"}, {"secrets", "recipients", "remove"}, {"secrets", "recipients", "list"},
	{"secrets", "rotate"},
	{"assets", "push"}, {"assets", "fetch"},
	{"cron", "check"}, {"cron", "run"},
	{"deploy"}, {"deploy", "rollback"}, {"deploy", "status"}, {"deploy", "run"},
	{"version"},
	{"ctl"}, {"health"},
}

var envLine = regexp.MustCompile(`^\s+--([a-z0-9-]+)\s+\$(ENTRY_[A-Z0-9_]+)$`)

// Every command's --help succeeds and shows a working example, and every
// flag it lists, with its environment variable, is in docs/cli.md.
func TestHelpAndCLIReference(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range helpCommands {
		name := strings.Join(append([]string{"entry"}, path...), " ")
		r := runEntry(t, t.TempDir(), nil, append(append([]string{}, path...), "--help")...)
		if r.code != 0 {
			t.Errorf("%s --help: exit %d, stderr %q", name, r.code, r.stderr)
			continue
		}
		if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "Example") {
			t.Errorf("%s --help has no Usage or Example:\n%s", name, r.stdout)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			m := envLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if !strings.Contains(string(doc), "`--"+m[1]) {
				t.Errorf("docs/cli.md does not describe %s --%s", name, m[1])
			}
			if !strings.Contains(string(doc), m[2]) {
				t.Errorf("docs/cli.md does not name %s (%s --%s)", m[2], name, m[1])
			}
		}
	}
}

// The flag > environment > default order, on the start command.
func TestFlagEnvironmentPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yml": "default_role: a\nroles: {a: {p: \"true\"}, b: {p: \"true\"}, c: {p: \"true\"}}\n"})
	tests := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, nil, "start role a:"},
		{[]string{"ENTRY_ROLE=b"}, nil, "start role b:"},
		{[]string{"ENTRY_ROLE=b"}, []string{"--role", "c"}, "start role c:"},
		{[]string{"ENTRY_ROLE=b"}, []string{"role=a"}, "start role a:"},
	}
	for _, tt := range tests {
		args := append([]string{"config", "check", "--config", "a.yml"}, tt.args...)
		r := runEntry(t, dir, tt.env, args...)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("env %v args %v: %+v, want %q", tt.env, tt.args, r, tt.want)
		}
	}
	r := runEntry(t, dir, []string{"ENTRY_LOG_FORMAT=xml"}, "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, `--log-format: log format "xml"`) {
		t.Errorf("a bad value from the environment: %+v", r)
	}
}

// `entry help` and `entry --help` both show the start flags and every
// subcommand.
func TestMainHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runEntry(t, t.TempDir(), nil, args...)
		if r.code != 0 {
			t.Errorf("entry %v: exit %d", args, r.code)
		}
		for _, want := range append([]string{"--role", "$ENTRY_ROLE", "Example"}, subcommandNames()...) {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("entry %v lacks %q", args, want)
			}
		}
	}
}

func subcommandNames() []string {
	var names []string
	for _, sc := range subcommands {
		names = append(names, "  "+sc.name+" ")
	}
	return names
}
