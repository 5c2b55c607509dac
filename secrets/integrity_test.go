package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// nonceOf returns the GCM nonce of one ENC value.
func nonceOf(t *testing.T, enc string) string {
	t.Helper()
	_, raw, ok := parseEnc(enc)
	if !ok {
		t.Fatalf("not an ENC value: %q", enc)
	}
	return string(raw[:nonceSize])
}

// TestSealsOfOnePlaintextDiffer checks what AES-GCM's confidentiality and
// integrity rest on: no two values sealed under one data key share a
// nonce, and the same plaintext never gives the same ciphertext, within a
// vault, across edits of it, and across vaults.
func TestSealsOfOnePlaintextDiffer(t *testing.T) {
	id, r := testKey(t)
	var src strings.Builder
	for i := range 40 {
		fmt.Fprintf(&src, "KEY_%02d=same-secret\n", i)
	}
	first, err := Encrypt(Dotenv, []byte(src.String()), EncryptOptions{Recipients: []string{r}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Encrypt(Dotenv, []byte(src.String()), EncryptOptions{Recipients: []string{r}})
	if err != nil {
		t.Fatal(err)
	}

	// Edits seal under the first vault's data key again: the value of
	// KEY_00 changed and changed back must get a new nonce each time.
	v, err := Open(Dotenv, first, ids(id))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(src.String(), "KEY_00=same-secret", "KEY_00=other", 1)
	afterEdit, _, err := v.Update([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	v, err = Open(Dotenv, afterEdit, ids(id))
	if err != nil {
		t.Fatal(err)
	}
	afterRevert, _, err := v.Update([]byte(src.String()))
	if err != nil {
		t.Fatal(err)
	}

	sameKey := map[string]string{} // nonce -> where it was first seen
	for _, vault := range []struct {
		name string
		data []byte
	}{{"the vault", first}, {"the vault after an edit", afterEdit}, {"the vault after the edit was undone", afterRevert}} {
		for i, enc := range encValues(vault.data) {
			n := nonceOf(t, enc)
			where := fmt.Sprintf("%s, value %d", vault.name, i)
			if prev, dup := sameKey[n]; dup && !strings.HasSuffix(prev, fmt.Sprintf("value %d", i)) {
				t.Errorf("nonce reused under one data key: %s and %s", prev, where)
			}
			if _, dup := sameKey[n]; !dup {
				sameKey[n] = where
			}
		}
	}
	// Unchanged values keep their ciphertext across an edit (a diff shows
	// only what changed), so 40 values + 2 new seals of KEY_00.
	if got, want := len(sameKey), 42; got != want {
		t.Errorf("%d distinct nonces under one data key, want %d (one per seal)", got, want)
	}

	ciphertexts := map[string]bool{}
	for _, vault := range [][]byte{first, second} {
		for _, enc := range encValues(vault) {
			if ciphertexts[enc] {
				t.Errorf("the same plaintext sealed twice gave the same ciphertext %s", enc)
			}
			ciphertexts[enc] = true
		}
	}
	if len(ciphertexts) != 80 {
		t.Errorf("%d distinct ciphertexts for 80 seals of one plaintext", len(ciphertexts))
	}
}

// TestDataKeysAreRandom: every new vault and every rotation draws a new
// data key, so values are never sealed twice under one key by accident.
func TestDataKeysAreRandom(t *testing.T) {
	id, r := testKey(t)
	seen := map[string]string{}
	note := func(what string, vault []byte) {
		t.Helper()
		v, err := Open(YAML, vault, ids(id))
		if err != nil {
			t.Fatal(err)
		}
		k := string(v.k.dataKey)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s has the same data key as %s", what, prev)
		}
		if bytes.Count(v.k.dataKey, []byte{0}) == dataKeySize {
			t.Errorf("%s has an all-zero data key", what)
		}
		seen[k] = what
	}
	var last []byte
	for i := range 3 {
		vault, err := Encrypt(YAML, []byte("a: 1\n"), EncryptOptions{Recipients: []string{r}})
		if err != nil {
			t.Fatal(err)
		}
		note(fmt.Sprintf("new vault %d", i), vault)
		last = vault
	}
	v, err := Open(YAML, last, ids(id))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := v.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	note("the rotated vault", rotated)
}

// macCoverage lists, for each metadata field, a change to it that only
// the MAC can notice (the vault still parses and decrypts), or why the
// field needs none. A metadata field missing here fails the test, so a new
// field cannot be left out of the MAC unnoticed.
var macCoverage = map[string]struct {
	tamper    func(t *testing.T, m *metadata, other *metadata)
	refusedBy error // what a change to the field must be refused with
}{
	// The recipient swapped for someone else's key by someone who can
	// write the file: they cannot read the values yet, but the next edit
	// or rotation would wrap the data key to them. (The count stays the
	// same, so only the MAC over the keys themselves can tell.)
	"Recipients": {tamper: func(t *testing.T, m, other *metadata) {
		m.Recipients[0] = other.Recipients[0]
	}, refusedBy: ErrTampered},
	// The regex decides which values stay in clear: one that matches the
	// same keys but reads differently must still be noticed.
	"UnencryptedRegex": {tamper: func(t *testing.T, m, other *metadata) {
		m.UnencryptedRegex = "(?:" + m.UnencryptedRegex + ")|^never_matches_any_key$"
	}, refusedBy: ErrTampered},
	// Another vault's wrapped data key (same recipient): it unwraps, but
	// to a key whose MAC key differs.
	"DataKey": {tamper: func(t *testing.T, m, other *metadata) {
		m.DataKey = other.DataKey
	}, refusedBy: ErrTampered},
	// The version is not MAC'd: a different one is refused by name.
	"Version": {tamper: func(t *testing.T, m, other *metadata) {
		m.Version++
	}, refusedBy: ErrMalformed},
	// The MAC itself.
	"MAC": {tamper: func(t *testing.T, m, other *metadata) {
		b, err := m.macBytes()
		if err != nil {
			t.Fatal(err)
		}
		b[0] ^= 1
		m.MAC = base64.StdEncoding.EncodeToString(b)
	}, refusedBy: ErrTampered},
}

// TestMACCoversEveryField tampers with each metadata field, derived from
// the metadata type, and with each kind of leaf the MAC input holds, and
// checks that Open refuses the result.
func TestMACCoversEveryField(t *testing.T) {
	id, r := testKey(t)
	_, otherR := testKey(t)
	const src = `public_url: https://example.com
base: &b shared-secret
base2: &c other-secret
alias: *b
password: hunter2
token: abc
`
	opts := EncryptOptions{Recipients: []string{r}, UnencryptedRegex: "^public_"}
	vault, err := Encrypt(YAML, []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(YAML, vault, ids(id)); err != nil {
		t.Fatalf("the untouched vault does not open: %v", err)
	}
	other, err := Encrypt(YAML, []byte(src), EncryptOptions{Recipients: []string{r}, UnencryptedRegex: "^public_"})
	if err != nil {
		t.Fatal(err)
	}
	otherDoc, err := parseDocument(YAML, other)
	if err != nil {
		t.Fatal(err)
	}
	otherMeta := *otherDoc.meta()
	otherMeta.Recipients = []string{otherR}

	typ := reflect.TypeFor[metadata]()
	for i := range typ.NumField() {
		field := typ.Field(i).Name
		t.Run("metadata."+field, func(t *testing.T) {
			c, ok := macCoverage[field]
			if !ok {
				t.Fatalf("metadata field %s has no tamper case in macCoverage: add one, and cover the field with the MAC", field)
			}
			doc, err := parseDocument(YAML, vault)
			if err != nil {
				t.Fatal(err)
			}
			m := *doc.meta()
			m.Recipients = append([]string(nil), m.Recipients...)
			c.tamper(t, &m, &otherMeta)
			if reflect.DeepEqual(m, *doc.meta()) {
				t.Fatalf("the tamper case for %s changes nothing", field)
			}
			doc.setMeta(&m)
			tampered, err := doc.marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = Open(YAML, tampered, ids(id))
			if !errors.Is(err, c.refusedBy) {
				t.Fatalf("Open of a vault with %s changed: err = %v, want %v\n%s", field, err, c.refusedBy, tampered)
			}
		})
	}

	// Every kind of leaf in the MAC input, changed in the file text.
	leafCases := map[string]struct{ old, new string }{
		"plain value":       {"public_url: https://example.com", "public_url: https://evil.example"},
		"plain key":         {"public_url:", "public_uri:"},
		"alias target":      {"alias: *b", "alias: *c"},
		"encrypted key":     {"password:", "passw0rd:"},
		"leaf removed":      {"token:", "#token:"},
		"leaves reordered":  {"alias: *b\n", ""},
		"plain value added": {"public_url:", "public_extra: 1\npublic_url:"},
	}
	kinds := map[string]bool{}
	doc, err := parseDocument(YAML, vault)
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := doc.leaves(func(k string) bool { return strings.HasPrefix(k, "public_") })
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaves {
		kinds[l.macItem()[0]] = true
	}
	for _, kind := range []string{"alias", "plain", "enc"} {
		if !kinds[kind] {
			t.Errorf("the sample vault has no %q leaf: the cases below do not cover it", kind)
		}
	}
	for name, c := range leafCases {
		t.Run(name, func(t *testing.T) {
			text := string(vault)
			if name == "leaves reordered" {
				// Move the alias line to the end of the values.
				text = strings.Replace(text, "alias: *b\n", "", 1)
				text = strings.Replace(text, "entry_secrets:", "alias: *b\nentry_secrets:", 1)
			} else {
				if strings.Count(text, c.old) != 1 {
					t.Fatalf("%q occurs %d times in the vault", c.old, strings.Count(text, c.old))
				}
				text = strings.Replace(text, c.old, c.new, 1)
			}
			_, err := Open(YAML, []byte(text), ids(id))
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("Open after %s: err = %v, want ErrTampered\n%s", name, err, text)
			}
		})
	}
}
