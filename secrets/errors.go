package secrets

import "errors"

// The kinds of failure a user must be able to tell apart. Every error this
// package returns for a vault that cannot be opened wraps exactly one of
// them (test with errors.Is), and none carries plaintext or key material.
var (
	// ErrNoKey: no age identity was given (flag, environment, config).
	ErrNoKey = errors.New("no age key")
	// ErrWrongKey: the identity is not one of the file's recipients.
	ErrWrongKey = errors.New("wrong key")
	// ErrTampered: the file was changed outside entry: a value was
	// modified, moved, added, removed or reordered, or the metadata was
	// edited.
	ErrTampered = errors.New("tampered")
	// ErrTruncated: the file ends before its metadata does.
	ErrTruncated = errors.New("truncated")
	// ErrNotEncrypted: the file holds no entry vault at all.
	ErrNotEncrypted = errors.New("not encrypted")
	// ErrAlreadyEncrypted: Encrypt was given a vault.
	ErrAlreadyEncrypted = errors.New("already encrypted")
	// ErrMalformed: the file cannot be parsed as its format.
	ErrMalformed = errors.New("malformed")
)
