package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// versionShape is the form of `entry version`'s line for a build that
// knows its version, commit and commit time.
var versionShape = regexp.MustCompile(`^entry (\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?) \(commit ([0-9a-f]{12})(\+dirty)?, (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), (go1\.\d+(?:\.\d+)?), (linux/(?:amd64|arm64))\)$`)

func TestBuildVersion(t *testing.T) {
	const rev = "a9e81f2cfaf46159071a81020b3b019f2cd97e66"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-06T07:26:26Z"}, {Key: "vcs.modified", Value: modified}}
	}
	info := func(version string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/entryhq/entry", Version: version}, Settings: settings}
	}
	tests := []struct {
		name                   string
		ldVersion, ldCommit, d string
		bi                     *debug.BuildInfo
		want                   string
	}{
		{"release: ldflags win over build info", "0.2.0", rev, "2026-12-06T07:26:26Z", info("(devel)", nil),
			"entry 0.2.0 (commit a9e81f2cfaf4, 2026-12-06T07:26:26Z, go1.26.8, "},
		{"ldflags with a v", "v0.2.0", rev, "", info("(devel)", nil),
			"entry 0.2.0 (commit a9e81f2cfaf4, go1.26.8, "},
		{"a dirty release build", "0.2.0", rev + "+dirty", "", info("(devel)", vcs("false")),
			"entry 0.2.0 (commit a9e81f2cfaf4+dirty, 2026-12-06T07:26:26Z, go1.26.8, "},
		{"go install …@v0.2.0: module version, no VCS", "", "", "", info("v0.2.0", nil),
			"entry 0.2.0 (no commit recorded, go1.26.8, "},
		{"go build in a checkout: pseudo-version and VCS", "", "", "", info("v0.0.0-20261206072626-a9e81f2cfaf4", vcs("false")),
			"entry 0.0.0-20261206072626-a9e81f2cfaf4 (commit a9e81f2cfaf4, 2026-12-06T07:26:26Z, go1.26.8, "},
		{"go build of a modified checkout", "", "", "", info("v0.0.0-20261206072626-a9e81f2cfaf4+dirty", vcs("true")),
			"entry 0.0.0-20261206072626-a9e81f2cfaf4+dirty (commit a9e81f2cfaf4+dirty, 2026-12-06T07:26:26Z, go1.26.8, "},
		{"(devel) with VCS", "", "", "", info("(devel)", vcs("false")),
			"entry devel (commit a9e81f2cfaf4, 2026-12-06T07:26:26Z, go1.26.8, "},
		{"nothing known", "", "", "", info("(devel)", nil),
			"entry devel (no commit recorded, go1.26.8, "},
		{"no build info at all", "", "", "", nil,
			"entry devel (no commit recorded, go1."},
	}
	for _, tt := range tests {
		got := buildVersion(tt.ldVersion, tt.ldCommit, tt.d, tt.bi).String()
		if !strings.HasPrefix(got, tt.want) || strings.Contains(got, "dev (commit unknown") {
			t.Errorf("%s:\n got %s\nwant %s…", tt.name, got, tt.want)
		}
	}
}

// A plain `go build` in a git checkout (as the README's Dockerfile does,
// without -ldflags) reports the module's version and the commit from Go's
// build information, in the form docs/cli.md shows; --version, -v and the
// version subcommand agree.
func TestVersionOfPlainBuild(t *testing.T) {
	root := testtool.RepoRoot(t)
	src := t.TempDir()
	rev := testtool.Snapshot(t, root, src)
	bin := filepath.Join(t.TempDir(), "entry")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/entry")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var lines []string
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		r := runBinary(t, bin, t.TempDir(), nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("entry %s: %+v", args[0], r)
		}
		lines = append(lines, strings.TrimSuffix(r.stdout, "\n"))
	}
	if lines[0] != lines[1] || lines[0] != lines[2] {
		t.Errorf("--version, -v and version differ: %q", lines)
	}
	m := versionShape.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("entry --version = %q, not of the form %s", lines[0], versionShape)
	}
	wantVersion := "0.0.0-20261206072626-" + rev[:12]
	if m[1] != wantVersion || m[2] != rev[:12] || m[3] != "" || m[4] != testtool.SnapshotDate {
		t.Errorf("entry --version = %q, want version %s, commit %s, date %s", lines[0], wantVersion, rev[:12], testtool.SnapshotDate)
	}

	// docs/cli.md's example has the same form.
	doc, err := os.ReadFile(filepath.Join(root, "docs/cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "$ entry --version\n")
	example, _, _ := strings.Cut(after, "\n")
	if !versionShape.MatchString(example) {
		t.Errorf("docs/cli.md: the example %q is not of the form a real build prints (%q)", example, lines[0])
	}
}

// `entry --version` with anything after it is a usage error, as `entry
// version x` is.
func TestVersionArguments(t *testing.T) {
	r := runEntry(t, t.TempDir(), nil, "--version", "x")
	if r.code != 2 || r.stderr != "entry: version: takes no arguments (see 'entry version --help')\n" {
		t.Errorf("entry --version x: %+v", r)
	}
}
