package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	job := prehook.RenderJob{Src: src, Dst: fs.Arg(1)}
	if err := job.Write(out.Bytes()); err != nil {
		return fail(exitFailure, "render: %v", err)
	}
	return exitOK
}

// renderParseFile reads and parses the template at path, naming it by
// path in errors.
func renderParseFile(path string) (*render.Template, error) {
	return render.ParseFile(path)
}

// renderEntryKit renders EntryKit-style template files, for entry invoked
// as `render`: each argument X is rendered from X.tmpl into X (EntryKit's
// convention); an argument already ending in .tmpl is rendered into the
// name without it. Templates are ERB (see docs/render.md); a template in
// EntryKit's sigil syntax ({{ var "X" }}) is refused with a hint.
func renderEntryKit(files []string, env *prehook.Env) error {
	var jobs []prehook.RenderJob
	for _, f := range files {
		if _, after, ok := strings.Cut(f, "="); ok && !strings.Contains(f[:strings.IndexByte(f, '=')], "/") {
			f = after // a named task: name=file
		}
		j := prehook.RenderJob{Src: f + ".tmpl", Dst: f}
		if strings.HasSuffix(f, ".tmpl") {
			j = prehook.RenderJob{Src: f, Dst: strings.TrimSuffix(f, ".tmpl")}
		}
		data, err := readcap.ReadFile(j.Src, "template", render.MaxSize)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: no such template (EntryKit's render reads X.tmpl to write X)", j.Src)
			}
			return err
		}
		if !bytes.Contains(data, []byte("<%")) && bytes.Contains(data, []byte("{{")) {
			return fmt.Errorf("%s: looks like an EntryKit (sigil) template; entry renders ERB: write <%%= ENV['NAME'] %%> for {{ var \"NAME\" }} (see docs/render.md); nothing was written", j.Src)
		}
		jobs = append(jobs, j)
	}
	strict, _ := strconv.ParseBool(env.Get("ENTRY_RENDER_STRICT"))
	if err := prehook.RenderJobs(jobs, env, strict, prehook.StderrLogger); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "render: "))
	}
	return nil
}
