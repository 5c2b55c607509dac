package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/readcap"
	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/render"
)

const renderUsage = `Usage: entry render [--strict] SRC [DST]
       entry render --check SRC...

Render the ERB template SRC with the process's environment, byte for byte as
Ruby's ERB.new(src, trim_mode: "-").result would, with no Ruby involved.
The output goes to DST (written atomically, with SRC's file mode) or to
standard output. Nothing is written when the template fails to parse or
render: the error names the file, line and column.

--check parses each SRC and renders nothing: it finds unsupported Ruby,
unbalanced tags and unterminated strings before a deploy does.

The supported Ruby (ENV[...], ENV.fetch, ||, if/elsif/else, .each, ...) is
listed in docs/render.md.

Examples:
  entry render docker/config/database.yml.erb config/database.yml
  RAILS_ENV=production DOCKER_REPO=repo CIRCLE_BUILD_NUM=42 \
    entry render --strict deploy/web.json.erb > web.json
  entry render --check docker/config/*.erb deploy/*.json.erb
`

// runRender is `entry render`.
func runRender(args []string) int {
	fs := newFlagSet("render", renderUsage)
	check := fs.Bool("check", false, "parse each SRC only; render nothing")
	strict := fs.Bool("strict", false, "make ENV['X'] of an unset variable an error where its value is used (Ruby renders \"\")")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if *check {
		if fs.NArg() == 0 {
			return fail(exitUsage, "render --check: want at least one SRC (see 'entry render --help')")
		}
		failed := 0
		for _, src := range fs.Args() {
			if _, err := renderParseFile(src); err != nil {
				fmt.Fprintf(os.Stderr, "entry: render: %v\n", err)
				failed++
				continue
			}
			fmt.Printf("ok %s\n", src)
		}
		if failed > 0 {
			return fail(exitFailure, "render: %d of %d templates failed to parse", failed, fs.NArg())
		}
		return exitOK
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return fail(exitUsage, "render: want SRC [DST], got %d arguments (see 'entry render --help')", fs.NArg())
	}
	src := fs.Arg(0)
	if fs.NArg() == 2 && filepath.Clean(src) == filepath.Clean(fs.Arg(1)) {
		return fail(exitUsage, "render: DST %s is the template itself; rendering would overwrite it (give another DST)", fs.Arg(1))
	}
	if fs.NArg() == 2 {
		if st, err := os.Stat(fs.Arg(1)); err == nil && st.IsDir() {
			return fail(exitUsage, "render: DST %s is a directory; give the file to write, e.g. %s", fs.Arg(1), filepath.Join(fs.Arg(1), strings.TrimSuffix(filepath.Base(src), ".erb")))
		}
	}
	tmpl, err := renderParseFile(src)
	if err != nil {
		return fail(exitFailure, "render: %v", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, os.LookupEnv, render.Options{Strict: *strict}); err != nil {
		return fail(exitFailure, "render: %v", err)
	}
	if fs.NArg() == 1 {
		if _, err := os.Stdout.Write(out.Bytes()); err != nil {
			return fail(exitFailure, "render: writing standard output: %v", err)
		}
		return exitOK
	}
	job := renderJob{src: src, dst: fs.Arg(1)}
	if err := job.write(out.Bytes()); err != nil {
		return fail(exitFailure, "render: %v", err)
	}
	return exitOK
}

// renderParseFile reads and parses the template at path, naming it by
// path in errors.
func renderParseFile(path string) (*render.Template, error) {
	return render.ParseFile(path)
}

// A renderJob is one template to render to one file.
type renderJob struct {
	src, dst string
	mode     *os.FileMode // nil: the template's mode
	owner    string       // "" or user[:group]
}

// write writes data to j.dst atomically, with the template's mode or
// j.mode, owned by j.owner. On failure the old file stays and no temporary
// file is left.
func (j renderJob) write(data []byte) error {
	mode := os.FileMode(0o644)
	if j.mode != nil {
		mode = *j.mode
	} else if st, err := os.Stat(j.src); err == nil {
		mode = st.Mode().Perm()
	}
	if err := writeFileAtomic(j.dst, data, mode, false, j.owner); err != nil {
		return fmt.Errorf("%s: %v", j.dst, err)
	}
	return nil
}

// renderStep is the start-up step that renders the templates of entry.yml.
// It is not strict unless render.strict is true: see docs/render.md.
type renderStep struct {
	templates []config.Template
	strict    bool
}

// newRenderStep returns the start-up step that renders cfg.Render, or nil
// when nothing is configured.
func newRenderStep(cfg *config.File) (prehook.Step, error) {
	r := cfg.Render
	if len(r.Templates) == 0 {
		return nil, nil
	}
	for i, t := range r.Templates {
		where := fmt.Sprintf("%s: render.templates[%d]", configName(cfg), i)
		switch {
		case t.Src == "":
			return nil, fmt.Errorf("%s: src is missing (the template, such as docker/config/database.yml.erb)", where)
		case t.Dst == "":
			return nil, fmt.Errorf("%s: dst is missing (the file or directory to render %s into)", where, t.Src)
		case t.Owner != "":
			// Looked up now, as a vault's owner is: a user missing from
			// the image fails entry config check, not only start-up.
			if _, _, err := lookupOwner(t.Owner); err != nil {
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
func (s *renderStep) jobs() ([]renderJob, []error) {
	var jobs []renderJob
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
		j := renderJob{src: src, dst: dst, owner: t.Owner}
		if t.Mode != nil {
			m := os.FileMode(*t.Mode)
			j.mode = &m
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

func renderLine(j renderJob) string { return fmt.Sprintf("render %s (from %s)", j.dst, j.src) }

// Plan lists the files Run would render, and any template that does not
// parse.
func (s *renderStep) Plan(env *prehook.Env) []string {
	jobs, errs := s.jobs()
	var lines []string
	for _, err := range errs {
		lines = append(lines, err.Error())
	}
	for _, j := range jobs {
		line := renderLine(j)
		if _, err := renderParseFile(j.src); err != nil {
			line += ": will fail: " + err.Error()
		}
		lines = append(lines, line)
	}
	return lines
}

// Check finds what Run would fail on before writing anything: a template
// that is missing or does not parse, two templates rendering one file.
func (s *renderStep) Check(*prehook.Env) []error {
	jobs, errs := s.jobs()
	for _, j := range jobs {
		if _, err := renderParseFile(j.src); err != nil {
			errs = append(errs, fmt.Errorf("render: %v", err))
		}
	}
	return errs
}

// Run renders every template: all are parsed and rendered in memory before
// any file is written, so a bad template leaves every destination as it
// was. Each file is then written atomically.
func (s *renderStep) Run(ctx context.Context, env *prehook.Env, log prehook.Logger) error {
	jobs, errs := s.jobs()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return renderJobs(jobs, env, s.strict, log)
}

// renderJobs parses all jobs, then renders all, then writes each.
func renderJobs(jobs []renderJob, env *prehook.Env, strict bool, log prehook.Logger) error {
	tmpls := make([]*render.Template, len(jobs))
	var errs []error
	for i, j := range jobs {
		t, err := renderParseFile(j.src)
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
		if err := j.write(outputs[i]); err != nil {
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

// renderEntryKit renders EntryKit-style template files, for entry invoked
// as `render`: each argument X is rendered from X.tmpl into X (EntryKit's
// convention); an argument already ending in .tmpl is rendered into the
// name without it. Templates are ERB (see docs/render.md); a template in
// EntryKit's sigil syntax ({{ var "X" }}) is refused with a hint.
func renderEntryKit(files []string, env *prehook.Env) error {
	var jobs []renderJob
	for _, f := range files {
		if _, after, ok := strings.Cut(f, "="); ok && !strings.Contains(f[:strings.IndexByte(f, '=')], "/") {
			f = after // a named task: name=file
		}
		j := renderJob{src: f + ".tmpl", dst: f}
		if strings.HasSuffix(f, ".tmpl") {
			j = renderJob{src: f, dst: strings.TrimSuffix(f, ".tmpl")}
		}
		data, err := readcap.ReadFile(j.src, "template", render.MaxSize)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: no such template (EntryKit's render reads X.tmpl to write X)", j.src)
			}
			return err
		}
		if !bytes.Contains(data, []byte("<%")) && bytes.Contains(data, []byte("{{")) {
			return fmt.Errorf("%s: looks like an EntryKit (sigil) template; entry renders ERB: write <%%= ENV['NAME'] %%> for {{ var \"NAME\" }} (see docs/render.md); nothing was written", j.src)
		}
		jobs = append(jobs, j)
	}
	strict, _ := strconv.ParseBool(env.Get("ENTRY_RENDER_STRICT"))
	if err := renderJobs(jobs, env, strict, prehook.StderrLogger); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "render: "))
	}
	return nil
}
