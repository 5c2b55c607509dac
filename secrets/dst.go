package secrets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/entryhq/entry/internal/atomicfile"
)

// A Guarded file is one that a vault's plain text must never replace: a
// vault (its own or another), a template, another step's output, the
// config file, the age key.
type Guarded struct {
	Path string // as the user wrote it
	What string // what it is, for the message: "the vault itself"
}

// CheckDst refuses a destination for the plain text of vault src that is
// one of guarded, or an existing directory. Paths are compared as the write
// would resolve them: ./a and a are one file, a symbolic link is its
// target (as the atomic write follows it), and two hard links to one file
// are that file. The error says what dst is, never a value.
func CheckDst(dst, src string, guarded []Guarded) error {
	plain := PlainName(filepath.Base(src))
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory (name the file to write in it, e.g. %s)", dst, filepath.Join(dst, plain))
	}
	for _, g := range guarded {
		if g.Path != "" && SamePath(dst, g.Path) {
			return fmt.Errorf("%s is %s: the plain text would replace it (write it to a file of its own, e.g. %s)", dst, g.What, filepath.Join(filepath.Dir(dst), plain))
		}
	}
	return nil
}

// SamePath reports whether a write to a would replace the file b, as
// CheckDst compares them.
func SamePath(a, b string) bool {
	ra, rb := resolvePath(a), resolvePath(b)
	if ra == rb {
		return true
	}
	fa, errA := os.Stat(ra)
	fb, errB := os.Stat(rb)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// resolvePath is the absolute, link-free name of the file a write to p
// replaces; a part that does not exist yet is kept as written.
func resolvePath(p string) string {
	if t, err := atomicfile.Target(p); err == nil {
		p = t
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	dir, base := filepath.Split(abs)
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return filepath.Join(r, base)
	}
	return abs
}

// PlainName suggests where a vault's plain text could go: its name
// without .enc, or with .plain added.
func PlainName(src string) string {
	if s, ok := strings.CutSuffix(src, ".enc"); ok && s != "" {
		return s
	}
	return src + ".plain"
}
