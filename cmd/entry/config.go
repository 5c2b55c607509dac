package main

func runConfig(args []string) int { return fail(exitFailure, "config: not built yet") }
