// Package supervise runs a role's processes with entry as PID 1: it reaps
// every zombie, forwards signals to process groups, stops gracefully within
// the ECS stop timeout, restarts or stops processes by policy and passes the
// right exit code out. See docs/supervise.md.
package supervise
