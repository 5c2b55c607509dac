// Package atomicfile finds where an atomic write (a temporary file in the
// destination's directory, renamed over it) must happen when the
// destination is a symbolic link.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds a chain of links, as the kernel's ELOOP does.
const maxLinks = 40

// Target returns the file a write to path must replace. For a regular or
// missing file that is path itself. For a symbolic link it is the file the
// link points to, following links as open(2) does, even when that file does
// not exist yet: renaming over the link itself would replace it with a
// regular file, so plain text meant for a tmpfs (config/secrets.yml ->
// /dev/shm/secrets.yml) would land on the image's writable layer instead.
//
// The directory of a link's target must exist: it is never created, so
// that a tmpfs that is not mounted is an error rather than a directory made
// on the disk underneath.
func Target(path string) (string, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if p != path {
				if _, err := os.Stat(filepath.Dir(p)); err != nil {
					return "", fmt.Errorf("a symbolic link to %s, whose directory %s does not exist (is the file system it is on mounted?); nothing was written", p, filepath.Dir(p))
				}
			}
			return p, nil
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink == 0:
			return p, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			// Relative to the link's real directory, as the kernel reads it.
			dir, err := filepath.EvalSymlinks(filepath.Dir(p))
			if err != nil {
				return "", err
			}
			link = filepath.Join(dir, link)
		}
		p = link
	}
	return "", fmt.Errorf("more than %d symbolic links in a row from %s (a loop?); nothing was written", maxLinks, path)
}
