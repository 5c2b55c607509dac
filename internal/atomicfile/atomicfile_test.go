package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTarget(t *testing.T) {
	dir := t.TempDir()
	shm := filepath.Join(dir, "shm")
	app := filepath.Join(dir, "app")
	for _, d := range []string{shm, filepath.Join(app, "config"), filepath.Join(app, "links")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) string {
		t.Helper()
		p := filepath.Join(app, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := filepath.Join(app, "config", "plain.yml")
	os.WriteFile(plain, []byte("x"), 0o600)
	tests := []struct {
		name, path, want, err string
	}{
		{"missing file", filepath.Join(app, "config", "new.yml"), filepath.Join(app, "config", "new.yml"), ""},
		{"regular file", plain, plain, ""},
		{"link to a missing file on a tmpfs", link(filepath.Join(shm, "secrets.yml"), "config/secrets.yml"), filepath.Join(shm, "secrets.yml"), ""},
		{"relative link", link("../config/plain.yml", "links/rel.yml"), plain, ""},
		{"chain of links", link(filepath.Join(app, "config/secrets.yml"), "links/chain.yml"), filepath.Join(shm, "secrets.yml"), ""},
		{"link into a missing directory", link(filepath.Join(dir, "run/secrets/s.yml"), "config/unmounted.yml"), "",
			"a symbolic link to " + filepath.Join(dir, "run/secrets/s.yml") + ", whose directory " + filepath.Join(dir, "run/secrets") + " does not exist (is the file system it is on mounted?); nothing was written"},
		{"loop", link("loop.yml", "links/loop.yml"), "", "more than 40 symbolic links in a row from " + filepath.Join(app, "links/loop.yml") + " (a loop?); nothing was written"},
	}
	for _, tt := range tests {
		got, err := Target(tt.path)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("%s: Target = %q, %q\nwant %q, %q", tt.name, got, gotErr, tt.want, tt.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Errorf("Target created the missing directory: %v", err)
	}
}
