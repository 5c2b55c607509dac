package prehook

import (
	"bytes"
	"errors"
	"github.com/entryhq/entry/internal/readcap"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A syntax error names the file and line and never shows the file's
// content: the lines after a broken one are often secrets.
func TestEnvFileSyntaxErrorsHideContent(t *testing.T) {
	const secret = "s3cr3t"
	const hint = " (see https://github.com/joho/godotenv for the syntax)"
	for _, tc := range []struct{ data, want string }{
		{"A=1\nBROKEN LINE\nSECRET_KEY_BASE=" + secret + "\n", "env file F:2: not a NAME=value line, an export NAME=value line or a # comment" + hint},
		{"A=1\r\nB=2\r\nBROKEN\r\nSECRET_KEY_BASE=" + secret + "\r\n", "env file F:3: not a NAME=value line, an export NAME=value line or a # comment" + hint},
		{"BROKEN\nSECRET_KEY_BASE=" + secret + "\n", "env file F:1: not a NAME=value line, an export NAME=value line or a # comment" + hint},
		{"A=1\r\nB!x=" + secret + "\n", "env file F:2: unexpected character \"!\" in a variable name (names are letters, digits, _ and .)" + hint},
		{"A=1\n\nTOKEN=\"" + secret + "\nB=2\n", "env file F:3: a quoted value is not closed (its closing \" is missing)" + hint},
		{"# c\nTOKEN='" + secret, "env file F:2: a quoted value is not closed (its closing ' is missing)" + hint},
	} {
		_, err := parseEnvFile("F", []byte(tc.data))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%q: the error shows the file's content: %v", tc.data, err)
		}
	}
}

// /dev/zero and a FIFO are refused at once, by name, and a file over the
// cap by its size; the environment is left as it was.
func TestEnvFileNotRegularOrTooLarge(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.env")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.env")
	if err := os.WriteFile(big, []byte(strings.Repeat("A=1\n", (1<<20)/4+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/dev/zero": "env file /dev/zero: is a character device, not a regular file; give the path of an env file",
		fifo:        "env file " + fifo + ": is a FIFO, not a regular file; give the path of an env file",
		big:         "env file " + big + ": 1048580 B is larger than the 1048576 B cap for an env file",
	} {
		env := EnvFromList([]string{"KEEP=1"})
		done := make(chan error, 1)
		go func() { _, err := LoadEnvFiles(env, []EnvFile{{Path: path}}); done <- err }()
		select {
		case err := <-done:
			if err == nil || err.Error() != want {
				t.Errorf("%s:\n got %v\nwant %s", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: LoadEnvFiles did not return within 10s", path)
		}
		if got := env.List(); len(got) != 1 {
			t.Errorf("%s: the environment changed: %v", path, got)
		}
	}
}

// FuzzLoadEnvFile reads fuzzed env files, each followed by a secret line:
// an error never shows the secret (nor any other line of the file), a
// variable is never named across lines, and a file over readcap.EnvFile is
// refused unread. Its seeds run as an ordinary test.
func FuzzLoadEnvFile(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "BROKEN LINE\n", "BROKEN\n", "X=\"open\n", "Y='open", "export Z=1\n", "K: v\n", "a b c\n",
		"A!=1\n", "# only a comment\n", "A=\"multi\nline\"\n", "\r\n=\r\n", strings.Repeat("x", 1<<20),
	} {
		f.Add([]byte(s))
	}
	const marker = "Zq9xK3vWsecret"
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte(marker)) {
			return
		}
		content := append(append([]byte{}, data...), "\nSECRET_KEY_BASE="+marker+"\n"...)
		path := filepath.Join(dir, "fuzz.env")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		env := EnvFromList(nil)
		_, err := LoadEnvFiles(env, []EnvFile{{Path: path}})
		if len(content) > readcap.EnvFile {
			if !errors.Is(err, readcap.ErrTooLarge) {
				t.Fatalf("a %d-byte env file: err = %v, want it refused as too large", len(content), err)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("the error shows the file's content: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "env file "+path) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for _, k := range env.Keys() {
			if strings.ContainsAny(k, " \t\n") {
				t.Fatalf("accepted a variable named across lines: %q", k)
			}
		}
	})
}
