package prehook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

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
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("env file %s: does not exist (create it, remove it from env_files / --env-file, or mark it {path: %s, required: false})", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("env file %s: %v", name, unwrapPath(err))
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %v (see https://github.com/joho/godotenv for the syntax)", name, unwrapPath(err))
	}
	return vars, nil
}

// unwrapPath drops the path from an *fs.PathError, which the caller
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
