package readcap

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(small, "config file", 3)
	if err != nil || string(data) != "abc" {
		t.Fatalf("ReadFile at the cap = %q, %v; want abc", data, err)
	}
	_, err = ReadFile(small, "config file", 2)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the cap: err = %v, want ErrTooLarge", err)
	}
	if want := small + ": 3 B is larger than the 2 B cap for a config file"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message = %q, want prefix %q", err, want)
	}

	_, err = ReadFile(filepath.Join(dir, "missing"), "config file", 10)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero: is a character device, not a regular file; give the path of a crontab"},
		{fifo, fifo + ": is a FIFO, not a regular file; give the path of a crontab"},
		{dir, dir + ": is a directory, not a regular file; give the path of a crontab"},
	} {
		_, err := ReadFile(tc.path, "crontab", 1<<20)
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: err = %v, want ErrNotRegular", tc.path, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: message = %q, want prefix %q", tc.path, err, tc.want)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB",
		10 << 20: "10 MiB", 50 << 20: "50 MiB", 3 << 30: "3 GiB",
	} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// Like an *fs.PathError, a refusal unwraps to its reason without the path,
// for callers that name the file themselves, and still matches its
// sentinel.
func TestErrorUnwrapsToReason(t *testing.T) {
	_, err := ReadFile("/dev/zero", "template", 10)
	reason := errors.Unwrap(err)
	if reason == nil || reason.Error() != "is a character device, not a regular file; give the path of a template" {
		t.Fatalf("errors.Unwrap = %v", reason)
	}
	if !errors.Is(reason, ErrNotRegular) || !errors.Is(err, ErrNotRegular) {
		t.Errorf("the reason does not match ErrNotRegular: %v", err)
	}
	if err.Error() != "/dev/zero: "+reason.Error() {
		t.Errorf("message = %q", err)
	}
}
