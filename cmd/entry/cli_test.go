package main

import (
	"maps"
	"os"
	"regexp"
	"slices"
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
	{"version"}, {"completion"},
	{"ctl"}, {"health"},
}

var (
	envLine  = regexp.MustCompile(`^\s+--([a-z0-9-]+)\s+\$(ENTRY_[A-Z0-9_]+)$`)
	flagLine = regexp.MustCompile(`^\s+(?:-([a-zA-Z]), )?--([a-z0-9-]+)[ =]`)
	flagWord = regexp.MustCompile(`^(--[a-z0-9][a-z0-9-]*|-[a-zA-Z])$`)
)

// help runs `entry PATH... --help` and returns its output.
func help(t *testing.T, path []string) (string, bool) {
	t.Helper()
	r := runEntry(t, t.TempDir(), nil, append(append([]string{}, path...), "--help")...)
	if r.code != 0 {
		t.Errorf("entry %s --help: exit %d, stderr %q", strings.Join(path, " "), r.code, r.stderr)
		return "", false
	}
	return r.stdout, true
}

// helpFlags returns the long flags a --help output lists (without the
// dashes), each short one mapped to its long one ("o" -> "output").
func helpFlags(out string) (long map[string]bool, short map[string]string) {
	long, short = map[string]bool{}, map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			long[m[2]] = true
			if m[1] != "" {
				short[m[1]] = m[2]
			}
		}
	}
	return long, short
}

// Every command's --help succeeds and shows a working example, every flag
// it lists has its environment variable, and every such flag and variable
// is in docs/cli.md, by its exact name.
func TestHelpAndCLIReference(t *testing.T) {
	data, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, path := range helpCommands {
		name := strings.Join(append([]string{"entry"}, path...), " ")
		out, ok := help(t, path)
		if !ok {
			continue
		}
		if !strings.Contains(out, "Usage:") || !strings.Contains(out, "Example") {
			t.Errorf("%s --help has no Usage or Example:\n%s", name, out)
		}
		flags, _ := helpFlags(out)
		delete(flags, "help")
		envs := 0
		for _, line := range strings.Split(out, "\n") {
			m := envLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			envs++
			if !flags[m[1]] {
				t.Errorf("%s --help: the environment list names --%s, which is not among its flags", name, m[1])
			}
			delete(flags, m[1])
			if !regexp.MustCompile("`--" + regexp.QuoteMeta(m[1]) + "[` =\\[]").MatchString(doc) {
				t.Errorf("docs/cli.md does not describe %s --%s", name, m[1])
			}
			if !regexp.MustCompile(`(^|[^A-Z0-9_])` + m[2] + `([^A-Z0-9_]|$)`).MatchString(doc) {
				t.Errorf("docs/cli.md does not name %s (%s --%s)", m[2], name, m[1])
			}
		}
		for f := range flags {
			t.Errorf("%s --help: --%s has no environment variable listed", name, f)
		}
		// Only `entry version` has no flags; anywhere else, finding none
		// means the help's format no longer matches what this test reads.
		if envs == 0 && name != "entry version" && name != "entry completion" {
			t.Errorf("%s --help: no flag with its environment variable found (has the format changed?):\n%s", name, out)
		}
	}
}

// A synopsis: the command path it is for and the flags it shows, each
// required (outside [...]) or not.
type synopsis struct {
	line  string
	path  []string
	flags map[string]bool // flag as written -> required
}

