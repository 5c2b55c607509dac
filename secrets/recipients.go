package secrets

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/entryhq/entry/internal/readcap"
)

// ErrOwnKey: a change would leave none of the caller's own keys among the
// recipients, so the caller could no longer decrypt the file.
var ErrOwnKey = errors.New("own key")

// AddRecipients returns the vault re-wrapped for its recipients plus keys,
// and the keys that were not recipients yet. With none new, vault is nil.
func (v *Vault) AddRecipients(keys []string) (vault []byte, added []string, err error) {
	current := v.Recipients()
	for _, k := range keys {
		if !slices.Contains(current, k) && !slices.Contains(added, k) {
			added = append(added, k)
		}
	}
	if len(added) == 0 {
		return nil, nil, nil
	}
	vault, err = v.SetRecipients(append(current, added...))
	return vault, added, err
}

// RemoveRecipients returns the vault re-wrapped for its recipients minus
// keys, and how many remain. Every key must be a recipient, and one must
// remain. own are the caller's identities: unless force is set, removing
// the last recipient among them fails with ErrOwnKey, since the caller
// could not decrypt the file afterwards.
func (v *Vault) RemoveRecipients(keys []string, own []age.Identity, force bool) (vault []byte, remaining int, err error) {
	current := v.Recipients()
	for _, k := range keys {
		if !slices.Contains(current, k) {
			return nil, 0, fmt.Errorf("%s is not a recipient (see 'entry secrets recipients list')", k)
		}
	}
	var next []string
	for _, r := range current {
		if !slices.Contains(keys, r) {
			next = append(next, r)
		}
	}
	if len(next) == 0 {
		return nil, 0, errors.New("cannot remove every recipient: nobody could decrypt the file")
	}
	if !force {
		var mine []string
		kept := false
		for _, id := range own {
			pub := PublicKey(id)
			if slices.Contains(current, pub) {
				mine = append(mine, pub)
				kept = kept || slices.Contains(next, pub)
			}
		}
		if len(mine) > 0 && !kept {
			return nil, 0, fmt.Errorf("%w: %s is the key you decrypt with; without it you could no longer decrypt the file (give --force if that is intended)", ErrOwnKey, shorten(mine[0]))
		}
	}
	vault, err = v.SetRecipients(next)
	return vault, len(next), err
}

// ReadRecipientsFile reads age public keys, one a line; blank lines and
// # comments are skipped. The keys are not checked (see ParseRecipient).
func ReadRecipientsFile(name string) ([]string, error) {
	data, err := readcap.ReadFile(name, "recipients file", readcap.KeyFile)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no recipients in the file")
	}
	return out, nil
}
