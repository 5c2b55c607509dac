package prehook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/entryhq/entry/internal/readcap"

	"github.com/joho/godotenv"
)

// DefaultEnvFile is loaded when no env files are configured and it exists.
const DefaultEnvFile = ".env"

// An EnvFile is one .env file to load; an Optional one is skipped when it
// does not exist.
type EnvFile struct {
	Path     string
	Optional bool
}

// LoadEnvFiles reads .env files into env beneath what it already holds: a
// variable set by the real environment, or by an earlier file, keeps its
// value. A listed file that does not exist is an error unless it is
// optional, because a typo must not silently drop configuration; when files
// is nil, DefaultEnvFile is loaded if present. It returns the files it
// loaded.
func LoadEnvFiles(env *Env, files []EnvFile) ([]string, error) {
	if files == nil {
		files = []EnvFile{{Path: DefaultEnvFile, Optional: true}}
	}
	var loaded []string
	for _, f := range files {
		if _, err := os.Stat(f.Path); f.Optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		vars, err := readEnvFile(f.Path)
		if err != nil {
			return loaded, err
		}
		for _, k := range sortedKeys(vars) {
			env.SetDefault(k, vars[k])
		}
		loaded = append(loaded, f.Path)
	}
	return loaded, nil
}

func readEnvFile(name string) (map[string]string, error) {
	data, err := readcap.ReadFile(name, "env file", readcap.EnvFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("env file %s: does not exist (create it, remove it from env_files / --env-file, or mark it {path: %s, required: false})", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", name, unwrapPath(err))
	}
	return parseEnvFile(name, data)
}

// parseEnvFile parses the env file data read from name. A syntax error
// names the file and line and says what is wrong there, never quoting the
// file: godotenv's own message holds the rest of the file, secrets and all.
func parseEnvFile(name string, data []byte) (map[string]string, error) {
	data, err := checkEnvText(name, data)
	if err != nil {
		return nil, err
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		line, msg := envSyntaxError(data, err)
		if line > 0 {
			name = fmt.Sprintf("%s:%d", name, line)
		}
		return nil, fmt.Errorf("env file %s: %s (see https://github.com/joho/godotenv for the syntax)", name, msg)
	}
	// godotenv reads across a line holding no "=" into the next line's
	// name ("BROKEN\nKEY=v" sets a variable "BROKEN\nKEY"): refuse it.
	for k := range vars {
		if strings.ContainsAny(k, " \t\n") {
			lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")) // as godotenv reads it
			line := lineAt(lf, bytes.Index(lf, []byte(k)))
			return nil, fmt.Errorf("env file %s:%d: %s (see https://github.com/joho/godotenv for the syntax)", name, line, noEquals)
		}
	}
	if err := checkEnvVars(name, data, vars); err != nil {
		return nil, err
	}
	return vars, nil
}

const noEquals = "not a NAME=value line, an export NAME=value line or a # comment"

var (
	// Compiled on first use: they read godotenv's errors only.
	envBadChar = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)^unexpected character ("(?:[^"\\]|\\.)*") in variable name near ("(?:[^"\\]|\\.)*")$`)
	})
	envUnterminated = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)^unterminated quoted value (.*)$`) })
)

// envSyntaxError turns godotenv's error into a line (0 if unknown) and
// what is wrong there,
// locating the place from the text the error quotes, and dropping that
// text.
func envSyntaxError(data []byte, err error) (int, string) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")) // as godotenv does
	msg := err.Error()
	if m := envBadChar().FindStringSubmatch(msg); m != nil {
		char, err1 := strconv.Unquote(m[1])
		near, err2 := strconv.Unquote(m[2])
		if err1 == nil && err2 == nil && bytes.HasSuffix(data, []byte(near)) {
			line := lineAt(data, len(data)-len(near))
			if char == " " || char == "\t" || char == "\n" {
				return line, noEquals
			}
			return line, fmt.Sprintf("unexpected character %q in a variable name (names are letters, digits, _ and .)", char)
		}
	}
	if m := envUnterminated().FindStringSubmatch(msg); m != nil {
		quoted := []byte(m[1])
		if i := bytes.LastIndex(data, quoted); i >= 0 {
			return lineAt(data, i), fmt.Sprintf("a quoted value is not closed (its closing %s is missing)", quoted[:1])
		}
	}
	return 0, "syntax error (the file is not shown: it may hold secrets)"
}

// lineAt returns the 1-based line of byte offset i of data.
func lineAt(data []byte, i int) int {
	if i < 0 {
		return 1
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// unwrapPath drops the path from an *fs.PathError, which the caller
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var re *readcap.Error
	if errors.As(err, &re) {
		return re.Err
	}
	return err
}
