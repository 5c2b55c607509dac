// Package secrets encrypts and decrypts age-vaulted secret files whose keys
// stay readable and whose values are encrypted. See docs/secrets.md and
// docs/secrets-format.md.
package secrets
