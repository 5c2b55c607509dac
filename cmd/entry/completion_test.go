package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/entryhq/entry/internal/testtool"
)

// Every flag that takes a value has a completion hint or is named free
// text, so a new flag cannot be forgotten; a fixed value offered is one
// the flag's help names.
func TestCompletionHints(t *testing.T) {
	for _, path := range commandPaths() {
		commandFlags(path).VisitAll(func(f *pflag.Flag) {
			if f.NoOptDefVal != "" || f.Hidden {
				return
			}
			hint, hinted := valueHints[f.Name]
			free := slices.Contains(freeText, f.Name)
			if hinted == free {
				t.Errorf("entry %s --%s: in valueHints %v and freeText %v; want exactly one", strings.Join(path, " "), f.Name, hinted, free)
			}
			for _, v := range hint.values {
				if !strings.Contains(f.Usage, v) {
					t.Errorf("entry %s --%s: completion offers %q, which its help (%q) does not name", strings.Join(path, " "), f.Name, v, f.Usage)
				}
			}
		})
	}
}

// The commands completion offers after `entry ctl` are the ones ctl names
// when it is given none.
func TestCompletionCtlCommands(t *testing.T) {
	r := runEntry(t, t.TempDir(), nil, "ctl")
	_, list, _ := strings.Cut(r.stderr, "(")
	list, _, _ = strings.Cut(list, ";")
	got := strings.Fields(strings.NewReplacer(",", " ", " or ", " ").Replace(list))
	if !slices.Equal(got, positionalWords["ctl"]) {
		t.Errorf("entry ctl names the commands %q (%q); completion offers %q", got, r.stderr, positionalWords["ctl"])
	}
}

// completionDir is a working directory with an entry.yml of two roles and
// some files, and a PATH that finds the entry under test.
func completionDir(t *testing.T) (dir string, env []string) {
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml":     "roles:\n  web:\n    puma: \"bundle exec puma\"\n  job:\n    sidekiq: \"bundle exec sidekiq\"\n",
		"ecs/web.json":  "{}",
		"bin/.keep":     "",
		"Gemfile":       "",
		"entrypoint.sh": "",
	})
	return dir, []string{"PATH=" + filepath.Dir(entryBin) + ":/usr/bin:/bin", "HOME=" + dir}
}

// completionCases are command lines (the last word the one completed) and
// what each shell must offer for them, in order.
var completionCases = []struct {
	words []string // as bash splits them: "role=w" is "role" "=" "w"
	want  []string
}{
	{[]string{"entry", "dep"}, []string{"deploy"}},
	{[]string{"entry", "deploy", "r"}, []string{"rollback", "run"}},
	{[]string{"entry", "deploy", "run", "--se"}, []string{"--service"}},
	{[]string{"entry", "deploy", "status", "--t"}, nil}, // status takes no --timeout
	{[]string{"entry", "deploy", "--other-deploys", ""}, []string{"replace", "refuse", "wait"}},
	{[]string{"entry", "--log-format", "r"}, []string{"raw"}},
	{[]string{"entry", "--config", "ent"}, []string{"entry.yml", "entrypoint.sh"}},
	{[]string{"entry", "--config", "=", "ent"}, []string{"entry.yml", "entrypoint.sh"}},
	{[]string{"entry", "deploy", "--task-definition", "ecs/"}, []string{"ecs/web.json"}},
	{[]string{"entry", "--symlink", ""}, []string{"bin", "ecs"}},
	{[]string{"entry", "role", "=", "w"}, []string{"web"}},
	{[]string{"entry", "--role", ""}, []string{"web", "job"}},
	{[]string{"entry", "config", "check", "role", "=", ""}, []string{"web", "job"}},
	{[]string{"entry", "secrets", "recipients", ""}, []string{"list", "add", "remove"}},
	{[]string{"entry", "secrets", "keygen", "--p"}, []string{"--pq", "--public-key"}},
	{[]string{"entry", "help", "deploy", ""}, []string{"rollback", "status", "run"}},
	{[]string{"entry", "ctl", "--timeout", "5s", "s"}, []string{"status", "start", "stop", "signal"}},
	{[]string{"entry", "ctl", "r"}, []string{"restart", "run"}},
	{[]string{"entry", "completion", ""}, []string{"bash", "zsh", "fish"}},
	{[]string{"entry", "cron", "check", "Gem"}, []string{"Gemfile"}},
	{[]string{"entry", "bash", "-"}, nil}, // bash's own flags: not entry's
}

