package main

const startUsage = `Usage: entry [flags] [role=NAME | NAME] [-- CMD ARGS...]
`

func runStart(args []string) int { return fail(exitFailure, "start: not built yet") }
