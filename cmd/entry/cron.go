package main

// OWNED BY THE CRON WORK (issue 4): replace this stub.

import (
	"errors"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/supervise"
)

// newCronService is the built-in cron scheduler for a role process with
// crontab: set; role.go calls it.
func newCronService(p config.Process) (supervise.Service, error) {
	return nil, errors.New("cron: not built yet")
}

// runCron is `entry cron check|run FILE`.
func runCron(args []string) int { return fail(exitFailure, "cron: not built yet") }
