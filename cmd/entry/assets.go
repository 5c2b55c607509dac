package main

// OWNED BY THE ASSETS WORK (issue 7): replace this stub.

import (
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/prehook"
)

// runAssets is `entry assets`.
func runAssets(args []string) int { return fail(exitFailure, "assets: not built yet") }

// newAssetsStep returns the start-up step that fetches the assets manifest
// for cfg.Assets, or nil when nothing is configured.
func newAssetsStep(cfg *config.File) (prehook.Step, error) { return nil, nil }
