package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// Dockerfile.example is documentation that cannot be built here (no Docker
// engine), so this test plays the build: the application files it copies
// must exist in examples/rails, and every RUN line of the app's stages runs
// through /bin/sh against a copy of that tree, with the image's tools that
// are not here (apt-get, bundle) as no-op shims and entry as this binary;
// then the ENTRYPOINT with its CMD is checked as the container would start.
// A build without --build-arg REVISION must fail, as the Dockerfile says.
func TestDockerfileExample(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	example := readFile(t, "../..", "Dockerfile.example")
	b := buildDockerfileExample(t, example, map[string]string{"REVISION": sha})
	if b.failed != "" {
		t.Fatal(b.failed)
	}
	// entry comes from the released image, as the root Dockerfile builds it.
	if want := []string{publishedCopy(t)}; !slices.Equal(b.entryCopies, want) {
		t.Errorf("Dockerfile.example copies entry with %q, want %q", b.entryCopies, want)
	}
	if got := strings.TrimSpace(readFile(t, b.app, "REVISION")); got != sha {
		t.Errorf("REVISION file = %q, want %q", got, sha)
	}
	if m, _ := filepath.Glob(filepath.Join(b.app, "public/assets/.sprockets-manifest-*.json")); len(m) != 0 {
		t.Errorf("the build left %v: Sprockets would find two manifests", m)
	}
	if b.entryRuns < 5 {
		t.Errorf("the RUN lines ran entry %d times; want the 5 of Dockerfile.example (the parser lost some)", b.entryRuns)
	}
	if len(b.entrypoint) != 1 || b.entrypoint[0] != "entry" {
		t.Fatalf("ENTRYPOINT %q, want [\"entry\"]", b.entrypoint)
	}
	// What the container starts with, in production: check it as entry
	// would run it, with no warning (sidekiq's -t against stop_timeout).
	for _, role := range []string{"role=web", "role=job"} {
		cmd := b.cmd
		if role != "role=web" {
			cmd = []string{role}
		}
		r := runEntry(t, b.app, append(b.imageEnv, "RAILS_ENV=production"), append([]string{"config", "check"}, cmd...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "start role "+strings.TrimPrefix(role, "role=")) || r.stderr != "" {
			t.Errorf("ENTRYPOINT+CMD %q: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "revision "+sha) {
			t.Errorf("ENTRYPOINT+CMD %q: the assets fetch does not use the baked revision:\n%s", cmd, r.stdout)
		}
	}
	// Every config file a process names (-C FILE) is in the tree.
	yml := readFile(t, b.app, "entry.yml")
	for _, m := range regexp.MustCompile(`-C (\S+)`).FindAllStringSubmatch(yml, -1) {
		if _, err := os.Stat(filepath.Join(b.app, m[1])); err != nil {
			t.Errorf("entry.yml names %s, which examples/rails lacks", m[1])
		}
	}

	// The alternative it describes: entry built from a checkout, in the
	// commented-out stage, copied by the commented-out line.
	t.Run("from a checkout", func(t *testing.T) {
		b := buildDockerfileExample(t, fromCheckout(t, example), map[string]string{"REVISION": sha})
		if b.failed != "" {
			t.Fatal(b.failed)
		}
		if want := []string{"COPY --from=entry /out/entry /usr/local/bin/entry"}; !slices.Equal(b.entryCopies, want) {
			t.Errorf("from a checkout, entry is copied with %q, want %q", b.entryCopies, want)
		}
		if !b.builtEntry {
			t.Errorf("from a checkout, no stage AS entry runs go build -o /out/entry ./cmd/entry")
		}
	})

	t.Run("no REVISION", func(t *testing.T) {
		b := buildDockerfileExample(t, example, nil)
		want := "build with --build-arg REVISION=$(git rev-parse HEAD)"
		if !strings.Contains(b.failed, want) {
			t.Errorf("a build without REVISION: %q, want it to fail saying %q", b.failed, want)
		}
	})
}

// dockerBuild is what playDockerfile did.
type dockerBuild struct {
	app             string   // the image's WORKDIR
	root            string   // stands for / where RUN lines write outside it
	imageEnv        []string // the image's environment (its ENV, minus LD_PRELOAD)
	preload         string   // ENV LD_PRELOAD
	user            string   // USER
	entrypoint, cmd []string
	entryRuns       int
	entryCopies     []string // the COPY instructions that put entry in the image
	builtEntry      bool     // a stage AS entry builds it from the repository
	failed          string   // the RUN line that failed, and its output
}

// buildDockerfileExample plays `docker build` of data, Dockerfile.example
// or a variant of it, with buildArgs in a copy of examples/rails.
func buildDockerfileExample(t *testing.T, data string, buildArgs map[string]string) *dockerBuild {
	t.Helper()
	// What assets:precompile leaves behind, for the RUN that deletes it.
	built := map[string]string{"public/assets/.sprockets-manifest-5f2b1d7c9e3a4b6d8f0a1c2e3b4d5f6a.json": "{}"}
	return playDockerfile(t, data, "examples/rails", buildArgs, built)
}

// hostDirs are the absolute paths RUN lines write to outside the app: the
// play moves them under dockerBuild.root, so that no build touches the
// machine the tests run on.
var hostDirs = []string{"/usr/local/bin", "/usr/local/lib", "/usr/local/bundle", "/var/lib/apt", "/var/cache/apt"}

// playDockerfile plays `docker build` of the Dockerfile data with
// buildArgs in a copy of the example directory (relative to the
// repository) with the files of generated added (a path under bin/ is
// executable): every RUN line of the application's stages through /bin/sh,
// with the image's tools that are not here (apt-get, bundle, groupadd,
// useradd, chown) as stand-ins and entry as the binary under test.
func playDockerfile(t *testing.T, data, example string, buildArgs, generated map[string]string) *dockerBuild {
	t.Helper()
	b := &dockerBuild{app: t.TempDir(), root: t.TempDir()}
	if out, err := exec.Command("cp", "-a", "../../"+example+"/.", b.app).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", example, err, out)
	}
	writeFiles(t, b.app, generated)
	for name := range generated {
		if strings.HasPrefix(name, "bin/") {
			os.Chmod(filepath.Join(b.app, name), 0o755)
		}
	}
	var mapHost []string
	for _, d := range hostDirs {
		if err := os.MkdirAll(b.root+d, 0o755); err != nil {
			t.Fatal(err)
		}
		mapHost = append(mapHost, d, b.root+d)
	}
	onRoot := strings.NewReplacer(mapHost...)
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "entry.log")
	// chown -R fails on a path that does not exist, as the real one does;
	// the users it names exist only in the image.
	chown := "#!/bin/sh\nfor a; do case $a in -*|*:*) ;; *) [ -e \"$a\" ] || { echo \"chown: cannot access '$a'\" >&2; exit 1; };; esac; done\n"
	shims := map[string]string{
		"apt-get":  "#!/bin/sh\nexit 0\n",
		"bundle":   "#!/bin/sh\nexit 0\n",
		"groupadd": "#!/bin/sh\nexit 0\n",
		"useradd":  "#!/bin/sh\nexit 0\n",
		"chown":    chown,
		"entry":    "#!/bin/sh\necho \"$*\" >> " + log + "\nexec " + entryBin + " \"$@\"\n",
	}
	for name, text := range shims {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.imageEnv = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + b.app}
	stage := ""
	args := map[string]string{}
	for _, ins := range dockerInstructions(data) {
		word, rest, _ := strings.Cut(ins, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			stage = rest
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			if v, ok := buildArgs[name]; ok {
				def = v
			}
			args[name] = def
		case "ENV":
			for _, m := range dockerEnvRE.FindAllStringSubmatch(rest, -1) {
				name, value := m[1], strings.Trim(m[2], `"`)
				if name == "LD_PRELOAD" {
					// Not for this machine's programs: the library is
					// the image's.
					b.preload = value
					continue
				}
				b.imageEnv = append(b.imageEnv, name+"="+onRoot.Replace(value))
			}
		case "USER":
			b.user = rest
		case "COPY":
			fields := strings.Fields(rest)
			if fields[0] == "--from=entry-src" {
				// The entry stage builds from a checkout of this repository.
				for _, src := range fields[1 : len(fields)-1] {
					if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
						t.Errorf("COPY --from=entry-src %s: not in the repository", src)
					}
				}
				continue
			}
			if strings.HasPrefix(fields[0], "--from=") {
				if fields[len(fields)-1] == "/usr/local/bin/entry" {
					b.entryCopies = append(b.entryCopies, ins)
				}
				continue
			}
			for _, src := range fields[:len(fields)-1] {
				if _, err := os.Stat(filepath.Join(b.app, src)); err != nil {
					t.Errorf("COPY %s: not in %s", src, example)
				}
			}
		case "RUN":
			if strings.HasSuffix(stage, " AS entry") {
				// go build of entry itself, which the test binary is.
				b.builtEntry = b.builtEntry || strings.HasPrefix(rest, "CGO_ENABLED=0 go build -trimpath -o /out/entry ./cmd/entry")
				continue
			}
			env := slices.Clone(b.imageEnv)
			for k, v := range args {
				env = append(env, k+"="+v)
			}
			if r := runShell(t, b.app, env, onRoot.Replace(rest)); r.code != 0 && b.failed == "" {
				b.failed = fmt.Sprintf("RUN %s: exit %d\n%s%s", rest, r.code, r.stdout, r.stderr)
			}
		case "ENTRYPOINT":
			b.entrypoint = jsonArgs(t, rest)
		case "CMD":
			b.cmd = jsonArgs(t, rest)
		}
	}
	if data, err := os.ReadFile(log); err == nil {
		b.entryRuns = strings.Count(string(data), "\n")
	}
	return b
}

