// Package config reads entry.yml, the one file that says what entry does at
// start-up and how the application's roles run.
//
// The file is strict: an unknown key, a value of the wrong type or a role
// without processes is an error naming the file and line, because a typo
// must not silently disable a hook. The types here are plain data; the
// command wires them into the domain packages (prehook, render, secrets,
// assets, supervise, deploy), which do not depend on this package.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/entryhq/entry/internal/readcap"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where entry looks for its config file when neither --config
// nor ENTRY_CONFIG names one.
const DefaultPath = "entry.yml"

// File is a parsed entry.yml. The zero value is the configuration of an
// absent file: load .env if present, run nothing else.
type File struct {
	// Path is the file the configuration was read from ("" when none).
	Path string `yaml:"-"`

	// EnvFiles are the .env files to load, in order; nil means ".env" when
	// it exists. The real environment always wins.
	EnvFiles []EnvFile `yaml:"env_files"`

	Render  Render  `yaml:"render"`
	Secrets Secrets `yaml:"secrets"`
	Assets  Assets  `yaml:"assets"`
	Hooks   []Hook  `yaml:"hooks"`

	// DefaultRole is the role started when none is named; "" means "web"
	// when such a role exists.
	DefaultRole string `yaml:"default_role"`
	Roles       Roles  `yaml:"roles"`
	// LogFormat is how supervised processes' output is written: prefix
	// (default), raw or json.
	LogFormat string `yaml:"log_format"`
	// ControlSocket is where a supervising entry serves entry ctl and entry
	// health: "" means /run/entry.sock, "none" serves none.
	ControlSocket string `yaml:"control_socket"`
	// Metrics is the HOST:PORT of a supervising entry's Prometheus text
	// endpoint; "" serves none.
	Metrics string `yaml:"metrics"`

	Deploy Deploy `yaml:"deploy"`
}

// An Error is a problem at a place in the config file.
type Error struct {
	File string
	Line int // 0 when the problem has no single place
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads and validates the config file at path. When optional is true
// and the file does not exist, Load returns the zero File.
func Load(path string, optional bool) (*File, error) {
	data, err := readcap.ReadFile(path, "config file", readcap.Config)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates config file data; name is used in errors.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Path: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, errorsEOF) {
			return f, nil // an empty file configures nothing
		}
		return nil, longKeyError(yamlError(name, err), data)
	}
	if len(doc.Content) == 0 {
		return f, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		return nil, &Error{File: name, Line: second.Line, Msg: "a second YAML document (---): entry reads one, so its keys would be ignored; merge it into the first and remove the ---"}
	} else if !errors.Is(err, errorsEOF) {
		return nil, yamlError(name, err)
	}
	if err := decodeStrict(root, f, "top level"); err != nil {
		return nil, withFile(name, err)
	}
	if errs := f.validate(); len(errs) > 0 {
		for i, err := range errs {
			errs[i] = withFile(name, err)
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// longKeyError explains a YAML syntax error on a line whose key is longer
// than the 1024 characters YAML allows a plain key, which yaml.v3 reports
// as "mapping values are not allowed in this context".
func longKeyError(err error, data []byte) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Line < 1 {
		return err
	}
	lines := bytes.Split(data, []byte("\n"))
	if ce.Line > len(lines) {
		return err
	}
	key, _, _ := bytes.Cut(bytes.TrimLeft(lines[ce.Line-1], " -"), []byte(":"))
	if n := len([]rune(string(key))); n > 1024 {
		return &Error{File: ce.File, Line: ce.Line, Msg: fmt.Sprintf("a key of %d characters: YAML allows at most 1024 (role and process names are at most %d)", n, MaxNameLen)}
	}
	return err
}

// validate checks what the YAML types cannot express. It returns every
// problem it finds, so that one run of entry config check lists them all.
func (f *File) validate() []error {
	var errs []error
	for _, check := range []func() error{f.validateEnvFiles, f.validateRender, f.validateDefaultRole, f.validateLogFormat} {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	return append(errs, f.Roles.validate()...)
}

// validateEnvFiles catches empty entries, which YAML decodes without
// calling EnvFile's unmarshaler (env_files: [~]).
func (f *File) validateEnvFiles() error {
	for i, e := range f.EnvFiles {
		if e.Path == "" {
			return &Error{Msg: fmt.Sprintf("env_files: entry %d is empty: give a path or {path: FILE, required: false}", i+1)}
		}
	}
	return nil
}

// validateRender catches a template rendered over itself and two templates
// rendering one file, which the second would silently overwrite. (A glob or
// a directory is checked once it is expanded, at start-up.)
func (f *File) validateRender() error {
	seen := map[string]int{}
	for i, t := range f.Render.Templates {
		if t.Src == "" || t.Dst == "" || strings.HasSuffix(t.Dst, "/") || strings.ContainsAny(t.Src, "*?[") {
			continue
		}
		dst := filepath.Clean(t.Dst)
		if dst == filepath.Clean(t.Src) {
			return &Error{Msg: fmt.Sprintf("render.templates[%d]: dst %s is the template itself; rendering would overwrite it (render into another file, e.g. drop the .erb)", i, t.Dst)}
		}
		if j, ok := seen[dst]; ok {
			return &Error{Msg: fmt.Sprintf("render.templates[%d] and [%d] both render to %s; give each template its own dst", j, i, t.Dst)}
		}
		seen[dst] = i
	}
	return nil
}

func (f *File) validateDefaultRole() error {
	if f.DefaultRole != "" && f.Roles.Get(f.DefaultRole) == nil {
		return &Error{Msg: fmt.Sprintf("default_role %q is not one of the roles (%s)", f.DefaultRole, f.Roles.namesList())}
	}
	return nil
}

func (f *File) validateLogFormat() error {
	switch f.LogFormat {
	case "", "prefix", "raw", "json":
		return nil
	}
	return &Error{Msg: fmt.Sprintf("log_format %q: want prefix, raw or json", f.LogFormat)}
}

// Name names the file in messages: its path, or what stood in for it.
func (f *File) Name() string {
	if f.Path == "" {
		return "the config (no entry.yml found)"
	}
	return f.Path
}

// DefaultRoleName is the role started when none is named: default_role, else
// "web" when configured, else the only role, else "".
func (f *File) DefaultRoleName() string {
	switch {
	case f.DefaultRole != "":
		return f.DefaultRole
	case f.Roles.Get("web") != nil:
		return "web"
	case len(f.Roles) == 1:
		return f.Roles[0].Name
	}
	return ""
}
