package main

// OWNED BY THE RENDER WORK (issue 5): replace this stub.

import (
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/prehook"
)

// runRender is `entry render`.
func runRender(args []string) int { return fail(exitFailure, "render: not built yet") }

// newRenderStep returns the start-up step that renders cfg.Render, or nil
// when nothing is configured.
func newRenderStep(cfg *config.File) (prehook.Step, error) { return nil, nil }

// renderEntryKit renders EntryKit-style template files (X.tmpl -> X) with
// env, for entry invoked as `render`.
func renderEntryKit(files []string, env *prehook.Env) error { return nil }
