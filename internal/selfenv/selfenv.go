// Package selfenv erases values from the process's original environment
// block, the memory /proc/PID/environ shows to other processes of the same
// user. Removing a variable with os.Unsetenv does not touch that block: Go
// copied it at start-up, and the kernel keeps showing the original.
package selfenv

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Erase removes each named variable from the original environment block,
// so that /proc/self/environ shows neither its value nor its name: the
// entries after it move up and the freed bytes at the end become zero
// bytes (empty entries to a reader of the block). The process's own copy
// (os.Getenv) is not changed. Linux only.
//
// The block is rewritten in place, through /proc/self/mem, rather than by
// re-executing entry without the variables: a re-exec would need the
// values passed on some other way and would change what PID 1 is running
// mid-start, and shrinking the block with prctl(PR_SET_MM) needs
// CAP_SYS_RESOURCE, which containers do not have by default.
func Erase(names ...string) error {
	start, end, err := envBounds()
	if err != nil {
		return err
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	block := make([]byte, end-start)
	if _, err := mem.ReadAt(block, int64(start)); err != nil {
		return fmt.Errorf("reading the environment block: %w", err)
	}
	kept := make([]byte, 0, len(block))
	changed := false
	for off := 0; off < len(block); {
		n := bytes.IndexByte(block[off:], 0)
		if n < 0 {
			n = len(block) - off
		}
		entry := block[off : off+n]
		off += n + 1
		if len(entry) == 0 || erased(entry, names) {
			changed = changed || len(entry) > 0
			continue
		}
		kept = append(append(kept, entry...), 0)
	}
	if !changed {
		return nil
	}
	copy(block, kept)
	clear(block[len(kept):])
	if _, err := mem.WriteAt(block, int64(start)); err != nil {
		return fmt.Errorf("erasing the environment block: %w", err)
	}
	return nil
}

// erased reports whether entry (NAME=value) is one of names.
func erased(entry []byte, names []string) bool {
	for _, name := range names {
		if bytes.HasPrefix(entry, []byte(name+"=")) {
			return true
		}
	}
	return false
}

// envBounds reads env_start and env_end, fields 50 and 51 of
// /proc/self/stat (proc(5)).
func envBounds() (start, end uint64, err error) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which may itself hold spaces.
	i := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[i+1:]))
	const envStart = 50 - 3 // fields 1 and 2 precede the ')'; index 0 is field 3
	if len(fields) <= envStart+1 {
		return 0, 0, fmt.Errorf("/proc/self/stat has no env_start/env_end (kernel older than 3.5)")
	}
	if start, err = strconv.ParseUint(fields[envStart], 10, 64); err == nil {
		end, err = strconv.ParseUint(fields[envStart+1], 10, 64)
	}
	if err != nil || end <= start {
		return 0, 0, fmt.Errorf("/proc/self/stat: bad env_start/env_end")
	}
	return start, end, nil
}
