package render

import (
	"os"
	"os/user"
	"strings"
)

// This file holds the read-only File functions beyond File.read and
// File.exist?: File.file?, File.directory?, File.extname and
// File.expand_path, with Ruby's results on every input.

// fileOp evaluates File.file?, File.directory?, File.extname and
// File.expand_path.
func (st *state) fileOp(x *expr, args []value) (value, error) {
	for i, a := range args {
		if a.k != kStr && a.k != kPath {
			return value{}, st.typeError(x.args[i], a, "String")
		}
		if strings.IndexByte(a.s, 0) >= 0 {
			return value{}, st.errorf(x.args[i].pos, "string contains null byte (Ruby raises ArgumentError here)")
		}
	}
	switch x.fn {
	case fFileFile, fFileDirectory:
		fi, err := os.Stat(args[0].s)
		if err != nil {
			return boolValue(false), nil
		}
		if x.fn == fFileFile {
			return boolValue(fi.Mode().IsRegular()), nil
		}
		return boolValue(fi.IsDir()), nil
	case fFileExtname:
		return strValue(fileExtname(args[0].s)), nil
	}
	dir := ""
	if len(args) > 1 {
		dir = args[1].s
	}
	p, err := st.expandPath(args[0].s, dir)
	if err != nil {
		return value{}, st.errorf(x.pos, "%s (Ruby raises ArgumentError here)", err.Error())
	}
	return strValue(p), nil
}

// fileExtname is File.extname: the last dot of the base name and what
// follows, leading dots not counted ("a.rb" → ".rb", ".bashrc" → "",
// "a." → ".").
func fileExtname(path string) string {
	base := fileBasename(path, "")
	rest := strings.TrimLeft(base, ".")
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		return rest[i:]
	}
	return ""
}

type expandError string

func (e expandError) Error() string { return string(e) }

// expandPath is File.expand_path(path, dir): an absolute path, "." and
// ".." resolved without looking at the file system, ~ and ~user expanded
// from HOME and the user database, relative paths taken from dir (itself
// expanded) or the working directory. A run of slashes at the start of an
// absolute path stays as written, as in Ruby.
func (st *state) expandPath(path, dir string) (string, error) {
	switch {
	case strings.HasPrefix(path, "~"):
		name, rest, _ := strings.Cut(path[1:], "/")
		home, err := st.home(name)
		if err != nil {
			return "", err
		}
		return normalizePath(home, rest), nil
	case strings.HasPrefix(path, "/"):
		return normalizePath("", path), nil
	}
	base := st.root()
	if dir != "" {
		d, err := st.expandPath(dir, "")
		if err != nil {
			return "", err
		}
		base = d
	}
	return normalizePath(base, path), nil
}

// home is the home directory of user name, or of the current user for "":
// HOME when it is set, as Ruby reads it.
func (st *state) home(name string) (string, error) {
	if name == "" {
		if h, ok := st.env("HOME"); ok {
			if !strings.HasPrefix(h, "/") {
				return "", expandError("non-absolute home")
			}
			return h, nil
		}
		u, err := user.Current()
		if err != nil {
			return "", expandError("couldn't find login name -- expanding '~'")
		}
		return u.HomeDir, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", expandError("user " + name + " doesn't exist")
	}
	if !strings.HasPrefix(u.HomeDir, "/") {
		return "", expandError("non-absolute home of " + name)
	}
	return u.HomeDir, nil
}

// normalizePath appends path to the absolute base and resolves "." and
// ".." (never above the root) and repeated slashes; the slashes that
// begin the result are kept as written.
func normalizePath(base, path string) string {
	full, lead := path, len(path)-len(strings.TrimLeft(path, "/"))
	if base != "" {
		full, lead = base+"/"+path, len(base)-len(strings.TrimLeft(base, "/"))
	}
	var parts []string
	for _, part := range strings.Split(full[lead:], "/") {
		switch part {
		case "", ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, part)
		}
	}
	return full[:lead] + strings.Join(parts, "/")
}
