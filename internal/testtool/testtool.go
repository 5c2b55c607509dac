// Package testtool finds the external programs entry's tests run against
// (ruby, puma, redis-server, minio, unshare, ...).
//
// A test that needs a missing program is skipped when a developer runs
// `go test` by hand, but fails under scripts/test, which installs every
// program first and sets ENTRY_TEST_STRICT=1: CI must never pass by
// skipping.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Strict reports whether missing programs fail tests instead of skipping
// them.
func Strict() bool { return os.Getenv("ENTRY_TEST_STRICT") == "1" }

// Require returns the path of program name, looked up in PATH and then in
// $GOPATH/bin (where scripts/test installs MinIO). When it is missing the
// test is skipped, or failed under ENTRY_TEST_STRICT=1.
func Require(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(string(trimNewline(gopath)), "bin", name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name+" is not installed (scripts/test installs it)")
	return ""
}

// RequireRoot skips or fails the test unless it runs as root (needed for
// unshare --pid).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root (unshare --pid)")
	}
}

// Missing skips the test with reason, or fails it under ENTRY_TEST_STRICT=1.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s; ENTRY_TEST_STRICT=1 forbids skipping", reason)
	}
	t.Skip(reason)
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
