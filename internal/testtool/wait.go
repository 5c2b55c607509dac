package testtool

import (
	"testing"
	"time"
)

// Patience is how long a test waits for an event it expects (a process
// ready, a trap installed, a cron run, an exit): generous, because the
// suite must pass on a busy 2-core machine, yet far below the package's
// test timeout, so that a hang fails the one test naming what it waited
// for. Tests never wait this long when all is well.
const Patience = 30 * time.Second

// Eventually polls cond until it holds, for at most Patience, and fails the
// test naming what it waited for (and detail(), when given) when it does
// not.
func Eventually(t testing.TB, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	if !Poll(Patience, cond) {
		msg := ""
		for _, d := range detail {
			msg += "\n" + d()
		}
		t.Fatalf("%s: not within %s%s", what, Patience, msg)
	}
}

// Poll polls cond until it holds or d passes, and reports whether it held.
// It is for goroutines, which must not call t.Fatal.
func Poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
