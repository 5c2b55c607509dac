package main

import (
	"slices"
	"strings"
)

// verbs lists the subcommands below each command that has some, in the
// order its help shows them: what `entry help PATH...`, the one-line
// "missing subcommand" errors and `entry completion` know of the command
// tree. (The run functions dispatch on the same words; TestCommandTree
// checks that each one answers --help.)
var verbs = map[string][]string{
	"secrets":            {"keygen", "encrypt", "decrypt", "edit", "recipients", "rotate"},
	"secrets recipients": {"list", "add", "remove"},
	"assets":             {"push", "fetch"},
	"cron":               {"check", "run"},
	"deploy":             {"rollback", "status", "run"},
	"config":             {"check"},
}

// commandPaths is every command line with flags of its own, as words after
// "entry": the start command (nil), each subcommand, and each verb below
// one. A command with verbs has flags of its own only when it runs without
// one (deploy).
func commandPaths() [][]string {
	paths := [][]string{nil}
	var walk func(path []string)
	walk = func(path []string) {
		below := verbs[strings.Join(path, " ")]
		if len(below) == 0 || strings.Join(path, " ") == "deploy" {
			paths = append(paths, path)
		}
		for _, v := range below {
			walk(append(slices.Clip(path), v))
		}
	}
	for _, sc := range subcommands {
		if sc.name != "help" && sc.name != "completion" {
			walk([]string{sc.name})
		}
	}
	return paths
}

// missingVerb is the one-line error of a command run without the verb it
// needs.
func missingVerb(cmd string) int {
	return fail(exitUsage, "%s: missing subcommand: %s (see 'entry %s --help')", cmd, orList(verbs[cmd]), cmd)
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// collectFlags, when set, receives the flag set of the command run instead
// of letting it parse its arguments (see flagSet.parseOrExit): the command
// stops there, having done nothing. It lets commandFlags read each
// command's flags from the very definitions its run function makes.
var collectFlags func(*flagSet)

// commandFlags returns the flags of the command at path (one of
// commandPaths), as its run function defines them.
func commandFlags(path []string) *flagSet {
	if len(path) == 0 {
		fs, _ := newStartFlags()
		return fs
	}
	sc := lookupSubcommand(path[0])
	if sc == nil {
		return nil
	}
	var got *flagSet
	collectFlags = func(fs *flagSet) { got = fs }
	defer func() { collectFlags = nil }()
	sc.run(slices.Clone(path[1:]))
	return got
}

// helpPath is `entry help PATH...`: the help of the command at path, as
// `entry PATH... --help` prints it.
func helpPath(path []string) int {
	sc := lookupSubcommand(path[0])
	if sc == nil || sc.name == "help" {
		return fail(exitUsage, "help: no subcommand %q (see 'entry help')", path[0])
	}
	for i := 1; i < len(path); i++ {
		parent := strings.Join(path[:i], " ")
		if !slices.Contains(verbs[parent], path[i]) {
			return fail(exitUsage, "help: no subcommand %q (see 'entry help %s')", strings.Join(path[:i+1], " "), parent)
		}
	}
	return sc.run(append(slices.Clone(path[1:]), "--help"))
}