// dockerEnvRE matches the NAME=value pairs of an ENV instruction.
var dockerEnvRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)`)

// runShell runs a shell script as docker build runs a RUN line: in dir,
// with env only.
func runShell(t *testing.T, dir string, env []string, script string) result {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	return runPrepared(t, cmd)
}

// runPrepared runs cmd bounded by testtool.Patience, its process group
// killed at the end. (Not StartContained: a script of shell builtins starts
// no child for it to find.)
func runPrepared(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr testtool.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := testtool.WaitCmd(t, cmd, testtool.Patience, func() string { return stdout.String() + stderr.String() })
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// dockerInstructions joins continuation lines and drops comments.
func dockerInstructions(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		t.Fatalf("%s: not an exec-form JSON array: %v", s, err)
	}
	return args
}

// The README and the EntryKit guide show short Dockerfiles; each of their
// instructions that builds or copies entry must be one Dockerfile.example
// has, or its from-checkout alternative has (which TestDockerfileExample
// plays), so that there is one snippet, and it is correct, everywhere. The
// first one is the released image's COPY line; the README shows the build
// from a checkout second.
func TestDockerfileSnippets(t *testing.T) {
	example := readFile(t, "../..", "Dockerfile.example")
	known := map[string]bool{}
	var fromSource []string
	for _, ins := range dockerInstructions(example) {
		known[ins] = true
	}
	for _, ins := range dockerInstructions(fromCheckout(t, example)) {
		if !known[ins] && aboutEntry(ins) {
			fromSource = append(fromSource, ins)
		}
		known[ins] = true
	}
	published := publishedCopy(t)
	for _, doc := range []string{"README.md", "docs/entrykit.md"} {
		text := readFile(t, "../..", doc)
		var shown []string
		for rest := text; ; {
			_, block, ok := strings.Cut(rest, "```dockerfile\n")
			if !ok {
				break
			}
			block, rest, _ = strings.Cut(block, "```")
			for _, ins := range dockerInstructions(block) {
				if !aboutEntry(ins) {
					continue
				}
				shown = append(shown, ins)
				if !known[ins] {
					t.Errorf("%s: %q is not what Dockerfile.example does", doc, ins)
				}
			}
		}
		if len(shown) == 0 || shown[0] != published {
			t.Errorf("%s: the Dockerfile lines that install entry are %q; want the released image's %q first", doc, shown, published)
		}
		if doc == "README.md" {
			for _, ins := range fromSource {
				if !slices.Contains(shown, ins) {
					t.Errorf("%s: the build from a checkout lacks Dockerfile.example's %q", doc, ins)
				}
			}
		}
	}
}

