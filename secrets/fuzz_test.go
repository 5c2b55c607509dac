package secrets

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

// fuzzKey is one identity shared by the fuzz targets, so seeds can be
// real vaults.
var fuzzKey = sync.OnceValues(func() (*age.X25519Identity, error) { return age.GenerateX25519Identity() })

func fuzzVault(f *testing.F, format Format, src string) []byte {
	id, err := fuzzKey()
	if err != nil {
		f.Fatal(err)
	}
	v, err := Encrypt(format, []byte(src), EncryptOptions{Recipients: []string{id.Recipient().String()}})
	if err != nil {
		f.Fatal(err)
	}
	return v
}

// openErrors are the only errors Open may return for any input.
var openErrors = []error{ErrNoKey, ErrWrongKey, ErrTampered, ErrTruncated, ErrNotEncrypted, ErrMalformed}

func checkOpen(t *testing.T, format Format, data []byte) {
	id, _ := fuzzKey()
	v, err := Open(format, data, []age.Identity{id})
	if err != nil {
		for _, e := range openErrors {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("Open returned an unclassified error: %v", err)
	}
	// A vault that opens renders, and its plaintext encrypts again.
	plain, err := v.Plaintext()
	if err != nil {
		t.Fatalf("Plaintext: %v", err)
	}
	if _, err := parseDocument(format, plain); err != nil {
		t.Fatalf("the decrypted file does not parse: %v\n%s", err, plain)
	}
}

// FuzzYAML parses arbitrary YAML as a plain file and as a vault. A plain
// file that parses must survive an encrypt/decrypt round trip unchanged.
func FuzzYAML(f *testing.F) {
	for _, s := range []string{sampleYAML, "a: 1\n", "", "{}", "a: [1, {b: c}]\n", "x: &a 1\ny: *a\n", "k: |\n  multi\n  line\n"} {
		f.Add([]byte(s))
		f.Add(fuzzVault(f, YAML, s))
	}
	f.Add([]byte("entry_secrets:\n  version: 1\n  mac: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOpen(t, YAML, data)
		doc, err := parseYAML(data)
		if err != nil || doc.meta() != nil || doc.hasEncValues() {
			return
		}
		if _, err := doc.leaves(func(string) bool { return false }); err != nil {
			return
		}
		canon, err := doc.marshal()
		if err != nil {
			return
		}
		roundTrip(t, YAML, canon)
	})
}

// FuzzDotenv does the same for dotenv files.
func FuzzDotenv(f *testing.F) {
	for _, s := range []string{sampleDotenv, "A=1\n", "", "export A='x y' # c\n", "A=\"a\\nb\"\n", "# only\n\n"} {
		f.Add([]byte(s))
		f.Add(fuzzVault(f, Dotenv, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOpen(t, Dotenv, data)
		doc, err := parseDotenv(data)
		if err != nil || doc.meta() != nil || doc.hasEncValues() {
			return
		}
		kv, err := doc.flat()
		if err != nil {
			return
		}
		canon, _ := doc.marshal()
		// Rendering is faithful: the rendered file reads back the same.
		again, err := parseDotenv(canon)
		if err != nil {
			t.Fatalf("rendered file does not parse: %v\n%q", err, canon)
		}
		if kv2, _ := again.flat(); !equalKV(kv, kv2) {
			t.Fatalf("values changed by rendering:\n%q\n%q", kv, kv2)
		}
		roundTrip(t, Dotenv, canon)
	})
}

func equalKV(a, b []KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func roundTrip(t *testing.T, format Format, canon []byte) {
	id, _ := fuzzKey()
	vault, err := Encrypt(format, canon, EncryptOptions{Recipients: []string{id.Recipient().String()}})
	if err != nil {
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrAlreadyEncrypted) {
			return
		}
		t.Fatalf("Encrypt: %v\n%q", err, canon)
	}
	plain, err := Decrypt(format, vault, []age.Identity{id})
	if err != nil {
		t.Fatalf("Decrypt of a fresh vault: %v\n%s", err, vault)
	}
	if format == Dotenv && !bytes.Equal(plain, canon) {
		t.Fatalf("round trip changed the file:\n%q\n%q", canon, plain)
	}
	if format == YAML {
		a, _ := parseYAML(plain)
		b, _ := parseYAML(canon)
		// A vault's top level is always a block mapping (its metadata
		// must end the file), so a {flow} top level comes back as a block.
		b.root.Style &^= yaml.FlowStyle
		pa, _ := a.marshal()
		pb, _ := b.marshal()
		if !bytes.Equal(pa, pb) && !bytes.Contains(canon, []byte(">")) {
			t.Fatalf("round trip changed the file:\n%s\n---\n%s", canon, plain)
		}
	}
}
