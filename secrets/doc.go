// Package secrets encrypts and decrypts age-vaulted secret files: YAML or
// dotenv files whose keys, comments and order stay readable and whose
// values are encrypted, so that a diff shows which secret changed.
//
// Each file has one random data key, wrapped with age to every recipient;
// each value is sealed with AES-256-GCM under a key derived from it and
// bound to its key path and type; an HMAC over every value, the recipient
// list and the settings detects values added, removed, reordered or moved.
// [Open] verifies all of that before it returns any plaintext, and its
// errors tell a missing key, a wrong key, a tampered file and a truncated
// file apart (see the Err variables). [KeySource] finds the age identity
// in a flag, the environment, a file or AWS SSM Parameter Store.
//
// docs/secrets.md is the user's guide; docs/secrets-format.md specifies
// the file format for other implementations.
package secrets
