package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Dockerfile.example is documentation that cannot be built here (no Docker
// engine), so this test checks what it names: the application files it
// copies exist in examples/rails, and every entry command it runs — RUN
// lines, ENTRYPOINT and CMD — succeeds against that tree with this binary.
func TestDockerfileExample(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile.example")
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	if out, err := exec.Command("cp", "-a", "../../examples/rails/.", app).CombinedOutput(); err != nil {
		t.Fatalf("copying examples/rails: %v\n%s", err, out)
	}
	// The image's PATH has Ruby's bundle, which the example's hook runs;
	// entry checks that a hook's program exists.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "bundle"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	imageEnv := []string{"RAILS_ENV=production", "PATH=" + bin + ":" + os.Getenv("PATH")}
	var entrypoint, cmd []string
	ran := 0
	for _, ins := range dockerInstructions(string(data)) {
		word, rest, _ := strings.Cut(ins, " ")
		switch strings.ToUpper(word) {
		case "COPY":
			args := strings.Fields(rest)
			if args[0] == "--from=entry-src" {
				// The entry stage builds from a checkout of this repository.
				for _, src := range args[1 : len(args)-1] {
					if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
						t.Errorf("COPY --from=entry-src %s: not in the repository", src)
					}
				}
				continue
			}
			if strings.HasPrefix(args[0], "--from=") {
				continue
			}
			for _, src := range args[:len(args)-1] {
				if _, err := os.Stat(filepath.Join(app, src)); err != nil {
					t.Errorf("COPY %s: not in examples/rails", src)
				}
			}
		case "RUN":
			for _, part := range strings.Split(rest, "&&") {
				fields := strings.Fields(part)
				if len(fields) == 0 || fields[0] != "entry" {
					continue
				}
				args := fields[1:]
				for i, a := range args {
					if a == "/usr/local/bin" {
						args[i] = t.TempDir()
					}
				}
				if r := runEntry(t, app, imageEnv, args...); r.code != 0 {
					t.Errorf("RUN entry %s: exit %d\n%s%s", strings.Join(fields[1:], " "), r.code, r.stdout, r.stderr)
				}
				ran++
			}
		case "ENTRYPOINT":
			entrypoint = jsonArgs(t, rest)
		case "CMD":
			cmd = jsonArgs(t, rest)
		}
	}
	if ran < 5 {
		t.Errorf("found only %d entry commands in RUN lines; the parser lost some", ran)
	}
	if len(entrypoint) != 1 || entrypoint[0] != "entry" {
		t.Fatalf("ENTRYPOINT %q, want [\"entry\"]", entrypoint)
	}
	// What the container starts with: check it as entry would run it.
	if r := runEntry(t, app, imageEnv, append([]string{"config", "check"}, cmd...)...); r.code != 0 || !strings.Contains(r.stdout, "start role web") {
		t.Errorf("ENTRYPOINT+CMD %q: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
	}
}

// dockerInstructions joins continuation lines and drops comments.
func dockerInstructions(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		t.Fatalf("%s: not an exec-form JSON array: %v", s, err)
	}
	return args
}

// The README and the EntryKit guide show a short Dockerfile; each of its
// instructions that builds or copies entry must be one Dockerfile.example
// has (which TestDockerfileExample checks), so there is one snippet, and it
// is correct, everywhere.
func TestDockerfileSnippets(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile.example")
	if err != nil {
		t.Fatal(err)
	}
	example := map[string]bool{}
	for _, ins := range dockerInstructions(string(data)) {
		example[ins] = true
	}
	for _, doc := range []string{"../../README.md", "../../docs/entrykit.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		_, block, ok := strings.Cut(string(text), "```dockerfile\n")
		block, _, _ = strings.Cut(block, "```")
		if !ok || block == "" {
			t.Errorf("%s: no dockerfile snippet", doc)
			continue
		}
		checked := 0
		for _, ins := range dockerInstructions(block) {
			if !strings.Contains(ins, "AS entry") && !strings.Contains(ins, "--from=entry") && !strings.Contains(ins, "go build") {
				continue
			}
			checked++
			if !example[ins] {
				t.Errorf("%s: %q is not what Dockerfile.example does", doc, ins)
			}
		}
		if checked < 4 {
			t.Errorf("%s: the snippet builds and copies entry in %d instructions, want the 4 of Dockerfile.example", doc, checked)
		}
	}
}
