package prehook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/atomicfile"
	"github.com/entryhq/entry/render"
)

// A RenderJob is one template to render to one file.
type RenderJob struct {
	Src, Dst string
	Mode     *os.FileMode // nil: the template's mode
	Owner    string       // "" or user[:group]
}

// Write writes data to j.Dst atomically, with the template's mode or
// j.Mode, owned by j.Owner. On failure the old file stays and no temporary
// file is left.
func (j RenderJob) Write(data []byte) error {
	mode := os.FileMode(0o644)
	if j.Mode != nil {
		mode = *j.Mode
	} else if st, err := os.Stat(j.Src); err == nil {
		mode = st.Mode().Perm()
	}
	if err := atomicfile.WriteFile(j.Dst, data, mode, false, j.Owner); err != nil {
		return fmt.Errorf("%s: %v", j.Dst, err)
	}
	return nil
}

// renderStep is the start-up step that renders the templates of entry.yml.
// It is not strict unless render.strict is true: see docs/render.md.
type renderStep struct {
	templates []config.Template
	strict    bool
}

// NewRenderStep returns the start-up step that renders cfg.Render, or nil
// when nothing is configured.
func NewRenderStep(cfg *config.File) (Step, error) {
	r := cfg.Render
	if len(r.Templates) == 0 {
		return nil, nil
	}
	for i, t := range r.Templates {
		where := fmt.Sprintf("%s: render.templates[%d]", cfg.Name(), i)
		switch {
		case t.Src == "":
			return nil, fmt.Errorf("%s: src is missing (the template, such as docker/config/database.yml.erb)", where)
		case t.Dst == "":
			return nil, fmt.Errorf("%s: dst is missing (the file or directory to render %s into)", where, t.Src)
		case t.Owner != "":
			// Looked up now, as a vault's owner is: a user missing from
			// the image fails entry config check, not only start-up.
			if _, _, err := atomicfile.LookupOwner(t.Owner); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
		}
		if _, err := filepath.Match(t.Src, ""); err != nil {
			return nil, fmt.Errorf("%s: src %q: bad glob pattern", where, t.Src)
		}
	}
	return &renderStep{templates: r.Templates, strict: r.Strict != nil && *r.Strict}, nil
}

func (s *renderStep) Name() string { return "render" }

// renderHasGlob reports whether src is a glob pattern.
func renderHasGlob(src string) bool { return strings.ContainsAny(src, "*?[") }

// jobs expands the configured templates into files: a glob or a directory
// maps each template to dst/NAME with .erb dropped. It goes on past a
// problem and returns them all.
func (s *renderStep) jobs() ([]RenderJob, []error) {
	var jobs []RenderJob
	var errs []error
	seen := map[string]string{}
	add := func(t config.Template, src, dst string) {
		if filepath.Clean(src) == filepath.Clean(dst) {
			errs = append(errs, fmt.Errorf("render: %s would be rendered over itself (give render.templates a dst other than the template)", src))
			return
		}
		if prev, ok := seen[dst]; ok {
			errs = append(errs, fmt.Errorf("render: %s and %s both render to %s (fix render.templates in the config)", prev, src, dst))
			return
		}
		seen[dst] = src
		j := RenderJob{Src: src, Dst: dst, Owner: t.Owner}
		if t.Mode != nil {
			m := os.FileMode(*t.Mode)
			j.Mode = &m
		}
		jobs = append(jobs, j)
	}
	for _, t := range s.templates {
		var matches []string
		if renderHasGlob(t.Src) {
			matches, _ = filepath.Glob(t.Src)
			if len(matches) == 0 {
				errs = append(errs, fmt.Errorf("render: %s matches no template (check render.templates in the config)", t.Src))
				continue
			}
		} else if st, err := os.Stat(t.Src); err != nil {
			errs = append(errs, fmt.Errorf("render: %s: no such template (check render.templates in the config)", t.Src))
			continue
		} else if st.IsDir() {
			matches, _ = filepath.Glob(filepath.Join(t.Src, "*.erb"))
			if len(matches) == 0 {
				errs = append(errs, fmt.Errorf("render: directory %s holds no .erb template", t.Src))
				continue
			}
		}
		if matches == nil {
			dst := t.Dst
			if st, err := os.Stat(dst); strings.HasSuffix(dst, "/") || err == nil && st.IsDir() {
				dst = filepath.Join(dst, strings.TrimSuffix(filepath.Base(t.Src), ".erb"))
			}
			add(t, t.Src, dst)
			continue
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err != nil || st.IsDir() {
				continue
			}
			add(t, m, filepath.Join(t.Dst, strings.TrimSuffix(filepath.Base(m), ".erb")))
		}
	}
	return jobs, errs
}

func renderLine(j RenderJob) string { return fmt.Sprintf("render %s (from %s)", j.Dst, j.Src) }

// Plan lists the files Run would render, and any template that does not
// parse.
func (s *renderStep) Plan(env *Env) []string {
	jobs, errs := s.jobs()
	var lines []string
	for _, err := range errs {
		lines = append(lines, err.Error())
	}
	for _, j := range jobs {
		line := renderLine(j)
		if _, err := render.ParseFile(j.Src); err != nil {
			line += ": will fail: " + err.Error()
		}
		lines = append(lines, line)
	}
	return lines
}

// Check finds what Run would fail on before writing anything: a template
// that is missing or does not parse, two templates rendering one file.
func (s *renderStep) Check(*Env) []error {
	jobs, errs := s.jobs()
	for _, j := range jobs {
		if _, err := render.ParseFile(j.Src); err != nil {
			errs = append(errs, fmt.Errorf("render: %v", err))
		}
	}
	return errs
}

// Run renders every template: all are parsed and rendered in memory before
// any file is written, so a bad template leaves every destination as it
// was. Each file is then written atomically.
func (s *renderStep) Run(ctx context.Context, env *Env, log Logger) error {
	jobs, errs := s.jobs()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return RenderJobs(jobs, env, s.strict, log)
}

// RenderJobs parses all jobs, then renders all, then writes each.
func RenderJobs(jobs []RenderJob, env *Env, strict bool, log Logger) error {
	tmpls := make([]*render.Template, len(jobs))
	var errs []error
	for i, j := range jobs {
		t, err := render.ParseFile(j.Src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tmpls[i] = t
	}
	if len(errs) > 0 {
		return renderErrors(errs, "parse")
	}
	outputs := make([][]byte, len(jobs))
	for i, t := range tmpls {
		var out bytes.Buffer
		if err := t.Execute(&out, env.Lookup, render.Options{Strict: strict, Environ: env.List()}); err != nil {
			errs = append(errs, err)
			continue
		}
		outputs[i] = out.Bytes()
	}
	if len(errs) > 0 {
		return renderErrors(errs, "render")
	}
	for i, j := range jobs {
		if err := j.Write(outputs[i]); err != nil {
			return fmt.Errorf("render: %v", err)
		}
		log("%s", renderLine(j))
	}
	return nil
}

// renderErrors makes one line of the template errors: the first in full,
// then how many more.
func renderErrors(errs []error, what string) error {
	msg := "render: " + errs[0].Error()
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more templates failed to %s; see 'entry render --check')", len(errs)-1, what)
	}
	return errors.New(msg + "; nothing was written")
}
