// Package release holds no code: its tests check what the project ships
// besides the Go packages — scripts/release (reproducible static builds,
// archives with licenses, checksums, SBOMs).
package release
