package secrets

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// PublicKeyComment is the comment line age-keygen writes above a key.
func PublicKeyComment(rcpt string) string { return "# public key: " + rcpt + "\n" }
