// Package assets pushes the per-environment, per-commit assets manifest to
// S3 from CI and fetches it at start-up. See docs/assets.md.
package assets
