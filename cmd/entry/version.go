package main

import (
	"fmt"
	"runtime"
)

// Set at build time by scripts/build:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=abc123"
var (
	version = "dev"
	commit  = "unknown"
)

const versionUsage = `Usage: entry version

Prints entry's version, the commit it was built from, the Go version and
the platform.

Example:
  entry version
`

// runVersion is `entry version`.
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
	return fmt.Sprintf("entry %s (commit %s, %s, %s/%s)", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
