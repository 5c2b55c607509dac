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

// Erase overwrites the value of each named variable in the original
// environment block with zero bytes, so that /proc/self/environ no longer
// shows it. The process's own copy (os.Getenv) is not changed. Linux only.
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
	changed := false
	for off := 0; off < len(block); {
		n := bytes.IndexByte(block[off:], 0)
		if n < 0 {
			n = len(block) - off
		}
		entry := block[off : off+n]
		for _, name := range names {
			if bytes.HasPrefix(entry, []byte(name+"=")) {
				clear(entry[len(name)+1:])
				changed = true
			}
		}
		off += n + 1
	}
	if !changed {
		return nil
	}
	if _, err := mem.WriteAt(block, int64(start)); err != nil {
		return fmt.Errorf("erasing the environment block: %w", err)
	}
	return nil
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