// aboutEntry tells whether a Dockerfile instruction builds or copies entry.
func aboutEntry(ins string) bool {
	return strings.Contains(ins, "AS entry") || strings.Contains(ins, "--from=entry") ||
		strings.Contains(ins, "go build") || strings.Contains(ins, "ghcr.io/entryhq/entry")
}

// fromCheckout is Dockerfile.example with entry built from a checkout, as
// its comments say: the commented-out instructions (#FROM, #COPY, ...)
// uncommented, and the COPY from the released image dropped.
func fromCheckout(t *testing.T, example string) string {
	t.Helper()
	commented := regexp.MustCompile(`^#(FROM|WORKDIR|COPY|RUN) `)
	var out []string
	uncommented, dropped := 0, 0
	for _, line := range strings.Split(example, "\n") {
		switch {
		case commented.MatchString(line):
			line = line[1:]
			uncommented++
		case strings.HasPrefix(line, "COPY --from=ghcr.io/"):
			dropped++
			continue
		}
		out = append(out, line)
	}
	if uncommented == 0 || dropped != 1 {
		t.Fatalf("Dockerfile.example: %d commented-out instructions and %d COPY --from=ghcr.io lines; want the build from a checkout commented out beside the one COPY of the released image", uncommented, dropped)
	}
	return strings.Join(out, "\n")
}