// parseSynopsis reads "entry PATH... ARGS" for the longest known path (an
// alternative such as "list|add|remove" gives one synopsis each).
func parseSynopsis(line string) []synopsis {
	words := strings.Fields(line)
	if len(words) == 0 || words[0] != "entry" {
		return nil
	}
	var paths [][]string
	var rest []string
	for _, cmd := range helpCommands {
		if len(cmd) > len(words)-1 || (len(paths) > 0 && len(cmd) <= len(paths[0])) {
			continue
		}
		prefix := words[1 : 1+len(cmd)]
		var alts [][]string
		for _, last := range strings.Split(strings.Join(prefix[len(prefix)-min(1, len(prefix)):], ""), "|") {
			p := append(append([]string{}, prefix[:len(prefix)-min(1, len(prefix))]...), last)
			if len(cmd) == 0 {
				p = nil
			}
			alts = append(alts, p)
		}
		known := true
		for _, p := range alts {
			known = known && isHelpCommand(p)
		}
		if known && (len(cmd) == 0 || strings.HasPrefix(prefix[len(prefix)-1], cmd[len(cmd)-1])) {
			paths, rest = alts, words[1+len(cmd):]
		}
	}
	flags := map[string]bool{}
	depth := 0
	for _, w := range rest {
		opened := strings.Count(w, "[")
		depth += opened
		f := strings.TrimRight(strings.TrimLeft(w, "[("), "])|.,")
		if flagWord.MatchString(f) {
			flags[f] = flags[f] || depth == 0
		}
		depth -= strings.Count(w, "]")
	}
	var out []synopsis
	for _, p := range paths {
		out = append(out, synopsis{line: line, path: p, flags: flags})
	}
	return out
}

func isHelpCommand(p []string) bool {
	for _, cmd := range helpCommands {
		if strings.Join(cmd, " ") == strings.Join(p, " ") {
			return true
		}
	}
	return false
}

// docSynopses returns the synopses of docs/cli.md: the lines of the first
// code block after each "## entry ..." heading that are for the heading's
// command or one below it.
func docSynopses(t *testing.T) []synopsis {
	t.Helper()
	data, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []synopsis
	var section string // the heading's command, while its first block is ahead or open
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## entry"):
			section = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "## "), "(start)"))
		case strings.HasPrefix(line, "```"):
			if inBlock {
				section = ""
			}
			inBlock = !inBlock
		case inBlock && section != "":
			for _, s := range parseSynopsis(line) {
				if cmd := strings.Join(append([]string{"entry"}, s.path...), " "); strings.HasPrefix(cmd, section) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Every synopsis in docs/cli.md is true to the binary: its flags exist,
// and it requires the same flags as one of the usage lines of the
// command's --help (a flag outside [...] is required). Every command has
// one.
func TestCLIReferenceSynopses(t *testing.T) {
	synopses := docSynopses(t)
	for _, path := range helpCommands {
		name := strings.Join(append([]string{"entry"}, path...), " ")
		out, ok := help(t, path)
		if !ok {
			continue
		}
		long, short := helpFlags(out)
		// The binary's own usage lines for this command.
		var usage []synopsis
		inUsage := false
		for _, line := range strings.Split(out, "\n") {
			inUsage = strings.HasPrefix(line, "Usage:") || (inUsage && strings.HasPrefix(line, "       entry"))
			if !inUsage {
				continue
			}
			for _, s := range parseSynopsis(strings.TrimSpace(strings.TrimPrefix(line, "Usage:"))) {
				if strings.Join(s.path, " ") == strings.Join(path, " ") {
					usage = append(usage, s)
				}
			}
		}
		if len(usage) == 0 {
			t.Errorf("%s --help: no usage line for the command itself:\n%s", name, out)
			continue
		}
		canon := func(f string) string {
			if l, ok := short[strings.TrimPrefix(f, "-")]; ok && !strings.HasPrefix(f, "--") {
				return l
			}
			return strings.TrimPrefix(f, "--")
		}
		requiredIn := func(s synopsis) map[string]bool {
			req := map[string]bool{}
			for f, r := range s.flags {
				if r {
					req[canon(f)] = true
				}
			}
			return req
		}
		found := 0
		for _, s := range synopses {
			if strings.Join(s.path, " ") != strings.Join(path, " ") {
				continue
			}
			found++
			for f := range s.flags {
				if !long[canon(f)] {
					t.Errorf("docs/cli.md: %q shows %s, which %s does not have", s.line, f, name)
				}
			}
			// It is one of the binary's usages: the same flags required.
			shown := requiredIn(s)
			match := false
			for _, u := range usage {
				match = match || maps.Equal(requiredIn(u), shown)
			}
			if !match {
				t.Errorf("docs/cli.md: %q requires the flags %v; no usage of %s requires just those:\n%s", s.line, slices.Sorted(maps.Keys(shown)), name, out)
			}
		}
		if found == 0 {
			t.Errorf("docs/cli.md has no synopsis for %s", name)
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
