package prehook

import (
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
