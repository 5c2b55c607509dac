package main

// OWNED BY THE SECRETS WORK (issue 6): replace this stub.

import (
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/prehook"
)

// runSecrets is `entry secrets`.
func runSecrets(args []string) int { return fail(exitFailure, "secrets: not built yet") }

// newSecretsStep returns the start-up step that decrypts cfg.Secrets, or nil
// when nothing is configured.
func newSecretsStep(cfg *config.File) (prehook.Step, error) { return nil, nil }