// The bash script, sourced in a real bash: COMPREPLY after _entry for each
// command line, as bash sets COMP_WORDS and COMP_CWORD.
func TestCompletionBash(t *testing.T) {
	bash := testtool.Require(t, "bash")
	dir, env := completionDir(t)
	const script = `source <(entry completion bash) || exit 1
complete -p entry >/dev/null || exit 1
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
_entry
printf '%s\n' "${COMPREPLY[@]}"`
	for _, c := range completionCases {
		r := runBinary(t, bash, dir, env, append([]string{"-c", script, "bash"}, c.words...)...)
		got := strings.Fields(r.stdout)
		if strings.Contains(strings.Join(c.words, " "), "--symlink") {
			slices.Sort(got) // directories come in the file system's order
		}
		if r.code != 0 || r.stderr != "" || !slices.Equal(got, c.want) {
			t.Errorf("bash: %q: COMPREPLY %q (exit %d, stderr %q), want %q", c.words, got, r.code, r.stderr, c.want)
		}
	}
}

// The fish script, loaded in a real fish: complete -C lists what fish
// offers for a command line.
func TestCompletionFish(t *testing.T) {
	fish := testtool.Require(t, "fish")
	dir, env := completionDir(t)
	if r := runEntry(t, dir, nil, "completion", "fish"); r.code != 0 {
		t.Fatalf("entry completion fish: exit %d, %q", r.code, r.stderr)
	} else {
		check := exec.Command(fish, "--no-execute")
		check.Stdin = strings.NewReader(r.stdout)
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("fish -n: %v\n%s", err, out)
		}
	}
	for _, c := range completionCases {
		line := strings.Join(c.words, " ")
		line = strings.ReplaceAll(line, " = ", "=") // fish does not split at "="
		want := slices.Clone(c.want)
		if i := slices.Index(c.words, "="); i > 0 {
			for j := range want {
				want[j] = c.words[i-1] + "=" + want[j] // fish completes the whole token
			}
		}
		r := runBinary(t, fish, dir, env, "--no-config", "-c", "entry completion fish | source; complete -C $argv[1]", line)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if w, _, _ := strings.Cut(l, "\t"); w != "" {
				got = append(got, strings.TrimSuffix(w, "/")) // fish marks directories
			}
		}
		slices.Sort(got)
		sorted := slices.Sorted(slices.Values(want))
		if r.code != 0 || !slices.Equal(got, sorted) {
			t.Errorf("fish: %q: offers %q (exit %d, stderr %q), want %q", line, got, r.code, r.stderr, sorted)
		}
	}
}

// The zsh script is valid zsh, and sourced after compinit it registers
// _entry for entry; it is also a valid autoloaded completion function.
func TestCompletionZsh(t *testing.T) {
	zsh := testtool.Require(t, "zsh")
	dir, env := completionDir(t)
	r := runEntry(t, dir, nil, "completion", "zsh")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "#compdef entry\n") {
		t.Fatalf("entry completion zsh: exit %d, %q\n%s", r.code, r.stderr, r.stdout)
	}
	writeFiles(t, dir, map[string]string{"_entry": r.stdout})
	if out, err := exec.Command(zsh, "-n", filepath.Join(dir, "_entry")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	const script = `autoload -U compinit && compinit -u -D
source <(entry completion zsh) || exit 1
print -r -- "$_comps[entry] $+functions[_entry]"`
	res := runBinary(t, zsh, dir, env, "-f", "-c", script)
	if res.code != 0 || strings.TrimSpace(res.stdout) != "_entry 1" {
		t.Errorf("zsh: after sourcing, _comps[entry] and _entry: %q (exit %d, stderr %q), want \"_entry 1\"", res.stdout, res.code, res.stderr)
	}
	// _entry itself, with zsh's completion functions replaced by stubs that
	// print what they were given: words and CURRENT as zsh sets them.
	const stubs = `source <(entry completion zsh 2>/dev/null | sed '/^if \[\[ "\${funcstack/,$d') || exit 1
_describe() { local c; for c in "${(@P)${@[-1]}}"; do print -r -- "${c%%:*}"; done }
_files() { print -r -- "FILES$*" }
compset() { : }
words=("$@"); CURRENT=$#
_entry`
	for _, c := range completionCases {
		if slices.Contains(c.words, "=") {
			continue // zsh does not split at "=": the fish test covers it
		}
		_, directive := completeWords(c.words[1:])
		want := c.want
		switch directive {
		case completeFiles:
			want = []string{"FILES"}
		case completeDirs:
			want = []string{"FILES-/"}
		}
		r := runBinary(t, zsh, dir, env, append([]string{"-f", "-c", stubs, "zsh"}, c.words...)...)
		if got := strings.Fields(r.stdout); r.code != 0 || r.stderr != "" || !slices.Equal(got, want) {
			t.Errorf("zsh: %q: _entry offers %q (exit %d, stderr %q), want %q", c.words, got, r.code, r.stderr, want)
		}
	}
}

// A wrong shell is refused in one line.
func TestCompletionUsage(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		r := runEntry(t, t.TempDir(), nil, args...)
		if want := "entry: completion: want one shell: bash, zsh or fish (see 'entry completion --help')\n"; r.code != 2 || r.stderr != want || r.stdout != "" {
			t.Errorf("entry %v: exit %d, stderr %q, want exit 2 and %q", args, r.code, r.stderr, want)
		}
	}
}
