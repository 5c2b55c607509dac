package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/entryhq/entry/config"
)

const completionUsage = `Usage: entry completion bash|zsh|fish

Print the shell completion script for entry: subcommands and their verbs,
each command's flags, flag values (files, directories, the values of a flag
that takes a fixed set) and the roles of entry.yml (role=NAME, --role).
The script asks the entry binary it completes for what to offer, so it
follows an upgrade without being installed again.

Install it once:
  bash: entry completion bash > /etc/bash_completion.d/entry
        (or: source <(entry completion bash) in ~/.bashrc)
  zsh:  entry completion zsh > "${fpath[1]}/_entry"   (then restart zsh)
        (or: source <(entry completion zsh) in ~/.zshrc, after compinit)
  fish: entry completion fish > ~/.config/fish/completions/entry.fish

Example:
  source <(entry completion bash)
`

// completeWord is the hidden verb the scripts call: `entry completion
// __complete WORD...`, the words after "entry" up to the cursor, the last
// one being completed (maybe ""). It prints one candidate a line
// ("WORD<TAB>DESCRIPTION") and then a directive line: ":files" or ":dirs"
// when the shell should add file or directory names, else ":none".
const completeWord = "__complete"

var completionScripts = map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}

// runCompletion is `entry completion SHELL`.
func runCompletion(args []string) int {
	if len(args) > 0 && args[0] == completeWord && collectFlags == nil {
		cands, directive := completeWords(args[1:])
		for _, c := range cands {
			fmt.Printf("%s\t%s\n", c.word, c.desc)
		}
		fmt.Println(directive)
		return exitOK
	}
	fs := newFlagSet("completion", completionUsage)
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 || completionScripts[fs.Arg(0)] == "" {
		return fail(exitUsage, "completion: want one shell: bash, zsh or fish (see 'entry completion --help')")
	}
	fmt.Print(completionScripts[fs.Arg(0)])
	return exitOK
}

// A candidate is one completion with its description.
type candidate struct{ word, desc string }

const (
	completeNone  = ":none"
	completeFiles = ":files"
	completeDirs  = ":dirs"
)

// A valueHint says what a flag's value is, for completing it.
type valueHint struct {
	directive string   // completeFiles, completeDirs or completeNone
	values    []string // the fixed values it takes
	roles     bool     // the roles of entry.yml
}

// valueHints covers every flag that takes a value (TestCompletionHints
// checks that none is missing, and that each fixed value is one the flag's
// help names). A flag absent here takes free text.
var valueHints = map[string]valueHint{
	"config":            {directive: completeFiles},
	"env-file":          {directive: completeFiles},
	"output":            {directive: completeFiles},
	"key-file":          {directive: completeFiles},
	"task-definition":   {directive: completeFiles},
	"image-definitions": {directive: completeFiles},
	"recipients-file":   {directive: completeFiles},
	"control-socket":    {directive: completeFiles},
	"symlink":           {directive: completeDirs},
	"log-format":        {values: []string{"prefix", "raw", "json"}},
	"other-deploys":     {values: []string{"replace", "refuse", "wait"}},
	"format":            {values: []string{"yaml", "dotenv"}},
	"revision":          {values: []string{"live", "new"}},
	"role":              {roles: true},
}

// freeText are the flags whose values cannot be offered (names of AWS
// resources, durations, numbers, commands).
var freeText = []string{
	"region", "cluster", "service", "image", "container", "migrate", "migrate-container", "timeout",
	"poll-interval", "keep", "log-grace", "rule", "schedule", "event-bus", "schedule-group", "bucket",
	"prefix", "key", "env", "sha", "endpoint", "name", "content-type", "count", "from", "recipient",
	"unencrypted-regex", "stop-timeout", "stop-signal", "metrics",
}

// positionalWords are the fixed first arguments of commands that take one.
var positionalWords = map[string][]string{
	"ctl":        {"status", "start", "stop", "restart", "signal", "run"},
	"completion": {"bash", "zsh", "fish"},
}

// noFileArgs are the commands whose arguments are never file names.
var noFileArgs = []string{"version", "health", "ctl", "completion", "help", "config check",
	"deploy", "deploy rollback", "deploy status"}

// completeWords completes the last of words (the words after "entry").
// bash splits "--config=x" and "role=x" at the "=" into three words; they
// are joined again here, and then the candidates are given without what
// precedes the "=", which bash keeps.
func completeWords(words []string) ([]candidate, string) {
	if len(words) == 0 {
		words = []string{""}
	}
	split := false
	var joined []string
	for i := 0; i < len(words); i++ {
		if words[i] == "=" && len(joined) > 0 && i > 0 {
			last := joined[len(joined)-1] + "="
			if i+1 < len(words) {
				last += words[i+1]
				i++
			}
			joined[len(joined)-1] = last
			split = i == len(words)-1
			continue
		}
		joined = append(joined, words[i])
	}
	cands, directive := completeJoined(joined[:len(joined)-1], joined[len(joined)-1])
	cur := joined[len(joined)-1]
	var out []candidate
	for _, c := range cands {
		if !strings.HasPrefix(c.word, cur) {
			continue
		}
		if split {
			c.word = c.word[strings.LastIndex(cur, "=")+1:]
		}
		out = append(out, c)
	}
	return out, directive
}

