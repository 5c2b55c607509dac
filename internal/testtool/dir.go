package testtool

import (
	"os"
	"slices"
	"testing"
)

// DirNames lists the names in dir, sorted: a test compares it before and
// after a failure to show that nothing was written or left behind.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}
