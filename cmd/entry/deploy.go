package main

// OWNED BY THE DEPLOY WORK (issue 8): replace this stub.

// runDeploy is `entry deploy`.
func runDeploy(args []string) int { return fail(exitFailure, "deploy: not built yet") }
