package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// entryYMLKeys are the top-level keys of entry.yml (config.Config).
var entryYMLKeys = []string{
	"env_files", "render", "secrets", "assets", "hooks", "default_role",
	"roles", "log_format", "control_socket", "metrics", "deploy",
}

// notEntryYML names the YAML blocks of the docs that are not entry.yml, by
// document and first line, with the reason. Every other YAML block must be
// an entry.yml (or a fragment marked <!-- entry.yml fragment: PATH -->).
var notEntryYML = []struct{ doc, first, why string }{
	{"docs/deploy.md", "name: release", "GitHub Actions workflow, run by TestCIRecipesRunAsWritten"},
	{"docs/deploy.md", "version: 0.2", "CodeBuild buildspec, run by TestCIRecipesRunAsWritten"},
	{"docs/deploy.md", "version: 2.1", "CircleCI config, run by TestCIRecipesRunAsWritten"},
	{"docs/secrets.md", "# config/secrets.production.yml.enc (committed)", "an encrypted vault file"},
	{"docs/secrets-format.md", "# production secrets", "an encrypted vault file"},
	{"docs/supervise.md", "- alert: CronJobFailed", "Prometheus alerting rules"},
}

// Every entry.yml shown in README.md, docs/*.md and examples/*/README.md
// passes `entry config check` for each of its roles, with no warning.
// Programs and files the snippet names are stubbed (see checkEntryYML).
func TestDocsEntryYMLCheck(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	readmes, err := filepath.Glob("../../examples/*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(append([]string{"../../README.md"}, docs...), readmes...)
	used := map[int]bool{}
	n := 0
	for _, path := range docs {
		doc := strings.TrimPrefix(path, "../../")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) == "```yml" {
				t.Errorf("%s:%d: write ```yaml, which this test reads", doc, i+1)
			}
		}
		for _, b := range codeBlocks(string(data), "yaml") {
			text, fragment, err := entryYMLBlock(lines, b)
			if err != nil {
				t.Errorf("%s:%d: %v", doc, b.line, err)
				continue
			}
			first := strings.SplitN(strings.TrimSpace(text), "\n", 2)[0]
			if i := slices.IndexFunc(notEntryYML, func(s struct{ doc, first, why string }) bool {
				return s.doc == doc && s.first == first
			}); i >= 0 {
				used[i] = true
				continue
			}
			if err := isEntryYML(text); err != nil {
				t.Errorf("%s:%d: %v: make it a whole entry.yml, mark a fragment with <!-- entry.yml fragment: PATH --> above it, or add it to notEntryYML with the reason", doc, b.line, err)
				continue
			}
			n++
			t.Run(fmt.Sprintf("%s:%d", doc, b.line), func(t *testing.T) {
				dir := t.TempDir()
				writeFiles(t, dir, map[string]string{"entry.yml": text})
				if err := checkEntryYML(t, dir); err != nil {
					if fragment != "" {
						err = fmt.Errorf("(a fragment of %s) %v", fragment, err)
					}
					t.Errorf("%s:%d: %v\nentry.yml:\n%s", doc, b.line, err, text)
				}
			})
		}
	}
	for i, s := range notEntryYML {
		if !used[i] {
			t.Errorf("notEntryYML: no YAML block of %s starts with %q any more: remove it from the list", s.doc, s.first)
		}
	}
	if n < 20 {
		t.Errorf("only %d entry.yml blocks found in the docs", n)
	}
}

// Every examples/*/entry.yml passes `entry config check` for each role.
// Those of examples/rails and examples/rails8 are checked in their image
// by TestDockerfileExample and TestDockerfileRails8 (with the programs the
// image really has); the others are checked here.
func TestExamplesEntryYMLCheck(t *testing.T) {
	ymls, err := filepath.Glob("../../examples/*/entry.yml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{"rails": true, "rails8": true}
	var names []string
	for _, y := range ymls {
		name := filepath.Base(filepath.Dir(y))
		names = append(names, name)
		if covered[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("cp", "-a", filepath.Dir(y)+"/.", dir).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if err := checkEntryYML(t, dir); err != nil {
				t.Errorf("examples/%s/entry.yml: %v", name, err)
			}
		})
	}
	for name := range covered {
		if !slices.Contains(names, name) {
			t.Errorf("examples/%s/entry.yml is gone: update this test", name)
		}
	}
}

var fragmentMark = regexp.MustCompile(`^<!-- entry\.yml fragment: ([a-z_.]+) -->$`)

