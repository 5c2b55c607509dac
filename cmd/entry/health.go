package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/entryhq/entry/supervise"
)

const healthUsage = `Usage: entry health [flags]

Exits 0 when every essential process of the running role is running and
every running process that declares ready: passes its check; otherwise
prints why, in one line, and exits 1. For the ECS container healthCheck.

Example (task definition):
  "healthCheck": {"command": ["CMD", "entry", "health"], "interval": 10, "startPeriod": 60}
`

// runHealth is `entry health`.
func runHealth(args []string) int {
	fs := newFlagSet("health", healthUsage)
	var socket, configPath string
	var timeout time.Duration
	fs.addConfigFlag(&configPath)
	fs.addControlSocketFlag(&socket)
	fs.DurationVar(&timeout, "timeout", 4*time.Second, "time for the readiness checks (below the healthCheck's timeout, 5s by default)")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if err := positiveTimeout(timeout); err != nil {
		return fail(exitUsage, "health: %v", err)
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "health: takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	path, hint, err := clientSocket(fs, socket, configPath)
	if err != nil {
		return fail(exitUsage, "health: %v", err)
	}
	resp, err := callSupervisor(path, hint, supervise.Request{Cmd: "health", Timeout: timeout}, timeout+time.Second)
	if err != nil {
		return fail(exitFailure, "health: %v", err)
	}
	if resp.Error != "" {
		return fail(exitFailure, "health: %s", resp.Error)
	}
	if len(resp.Problems) > 0 {
		return fail(exitFailure, "unhealthy: %s", strings.Join(resp.Problems, "; "))
	}
	fmt.Println("healthy")
	return exitOK
}
