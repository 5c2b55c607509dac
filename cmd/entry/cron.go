package main

// OWNED BY THE CRON WORK (issue 4): replace this stub.

// runCron is `entry cron check|run FILE`.
func runCron(args []string) int { return fail(exitFailure, "cron: not built yet") }