// entryYMLBlock returns a block's text, dedented to its fence, and wrapped
// in the keys of its fragment mark (the line above the fence) if any.
func entryYMLBlock(lines []string, b codeBlock) (text, fragment string, err error) {
	fence := lines[b.line-2]
	indent := fence[:len(fence)-len(strings.TrimLeft(fence, " "))]
	var body []string
	for _, l := range strings.Split(b.text, "\n") {
		body = append(body, strings.TrimPrefix(l, indent))
	}
	if b.line >= 3 {
		if m := fragmentMark.FindStringSubmatch(strings.TrimSpace(lines[b.line-3])); m != nil {
			fragment = m[1]
		}
	}
	if fragment == "" {
		return strings.Join(body, "\n") + "\n", "", nil
	}
	var head []string
	keys := strings.Split(fragment, ".")
	for i, k := range keys {
		head = append(head, strings.Repeat("  ", i)+k+":")
	}
	want := strings.Repeat("  ", len(keys))
	for _, l := range body {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, want) {
			return "", "", fmt.Errorf("fragment of %s: line %q is not indented under it (%d spaces)", fragment, l, len(want))
		}
	}
	return strings.Join(append(head, body...), "\n") + "\n", fragment, nil
}

// isEntryYML says why text is not an entry.yml: not a mapping, or a
// top-level key that entry.yml does not have.
func isEntryYML(text string) error {
	var m map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		return fmt.Errorf("not a YAML mapping: %v", err)
	}
	if len(m) == 0 {
		return fmt.Errorf("empty")
	}
	for k := range m {
		if !slices.Contains(entryYMLKeys, k) {
			return fmt.Errorf("top-level key %q is not an entry.yml key", k)
		}
	}
	return nil
}

var (
	stubProgram = regexp.MustCompile(`cannot run: (\S+): command not found`)
	stubFile    = regexp.MustCompile(`open (\S+): no such file or directory`)
	stubGlob    = regexp.MustCompile(`render: (\S+) matches no template`)
	stubTmpl    = regexp.MustCompile(`render: (\S+): no such template`)
	ownerAbsent = regexp.MustCompile(`owner "([^":]*):?([^"]*)": no such (user|group) in this image`)
)

// checkEntryYML runs `entry config check` in dir for each role of its
// entry.yml (or `-- true` when it has none), and wants exit 0 and nothing
// on stderr. What the image would have and the docs do not show is
// stubbed, up to a few rounds: a program not found (on PATH, or at its
// relative path), a file that cannot be opened (empty: a crontab), a
// template or glob matching none (an empty template).
func checkEntryYML(t *testing.T, dir string) error {
	t.Helper()
	var cfg struct {
		Roles map[string]yaml.Node `yaml:"roles"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, dir, "entry.yml")), &cfg); err != nil {
		return err
	}
	var runs [][]string
	for role := range cfg.Roles {
		runs = append(runs, []string{"config", "check", "role=" + role})
	}
	slices.SortFunc(runs, func(a, b []string) int { return strings.Compare(a[2], b[2]) })
	if len(runs) == 0 {
		runs = [][]string{{"config", "check", "--", "true"}}
	}
	bin := t.TempDir()
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	for _, args := range runs {
		var r result
		for round := 0; round < 6; round++ {
			r = runEntry(t, dir, env, args...)
			if r.code == 0 && r.stderr == "" {
				break
			}
			stubbed := false
			stub := func(path string, exe bool) {
				mode := os.FileMode(0o644)
				if exe {
					mode = 0o755
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
					t.Fatal(err)
				}
				stubbed = true
			}
			for _, m := range stubProgram.FindAllStringSubmatch(r.stderr, -1) {
				if strings.Contains(m[1], "/") {
					stub(filepath.Join(dir, m[1]), true)
				} else {
					stub(filepath.Join(bin, m[1]), true)
				}
			}
			for _, m := range stubFile.FindAllStringSubmatch(r.stderr, -1) {
				stub(filepath.Join(dir, m[1]), false)
			}
			for _, m := range stubGlob.FindAllStringSubmatch(r.stderr, -1) {
				stub(filepath.Join(dir, strings.ReplaceAll(m[1], "*", "stub")), false)
			}
			for _, m := range stubTmpl.FindAllStringSubmatch(r.stderr, -1) {
				if strings.HasSuffix(m[1], "/") {
					stub(filepath.Join(dir, m[1], "stub.erb"), false)
				} else {
					stub(filepath.Join(dir, m[1]), false)
				}
			}
			if !stubbed {
				break
			}
		}
		if rest, owners := imageOwners(r.stderr); rest == "" && owners != "" {
			t.Logf("entry %s: %s (not on this machine)", strings.Join(args, " "), owners)
			continue
		}
		if r.code != 0 || r.stderr != "" {
			return fmt.Errorf("entry %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	return nil
}

// imageOwners removes from stderr the lines saying that a render owner's
// user or group is not in this image, when it is not on this machine
// either: the image's users are not this machine's. It returns the other
// lines and the owners removed.
func imageOwners(stderr string) (rest, owners string) {
	var keep, gone []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		m := ownerAbsent.FindStringSubmatch(l)
		var err error
		if m != nil && m[3] == "user" {
			_, err = user.Lookup(m[1])
		} else if m != nil {
			_, err = user.LookupGroup(m[2])
		}
		if m != nil && err != nil {
			gone = append(gone, l)
		} else if l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n"), strings.Join(gone, "; ")
}
