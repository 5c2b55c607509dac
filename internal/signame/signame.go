// Package signame names signals the way operators write them (TERM,
// SIGTERM) for entry's config, logs and errors.
package signame

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Parse accepts a signal name with or without SIG, in any case (TERM,
// SIGTERM, term), or a number from 1 to 64.
func Parse(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 && strconv.Itoa(n) == s {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q (use a name such as TERM, QUIT or USR1)", s)
}

// String returns sig's name, SIGTERM, or "signal N" for one without a name.
func String(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}
