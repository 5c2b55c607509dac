// Command mutants checks that the tests catch the bugs users fear: it puts
// each bug of its list (mutants.go) into the code, one at a time, runs the
// tests of the package that owns the logic, and fails when a bug survives
// (the tests pass with it) or when the code no longer fits the list.
//
//	go run ./scripts/mutants [-run REGEXP] [-v]
//
// The tree is never modified: each mutated file is handed to `go test`
// through -overlay, so an interrupted run leaves nothing behind.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	run := flag.String("run", "", "apply only the mutants whose package, file or bug matches this regular expression")
	verbose := flag.Bool("v", false, "print the tests' output for every mutant")
	timeout := flag.Duration("timeout", 10*time.Minute, "time allowed for one mutant's tests")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fatal(err)
	}
	var filter *regexp.Regexp
	if *run != "" {
		if filter, err = regexp.Compile(*run); err != nil {
			fatal(fmt.Errorf("-run: %v", err))
		}
	}
	tmp, err := os.MkdirTemp("", "entry-mutants-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)

	var survived, broken, caught int
	for i, m := range mutants {
		if filter != nil && !filter.MatchString(m.Package+" "+m.File+" "+m.Bug) {
			continue
		}
		res := apply(root, tmp, i, m, *timeout)
		fmt.Printf("%-9s %-12s %s (%s)\n", res.verdict, m.Package, m.Bug, m.File)
		if *verbose || res.verdict != caughtVerdict {
			os.Stdout.Write(indent(res.output))
		}
		switch res.verdict {
		case caughtVerdict:
			caught++
		case survivedVerdict:
			survived++
		default:
			broken++
		}
	}
	fmt.Printf("mutants: %d caught, %d survived, %d could not be applied\n", caught, survived, broken)
	if survived+broken > 0 {
		os.Exit(1)
	}
}

const (
	caughtVerdict   = "CAUGHT"
	survivedVerdict = "SURVIVED"
	brokenVerdict   = "BROKEN"
)

type result struct {
	verdict string
	output  []byte
}

// apply runs m's package tests with m in place of the original file.
func apply(root, tmp string, i int, m mutant, timeout time.Duration) result {
	mutated, err := mutate(root, m)
	if err != nil {
		return result{brokenVerdict, []byte(err.Error() + "\n")}
	}
	file := filepath.Join(tmp, fmt.Sprintf("mutant%d.go", i))
	if err := os.WriteFile(file, mutated, 0o644); err != nil {
		return result{brokenVerdict, []byte(err.Error())}
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, m.File): file}})
	overlayFile := filepath.Join(tmp, fmt.Sprintf("overlay%d.json", i))
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return result{brokenVerdict, []byte(err.Error())}
	}
	// The build must succeed: a mutant that does not compile proves nothing.
	vet := exec.Command("go", "vet", "-overlay", overlayFile, m.Package)
	vet.Dir = root
	if out, err := vet.CombinedOutput(); err != nil {
		return result{brokenVerdict, append([]byte("the mutant does not build:\n"), out...)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-overlay", overlayFile, m.Package+"/...")
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return result{brokenVerdict, append(out, fmt.Sprintf("tests did not finish within %v\n", timeout)...)}
	}
	if err == nil {
		return result{survivedVerdict, out}
	}
	if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
		return result{brokenVerdict, out}
	}
	return result{caughtVerdict, out}
}

// mutate returns m.File with m.Old replaced by m.New; Old must occur
// exactly once, so that a mutant never lands somewhere unintended.
func mutate(root string, m mutant) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return nil, err
	}
	if n := bytes.Count(src, []byte(m.Old)); n != 1 {
		return nil, fmt.Errorf("%s: the mutant's anchor occurs %d times, want once (update scripts/mutants/mutants.go): %q", m.File, n, m.Old)
	}
	if m.Old == m.New {
		return nil, fmt.Errorf("%s: the mutant changes nothing", m.File)
	}
	return bytes.Replace(src, []byte(m.Old), []byte(m.New), 1), nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run it inside the repository")
	}
	return filepath.Dir(mod), nil
}

func indent(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if len(b) > 4000 {
		b = append([]byte("…"), b[len(b)-4000:]...)
	}
	return append(append([]byte("    "), bytes.ReplaceAll(b, []byte("\n"), []byte("\n    "))...), '\n')
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(2)
}
