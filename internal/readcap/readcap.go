// Package readcap reads the files entry is given (configs, env files,
// templates, crontabs, vaults, manifests, task definitions) with a size cap.
//
// A file that is not a regular file (a device such as /dev/zero, a FIFO, a
// directory) or that is larger than its cap is refused at once, before any
// of it is read, so that a wrong path can neither hang entry nor exhaust its
// memory. A file that grows past its cap while being read is refused too.
package readcap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Size caps for the kinds of file entry reads. docs/config.md lists them.
const (
	Config    = 1 << 20  // entry.yml
	EnvFile   = 1 << 20  // .env files
	Template  = 10 << 20 // ERB templates
	Crontab   = 1 << 20  // crontabs
	Vault     = 16 << 20 // age vaults and key files
	Manifest  = 64 << 20 // assets manifests, local side
	TaskDef   = 1 << 20  // task definition and imagedefinitions.json files
	KeyFile   = 1 << 20  // age identity and recipients files
	Revision  = 4 << 10  // the REVISION file (a commit SHA)
	smallSize = 1 << 10
)

// ErrNotRegular is returned (wrapped) for a path that names a device, a
// FIFO, a socket or a directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned (wrapped) for a file larger than its cap.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads the regular file name, refusing it when it is larger than
// limit bytes. what names the kind of file in the error ("config file").
// Errors name the file; a missing file's error satisfies
// errors.Is(err, fs.ErrNotExist).
func ReadFile(name, what string, limit int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Check(name, what, fi, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, refuse(name, ErrTooLarge, "grew past the %s cap for %s while being read", Size(limit), article(what))
	}
	return data, nil
}

// An Error is a refused file: "PATH: REASON". Like an *fs.PathError,
// errors.Unwrap gives the reason without the path, for callers that name
// the file themselves; errors.Is finds ErrNotRegular or ErrTooLarge.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// reason is an Error's reason: a message that unwraps to its sentinel.
type reason struct {
	msg      string
	sentinel error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.sentinel }

func refuse(name string, sentinel error, format string, args ...any) error {
	return &Error{Path: name, Err: &reason{fmt.Sprintf(format, args...), sentinel}}
}

// Check refuses fi, the result of a stat of name, when it is not a regular
// file or is larger than limit.
func Check(name, what string, fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return refuse(name, ErrNotRegular, "is %s, not a regular file; give the path of %s", kind(fi.Mode()), article(what))
	}
	if fi.Size() > limit {
		size, capSize := Size(fi.Size()), Size(limit)
		if size == capSize || strings.TrimSuffix(size, ".0 MiB") == strings.TrimSuffix(capSize, " MiB") {
			size, capSize = fmt.Sprintf("%d B", fi.Size()), fmt.Sprintf("%d B", limit)
		}
		return refuse(name, ErrTooLarge, "%s is larger than the %s cap for %s", size, capSize, article(what))
	}
	return nil
}

// article puts "a" or "an" before what.
func article(what string) string {
	if what != "" && strings.ContainsRune("aeiou", rune(what[0])) {
		return "an " + what
	}
	return "a " + what
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	default:
		return "not a plain file"
	}
}

// Size formats n bytes for a message: "512 B", "1.5 KiB", "10 MiB".
func Size(n int64) string {
	const unit = 1024
	if n < smallSize {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
