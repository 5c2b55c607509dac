package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSamePath: the names under which a write would replace one file.
func TestSamePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.MkdirAll("real/sub", 0o755)
	os.WriteFile("real/a.enc", []byte("x"), 0o644)
	os.Link("real/a.enc", "hard.enc")
	os.Symlink("real", "dirlink")
	os.Symlink("real/a.enc", "filelink")
	os.Symlink("real/missing", "dangling")
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"real/a.enc", "./real/a.enc", true},
		{"real/a.enc", filepath.Join(dir, "real/sub/../a.enc"), true},
		{"hard.enc", "real/a.enc", true},
		{"dirlink/a.enc", "real/a.enc", true},
		{"filelink", "real/a.enc", true},
		{"dangling", "real/missing", true}, // the write would create real/missing
		{"dirlink/new", "real/new", true},
		{"real/b.enc", "real/a.enc", false},
		{"real/sub", "real", false},
	} {
		if got := SamePath(tc.a, tc.b); got != tc.same {
			t.Errorf("SamePath(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