// completeJoined completes cur after the words before it.
func completeJoined(before []string, cur string) ([]candidate, string) {
	var path []string
	fs := flagsAt(path)
	configPath := ""
	positional := 0
	var valueOf *pflag.Flag
	for i := 0; i < len(before); i++ {
		w := before[i]
		if w == "--" || (len(path) == 0 && positional > 0) {
			return nil, completeFiles // a command's own arguments
		}
		if len(w) > 1 && w[0] == '-' {
			f, value, inline := lookupFlag(fs, w)
			if f != nil && f.NoOptDefVal == "" && !inline {
				if i+1 == len(before) {
					valueOf = f
				} else {
					i++
					value = before[i]
				}
			}
			if f != nil && f.Name == "config" {
				configPath = value
			}
			continue
		}
		if positional == 0 && slices.Contains(verbsOf(path), w) {
			path = append(path, w)
			fs = flagsAt(path)
			continue
		}
		positional++
	}
	name := strings.Join(path, " ")
	switch {
	case len(path) == 0 && positional > 0:
		return nil, completeFiles // the command's own arguments
	case valueOf != nil:
		return flagValues(valueOf, "", configPath)
	case strings.HasPrefix(cur, "--") && strings.Contains(cur, "="):
		flagName, _, _ := strings.Cut(cur[2:], "=")
		if fs != nil && fs.Lookup(flagName) != nil {
			return flagValues(fs.Lookup(flagName), "--"+flagName+"=", configPath)
		}
		return nil, completeNone
	case strings.HasPrefix(cur, "-"):
		var cands []candidate
		if fs != nil {
			fs.VisitAll(func(f *pflag.Flag) {
				if !f.Hidden {
					cands = append(cands, candidate{"--" + f.Name, oneLine(f.Usage)})
				}
			})
		}
		return append(cands, candidate{"--help", "show help"}), completeNone
	}
	var cands []candidate
	if positional == 0 {
		for _, v := range verbsOf(path) {
			cands = append(cands, candidate{v, verbSummary(path, v)})
		}
		for _, w := range positionalWords[name] {
			cands = append(cands, candidate{w, ""})
		}
	}
	if name == "" || name == "config check" {
		for _, r := range roleNames(configPath) {
			cands = append(cands, candidate{"role=" + r, "start role " + r})
		}
	}
	if (positional > 0 || len(verbsOf(path)) == 0) && !slices.Contains(noFileArgs, name) && (name == "" || fs != nil) {
		return cands, completeFiles
	}
	return cands, completeNone
}

// verbsOf is what may follow path: the subcommands after "entry", the
// verbs below a command, or, after "help", the command path to explain.
func verbsOf(path []string) []string {
	if len(path) == 0 {
		var names []string
		for _, sc := range subcommands {
			names = append(names, sc.name)
		}
		return names
	}
	if path[0] == "help" {
		if len(path) == 1 {
			return slices.DeleteFunc(verbsOf(nil), func(s string) bool { return s == "help" })
		}
		return verbs[strings.Join(path[1:], " ")]
	}
	return verbs[strings.Join(path, " ")]
}

func verbSummary(path []string, verb string) string {
	if len(path) == 0 || (len(path) == 1 && path[0] == "help") {
		if sc := lookupSubcommand(verb); sc != nil {
			return sc.summary
		}
	}
	return ""
}

// flagsAt is the flag set of the command at path, or nil for a command
// with no flags of its own (secrets, assets, help).
func flagsAt(path []string) *flagSet {
	for _, p := range commandPaths() {
		if slices.Equal(p, path) {
			return commandFlags(path)
		}
	}
	return nil
}

// lookupFlag finds the flag word w names (--name, --name=V, -x, -xV) and
// the value it carries inline.
func lookupFlag(fs *flagSet, w string) (f *pflag.Flag, value string, inline bool) {
	if fs == nil {
		return nil, "", false
	}
	if name, ok := strings.CutPrefix(w, "--"); ok {
		name, value, inline = strings.Cut(name, "=")
		return fs.Lookup(name), value, inline
	}
	f = fs.ShorthandLookup(w[1:2])
	return f, w[2:], len(w) > 2
}

// flagValues completes the value of flag f, each candidate after prefix.
func flagValues(f *pflag.Flag, prefix, configPath string) ([]candidate, string) {
	hint, ok := valueHints[f.Name]
	if !ok {
		return nil, completeNone
	}
	var cands []candidate
	for _, v := range hint.values {
		cands = append(cands, candidate{prefix + v, ""})
	}
	if hint.roles {
		for _, r := range roleNames(configPath) {
			cands = append(cands, candidate{prefix + r, "role"})
		}
	}
	if hint.directive == "" {
		return cands, completeNone
	}
	return cands, hint.directive
}

// roleNames are the roles of the config file the command line names, else
// $ENTRY_CONFIG, else ./entry.yml; none when it cannot be read.
func roleNames(configPath string) []string {
	if configPath == "" {
		configPath = os.Getenv("ENTRY_CONFIG")
	}
	optional := configPath == ""
	if optional {
		configPath = "entry.yml"
	}
	cfg, err := config.Load(configPath, optional)
	if err != nil || cfg == nil {
		return nil
	}
	var names []string
	for _, r := range cfg.Roles {
		names = append(names, r.Name)
	}
	return names
}

// oneLine is a flag's usage cut to its first clause, for the descriptions
// zsh and fish show beside a flag.
func oneLine(usage string) string {
	if i := strings.IndexAny(usage, ";("); i > 0 {
		usage = usage[:i]
	}
	return strings.TrimSpace(strings.ReplaceAll(usage, "`", ""))
}
