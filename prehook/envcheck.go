package prehook

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxEnvEntry is the longest NAME=value the Linux kernel passes to a
// program (MAX_ARG_STRLEN, 32 pages, with its terminating NUL): a longer
// one makes every exec fail with "argument list too long".
const maxEnvEntry = 32*4096 - 1

// utf8BOM starts a file some editors save as "UTF-8 with BOM". entry.yml
// accepts it (YAML does), so env files do too.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// checkEnvText refuses, before godotenv reads it, what godotenv would
// silently change: bytes that are not UTF-8 (it would replace them with
// U+FFFD, so a value would differ from the file's). A leading BOM is
// dropped. Errors name the line, never its text.
func checkEnvText(name string, data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		bad := 0
		for bad < len(data) {
			r, size := utf8.DecodeRune(data[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		return nil, fmt.Errorf("env file %s:%d: bytes that are not UTF-8 (entry passes values on unchanged and will not guess: save the file as UTF-8)", name, lineAt(data, bad))
	}
	return data, nil
}

// checkEnvVars refuses variables no process can be given: one without a
// name (a line "=value"), a NUL byte, or a NAME=value longer than the
// kernel allows. Errors name the variable and the line, never the value.
func checkEnvVars(name string, data []byte, vars map[string]string) error {
	for _, k := range sortedKeys(vars) {
		v := vars[k]
		switch {
		case k == "":
			return fmt.Errorf("env file %s:%d: no variable name before = (write NAME=value)", name, lineOf(data, ""))
		case strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0:
			return fmt.Errorf("env file %s:%d: %s holds a NUL byte, which no environment variable can (remove it)", name, lineOf(data, k), strings.ReplaceAll(k, "\x00", `\0`))
		case len(k)+1+len(v) > maxEnvEntry:
			return fmt.Errorf("env file %s:%d: %s is %d bytes long; Linux passes at most %d bytes to a program as one variable (NAME=value), so no process could start: put the value in a file and pass its path", name, lineOf(data, k), k, len(k)+1+len(v), maxEnvEntry)
		}
	}
	return nil
}

// lineOf returns the line of data where variable k is set (1 when it
// cannot be told).
func lineOf(data []byte, k string) int {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(line, " \t")
		line = strings.TrimLeft(strings.TrimPrefix(line, "export "), " \t")
		if rest, ok := strings.CutPrefix(line, k); ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=") || ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), ":") {
			return i + 1
		}
	}
	return 1
}
