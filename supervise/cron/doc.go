// Package cron is entry's built-in scheduler: it parses crontabs and runs
// their jobs as child process groups of the supervisor (a supervise.Service).
// See docs/cron.md.
package cron
