package secrets

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"slices"

	"filippo.io/age"
)

// EncryptOptions configures a new vault.
type EncryptOptions struct {
	// Recipients are age public keys (age1..., age1pq1...); at least one.
	Recipients []string
	// UnencryptedRegex, when set, leaves the values of matching keys in
	// plain text, as the _unencrypted suffix does. It is stored in the
	// vault so later edits follow it.
	UnencryptedRegex string
}

// Encrypt turns a plain secret file into a vault: every value is encrypted
// under a new random data key, which is wrapped to every recipient.
func Encrypt(f Format, plain []byte, opts EncryptOptions) ([]byte, error) {
	doc, err := parseDocument(f, plain)
	if err != nil {
		return nil, err
	}
	if doc.meta() != nil || doc.hasEncValues() {
		return nil, fmt.Errorf("%w: the file already holds ENC[...] values or %s metadata (use 'entry secrets edit' to change it)", ErrAlreadyEncrypted, metaKey)
	}
	m := &metadata{Version: formatVersion, Recipients: dedupe(opts.Recipients), UnencryptedRegex: opts.UnencryptedRegex}
	plainKey, err := plainKeyFunc(m.UnencryptedRegex)
	if err != nil {
		return nil, err
	}
	leaves, err := doc.leaves(plainKey)
	if err != nil {
		return nil, err
	}
	dataKey := newDataKey()
	if m.DataKey, err = wrapDataKey(dataKey, m.Recipients); err != nil {
		return nil, err
	}
	k, err := deriveKeys(dataKey)
	if err != nil {
		return nil, err
	}
	for _, l := range leaves {
		if !l.plain && !l.alias {
			l.value = k.sealValue(l.path, l.typ, l.value)
			l.set("str", l.value)
		}
	}
	return finish(doc, m, k, leaves)
}

// finish computes the MAC over leaves and renders the vault.
func finish(doc document, m *metadata, k *keys, leaves []*leaf) ([]byte, error) {
	items := make([]macItem, len(leaves))
	for i, l := range leaves {
		items[i] = l.macItem()
	}
	m.MAC = base64.StdEncoding.EncodeToString(k.computeMAC(m, items))
	doc.setMeta(m)
	return doc.marshal()
}

// A Vault is an opened vault: its MAC verified and every value decrypted in
// memory. It is not safe for concurrent use.
type Vault struct {
	doc    document
	m      *metadata
	k      *keys
	leaves []*leaf
	// plain holds the decrypted type and text of each encrypted leaf, by
	// index into leaves.
	plain map[int]plainValue
}

type plainValue struct{ typ, text string }

// Open verifies and decrypts a vault with any of ids. It fails with an
// error wrapping ErrNoKey, ErrWrongKey, ErrTampered, ErrTruncated,
// ErrNotEncrypted or ErrMalformed, and then returns no plaintext at all.
func Open(f Format, data []byte, ids []age.Identity) (*Vault, error) {
	if err := checkComplete(f, data); err != nil {
		return nil, err
	}
	doc, err := parseDocument(f, data)
	if err != nil {
		return nil, err
	}
	m := doc.meta()
	if m == nil {
		return nil, fmt.Errorf("%w: the file has no %s metadata", ErrMalformed, metaKey)
	}
	want, err := m.macBytes()
	if err != nil {
		return nil, err
	}
	plainKey, err := plainKeyFunc(m.UnencryptedRegex)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	leaves, err := doc.leaves(plainKey)
	if err != nil {
		return nil, err
	}
	dataKey, err := unwrapDataKey(m.DataKey, ids)
	if err != nil {
		return nil, err
	}
	k, err := deriveKeys(dataKey)
	if err != nil {
		return nil, err
	}
	v := &Vault{doc: doc, m: m, k: k, leaves: leaves, plain: make(map[int]plainValue, len(leaves))}
	items := make([]macItem, len(leaves))
	for i, l := range leaves {
		items[i] = l.macItem()
		if l.plain || l.alias {
			continue
		}
		if !isEnc(l.value) {
			return nil, fmt.Errorf("%w: value %s is not encrypted (it was added or changed by hand; use 'entry secrets edit')", ErrTampered, l.path)
		}
		typ, text, err := k.openValue(l.path, l.value)
		if err != nil {
			return nil, err
		}
		v.plain[i] = plainValue{typ, text}
	}
	if !hmac.Equal(k.computeMAC(m, items), want) {
		return nil, fmt.Errorf("%w: the file's MAC does not match (values were added, removed or reordered, or a plain value or the recipient list was edited by hand)", ErrTampered)
	}
	return v, nil
}

// Decrypt opens a vault and returns the plain file.
func Decrypt(f Format, data []byte, ids []age.Identity) ([]byte, error) {
	v, err := Open(f, data, ids)
	if err != nil {
		return nil, err
	}
	return v.Plaintext()
}

// Recipients lists a vault's recipients without decrypting anything.
func Recipients(f Format, data []byte) ([]string, error) {
	if err := checkComplete(f, data); err != nil {
		return nil, err
	}
	doc, err := parseDocument(f, data)
	if err != nil {
		return nil, err
	}
	if doc.meta() == nil {
		return nil, fmt.Errorf("%w: the file has no %s metadata", ErrMalformed, metaKey)
	}
	return slices.Clone(doc.meta().Recipients), nil
}