// publishedCopy is the one line that installs entry from its released
// image: the image release.yml publishes, the version of the newest release
// in CHANGELOG.md, the path where the root Dockerfile puts the binary.
func publishedCopy(t *testing.T) string {
	t.Helper()
	root := readFile(t, "../..", "Dockerfile")
	var bin string
	for _, ins := range dockerInstructions(root) {
		if fields := strings.Fields(ins); fields[0] == "COPY" {
			bin = fields[len(fields)-1]
		}
	}
	if want := `ENTRYPOINT ["` + bin + `"]`; bin == "" || !slices.Contains(dockerInstructions(root), want) {
		t.Fatalf("Dockerfile: no COPY of the binary with %s", want)
	}
	m := regexp.MustCompile(`(?m)^\s+IMAGE: (\S+)$`).FindStringSubmatch(readFile(t, "../..", ".github/workflows/release.yml"))
	if m == nil {
		t.Fatal(".github/workflows/release.yml: no IMAGE: line")
	}
	line := "COPY --from=" + m[1] + ":" + releasedVersion(t) + " " + bin + " /usr/local/bin/entry"
	if !strings.Contains(root, "#   "+line+"\n") {
		t.Errorf("Dockerfile: its comment does not show %q", line)
	}
	return line
}

// firstRelease is the version the docs show before CHANGELOG.md has a
// release section: the first release to be published.
const firstRelease = "0.2.0"

// releasedVersion is the newest "## X.Y.Z - YYYY-MM-DD" of CHANGELOG.md
// (pre-releases aside), or firstRelease before there is one: the version a
// user can COPY --from.
func releasedVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^## (\d+\.\d+\.\d+) - \d{4}-\d\d-\d\d$`).FindStringSubmatch(readFile(t, "../..", "CHANGELOG.md"))
	if m == nil {
		return firstRelease
	}
	return m[1]
}
