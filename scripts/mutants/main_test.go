package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutantsFitTheCode runs on every test run, so that a change to the
// code a mutant points at fails fast here instead of at the next mutation
// run: each anchor occurs exactly once, and each mutated file still parses.
func TestMutantsFitTheCode(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if len(mutants) == 0 {
		t.Fatal("no mutants")
	}
	for _, m := range mutants {
		if !strings.HasPrefix(m.Package, "./") || !strings.HasPrefix(m.File, strings.TrimPrefix(m.Package, "./")+"/") {
			t.Errorf("%s: file %s is not in package %s", m.Bug, m.File, m.Package)
		}
		if _, err := os.Stat(filepath.Join(root, m.Package)); err != nil {
			t.Errorf("%s: %v", m.Bug, err)
		}
		out, err := mutate(root, m)
		if err != nil {
			t.Errorf("%s: %v", m.Bug, err)
			continue
		}
		if _, err := parser.ParseFile(token.NewFileSet(), m.File, out, 0); err != nil {
			t.Errorf("%s: the mutated file does not parse: %v", m.Bug, err)
		}
	}
}

// TestMutateRefusesAmbiguousAnchors: an anchor found twice, or not at all,
// is refused rather than applied somewhere unintended.
func TestMutateRefusesAmbiguousAnchors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.go"), []byte("package f\nvar a, b = 1, 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"1", "nowhere"} {
		_, err := mutate(dir, mutant{File: "f.go", Old: old, New: "2"})
		if err == nil || !strings.Contains(err.Error(), "anchor occurs") {
			t.Errorf("mutate with anchor %q: err = %v, want the anchor count refused", old, err)
		}
	}
	out, err := mutate(dir, mutant{File: "f.go", Old: "b = 1, 1", New: "b = 1, 2"})
	if err != nil || !strings.Contains(string(out), "b = 1, 2") {
		t.Errorf("mutate = %q, %v", out, err)
	}
}
