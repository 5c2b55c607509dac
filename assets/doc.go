// Package assets pushes the per-environment, per-commit assets manifest to
// S3 from CI and fetches it at start-up, so that one image serves every
// RAILS_ENV. See docs/assets.md.
//
// Objects live at s3://BUCKET/PREFIX/{env}/{sha}/{name} (the key template is
// configurable; see Layout). Push stores each file with its Content-Type and
// its SHA-256, both as S3's own ChecksumSHA256 and as x-amz-meta-sha256;
// Fetch downloads, verifies the checksum and the JSON, and only then writes
// every destination atomically, so a failed fetch leaves the previous files
// in place and no temporary file behind.
//
// The client is aws-sdk-go-v2's, configured the standard way: the default
// credential chain (environment, profile, ECS task role), AWS_REGION, and
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 for S3-compatible servers such as
// MinIO, which get path-style addressing. Transient errors (5xx, throttling,
// connection resets, a body cut short) are retried with the SDK's back-off,
// all within one total timeout.
package assets
