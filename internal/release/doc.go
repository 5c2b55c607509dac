// Package release holds no code: its tests check what the project ships
// besides the Go packages — scripts/release (reproducible static builds,
// archives with licenses, checksums, SBOMs) and the GitHub Actions workflows
// that run the tests and publish a release (actionlint, and what they call).
package release
