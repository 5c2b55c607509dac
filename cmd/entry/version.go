package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by scripts/release (and scripts/build) at link time:
//
//	-ldflags "-X main.version=0.2.0 -X main.commit=<sha> -X main.date=2026-12-06T17:31:00Z"
//
// A build without them (go install …@v0.2.0, go build in a checkout, the
// Dockerfile that builds from source) takes the same facts from the build
// information Go stamps into every binary.
var (
	version string
	commit  string
	date    string
)

const versionUsage = `Usage: entry version
       entry --version
       entry -v

Prints entry's version, the commit it was built from and that commit's
time, the Go version and the platform.

Example:
  entry version
`

// runVersion is `entry version`, `entry --version` and `entry -v`.
func runVersion(args []string) int {
	fs := newFlagSet("version", versionUsage)
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "version: takes no arguments (see 'entry version --help')")
	}
	fmt.Println(versionLine())
	return exitOK
}

func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return buildVersion(version, commit, date, bi).String()
}

// A buildStamp is what `entry version` says about the build.
type buildStamp struct {
	version string // "0.2.0", "0.0.0-20261206072626-a9e81f2cfaf4+dirty", or "devel"
	commit  string // the full commit hash, or "" when not known
	date    string // the commit's time (RFC 3339, UTC), or ""
	dirty   bool   // built from a tree with uncommitted changes
	goVer   string
	osArch  string
}

// buildVersion merges the link-time stamps with Go's build information:
// a stamp given with -ldflags wins, build information fills the rest.
func buildVersion(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) buildStamp {
	hash, dirty := strings.CutSuffix(ldCommit, "+dirty")
	s := buildStamp{
		version: strings.TrimPrefix(ldVersion, "v"), commit: hash, date: ldDate, dirty: dirty,
		goVer: runtime.Version(), osArch: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if s.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			s.version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				if s.commit == "" {
					s.commit = kv.Value
				}
			case "vcs.time":
				if s.date == "" {
					s.date = kv.Value
				}
			case "vcs.modified":
				s.dirty = s.dirty || (kv.Value == "true" && ldCommit == "")
			}
		}
		if bi.GoVersion != "" {
			s.goVer = bi.GoVersion
		}
	}
	if s.version == "" {
		// go build -buildvcs=false outside a release: nothing to go on
		// but the commit, if any.
		s.version = "devel"
	}
	return s
}

// String is the one line `entry version` prints:
//
//	entry 0.2.0 (commit a9e81f2cfaf4, 2026-12-06T07:26:26Z, go1.26.8, linux/amd64)
func (s buildStamp) String() string {
	var parts []string
	switch {
	case s.commit == "":
		parts = append(parts, "no commit recorded")
	default:
		c := s.commit
		if len(c) > 12 {
			c = c[:12]
		}
		if s.dirty {
			c += "+dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if s.date != "" {
		parts = append(parts, s.date)
	}
	parts = append(parts, s.goVer, s.osArch)
	return fmt.Sprintf("entry %s (%s)", s.version, strings.Join(parts, ", "))
}
