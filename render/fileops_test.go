package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// fileInputs are paths on which Ruby's File functions are easy to get
// wrong: slashes at either end or doubled, dots, tildes, empty.
var fileInputs = []string{
	"", "/", "//", "///", ".", "..", "a", "a/", "a//", "/a", "//a", "///a", "a//b", "a/b/", "/a/b//", "a.rb",
	".bashrc", "a.", "a..", "a.b.c", ".a.b", "a/.b", "a.b/", "a.b//", "/a.b/c", "..a", "...", "a/..", "a/.",
	"./a", "~", "~/x", "~/", "x/~", "a b.txt", "a.tar.gz", "/.", "/..", "..//a", "a/../../b", "/a/./b/../c",
	"/../a", "~root", "~root/x", "é.ü/ß.txt", "a.rb/", "/a/b.c.d/", "x/.", ".b.", "..b..",
}

// TestFileFunctionsLikeRuby compares File.basename (with suffixes),
// File.dirname, File.extname, File.join and File.expand_path (with and
// without a directory, ~ from HOME) with Ruby's on fileInputs.
func TestFileFunctionsLikeRuby(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	t.Setenv("HOME", "/home/u")
	var ruby map[string][]string
	rubyJSON(t, rubyBin, `
require "json"
out = {}
JSON.parse($stdin.read).each do |i|
  x = ->(&b) { begin; b.call; rescue ArgumentError => e; "ArgumentError: #{e.message}"; end }
  out[i] = [File.basename(i), File.basename(i, ".*"), File.basename(i, ".b"), File.basename(i, "b"), File.dirname(i),
            File.extname(i), File.join(i, i), File.join("a", i, "b"), x.() { File.expand_path(i) },
            x.() { File.expand_path(i, "/base//dir/") }, x.() { File.expand_path(i, "~") }, x.() { File.expand_path("x", i) }]
end
print JSON.generate(out)
`, fileInputs, &ruby)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ = filepath.EvalSymlinks(wd)
	st := &state{env: os.LookupEnv, rootDir: wd}
	expand := func(path, dir string) string {
		p, err := st.expandPath(path, dir)
		if err != nil {
			return "ArgumentError: " + err.Error()
		}
		return p
	}
	for _, i := range fileInputs {
		got := []string{fileBasename(i, ""), fileBasename(i, ".*"), fileBasename(i, ".b"), fileBasename(i, "b"), fileDirname(i),
			fileExtname(i), fileJoin([]string{i, i}), fileJoin([]string{"a", i, "b"}), expand(i, ""),
			expand(i, "/base//dir/"), expand(i, "~"), expand("x", i)}
		want := ruby[i]
		names := []string{"basename", "basename .*", "basename .b", "basename b", "dirname", "extname", "join(i, i)", "join(a, i, b)",
			"expand_path", "expand_path(i, /base//dir/)", "expand_path(i, ~)", "expand_path(x, i)"}
		for k := range got {
			if k >= len(want) || got[k] != want[k] {
				t.Errorf("%q: %s = %q, Ruby %q", i, names[k], got[k], want)
				break
			}
		}
	}
}

// TestFileTests: File.file?, File.directory? (and File.exist?) as Ruby
// answers them, symlinks followed.
func TestFileTests(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.Symlink("f", filepath.Join(dir, "lf"))
	os.Symlink("d", filepath.Join(dir, "ld"))
	os.Symlink("none", filepath.Join(dir, "dangling"))
	var srcs []string
	for _, name := range []string{"f", "d", "lf", "ld", "dangling", "none", "f/", "d/", ""} {
		p := filepath.Join(dir, name)
		if name == "" {
			p = ""
		} else if name[len(name)-1] == '/' {
			p += "/"
		}
		srcs = append(srcs, `<%= File.file?("`+p+`") %> <%= File.directory?("`+p+`") %> <%= File.exist? "`+p+`" %> <%= File.file? "`+p+`" %>`)
	}
	srcs = append(srcs, `<%= File.directory? Rails.root %> <%= File.file?(Rails.root.join("shell.go")) %> <%= File.extname "a/b.rb" %> <%= File.expand_path "x", "/y" %>`)
	compareWithRuby(t, rubyBin, `require "./testdata/rails";`, srcs, map[string]string{}, nil)
}
