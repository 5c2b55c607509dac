package testtool

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// A SyncBuffer collects a running process's output while a test reads it:
// a bytes.Buffer safe for one writer and readers at once.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls until the buffer holds s, for at most d, and fails the test
// with the output so far when it does not.
func (b *SyncBuffer) WaitFor(t testing.TB, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s; output:\n%s", s, d, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