// withPlaintext runs fn with every encrypted leaf showing its plaintext and
// no metadata, then puts the ciphertexts back.
func (v *Vault) withPlaintext(fn func() error) error {
	for i, p := range v.plain {
		v.leaves[i].set(p.typ, p.text)
	}
	v.doc.setMeta(nil)
	defer func() {
		for i := range v.plain {
			v.leaves[i].set("str", v.leaves[i].value)
		}
		v.doc.setMeta(v.m)
	}()
	return fn()
}

// Plaintext renders the decrypted file: the same keys, comments and order,
// each value with its original type.
func (v *Vault) Plaintext() (out []byte, err error) {
	err = v.withPlaintext(func() error {
		out, err = v.doc.marshal()
		return err
	})
	return out, err
}

// Env returns the decrypted top-level KEY=value pairs of a flat vault, in
// file order.
func (v *Vault) Env() (kv []KeyValue, err error) {
	err = v.withPlaintext(func() error {
		kv, err = v.doc.flat()
		return err
	})
	return kv, err
}

// Recipients returns the vault's recipients.
func (v *Vault) Recipients() []string { return slices.Clone(v.m.Recipients) }

// Len returns the number of values, encrypted and plain.
func (v *Vault) Len() int { return len(v.leaves) }

// SetRecipients re-wraps the data key to recipients and returns the new
// vault. The encrypted values are not touched.
func (v *Vault) SetRecipients(recipients []string) ([]byte, error) {
	m := *v.m
	m.Recipients = dedupe(recipients)
	var err error
	if m.DataKey, err = wrapDataKey(v.k.dataKey, m.Recipients); err != nil {
		return nil, err
	}
	return v.reseal(&m, v.k)
}

// Rotate encrypts every value under a new data key, wrapped to the same
// recipients, and returns the new vault.
func (v *Vault) Rotate() ([]byte, error) {
	m := *v.m
	dataKey := newDataKey()
	k, err := deriveKeys(dataKey)
	if err != nil {
		return nil, err
	}
	if m.DataKey, err = wrapDataKey(dataKey, m.Recipients); err != nil {
		return nil, err
	}
	for i, p := range v.plain {
		v.leaves[i].value = k.sealValue(v.leaves[i].path, p.typ, p.text)
		v.leaves[i].set("str", v.leaves[i].value)
	}
	v.k = k
	return v.reseal(&m, k)
}

// reseal recomputes the MAC with metadata m and renders the vault; m
// becomes the vault's metadata.
func (v *Vault) reseal(m *metadata, k *keys) ([]byte, error) {
	out, err := finish(v.doc, m, k, v.leaves)
	if err != nil {
		return nil, err
	}
	v.m = m
	return out, nil
}

// Update returns the vault re-encrypted from an edited plain file: values
// whose key path, type and text are unchanged keep their ciphertext, so a
// diff shows exactly which secrets changed. changed counts values added,
// changed or removed.
func (v *Vault) Update(plain []byte) (out []byte, changed int, err error) {
	doc, err := parseDocument(v.doc.format(), plain)
	if err != nil {
		return nil, 0, err
	}
	if doc.meta() != nil {
		return nil, 0, fmt.Errorf("%w: the edited file must not contain %s metadata", ErrMalformed, metaKey)
	}
	plainKey, err := plainKeyFunc(v.m.UnencryptedRegex)
	if err != nil {
		return nil, 0, err
	}
	leaves, err := doc.leaves(plainKey)
	if err != nil {
		return nil, 0, err
	}
	type old struct {
		plainValue
		enc  string
		used bool
	}
	before := make(map[string]*old, len(v.plain))
	for i, p := range v.plain {
		before[v.leaves[i].path] = &old{plainValue: p, enc: v.leaves[i].value}
	}
	oldPlain := map[string]string{}
	for _, l := range v.leaves {
		if l.plain || l.alias {
			oldPlain[l.path] = l.typ + "\x00" + l.value
		}
	}
	for _, l := range leaves {
		if l.plain || l.alias {
			if prev, ok := oldPlain[l.path]; !ok || prev != l.typ+"\x00"+l.value {
				changed++
			}
			delete(oldPlain, l.path)
			continue
		}
		if o := before[l.path]; o != nil && o.typ == l.typ && o.text == l.value {
			l.value = o.enc
			o.used = true
		} else {
			if o != nil {
				o.used = true
			}
			l.value = v.k.sealValue(l.path, l.typ, l.value)
			changed++
		}
		l.set("str", l.value)
	}
	for _, o := range before {
		if !o.used {
			changed++
		}
	}
	changed += len(oldPlain)
	m := *v.m
	out, err = finish(doc, &m, v.k, leaves)
	return out, changed, err
}

// dedupe drops repeated recipients, keeping the first.
func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// TopLevelKeys lists a vault's top-level keys (the variables env: true
// would export) without decrypting anything: keys are never encrypted.
func TopLevelKeys(f Format, data []byte) ([]string, error) {
	doc, err := parseDocument(f, data)
	if err != nil {
		return nil, err
	}
	var keys []string
	switch d := doc.(type) {
	case *yamlDoc:
		for i := 0; i+1 < len(d.root.Content); i += 2 {
			keys = append(keys, d.root.Content[i].Value)
		}
	case *dotenvDoc:
		for _, l := range d.lines {
			if l.isVar {
				keys = append(keys, l.key)
			}
		}
	}
	return keys, nil
}
