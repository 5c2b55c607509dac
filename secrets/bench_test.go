package secrets

import (
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
)

// vault200 is a realistic 200-value YAML vault: 20 sections of 10 values.
func vault200(b *testing.B) ([]byte, age.Identity) {
	id, rcpt := testKey(b)
	var src strings.Builder
	for s := 0; s < 20; s++ {
		fmt.Fprintf(&src, "# service %d\nservice_%d:\n", s, s)
		for v := 0; v < 10; v++ {
			switch v % 4 {
			case 0:
				fmt.Fprintf(&src, "  password_%d: p4ss-%d-%d-abcdefghijklmnopqrstuvwxyz\n", v, s, v)
			case 1:
				fmt.Fprintf(&src, "  port_%d: %d\n", v, 5000+v)
			case 2:
				fmt.Fprintf(&src, "  enabled_%d: true\n", v)
			default:
				fmt.Fprintf(&src, "  url_%d: postgres://user:secret@db-%d.internal:5432/app_%d\n", v, s, v)
			}
		}
	}
	vault, err := Encrypt(YAML, []byte(src.String()), EncryptOptions{Recipients: []string{rcpt}})
	if err != nil {
		b.Fatal(err)
	}
	return vault, id
}

// BenchmarkDecrypt200 is the start-up cost of a 200-value vault: verify,
// decrypt and render the plain file (target: 5 ms).
func BenchmarkDecrypt200(b *testing.B) {
	vault, id := vault200(b)
	ids := []age.Identity{id}
	b.SetBytes(int64(len(vault)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decrypt(YAML, vault, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt200PQ is the same with a post-quantum hybrid key.
func BenchmarkDecrypt200PQ(b *testing.B) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		b.Fatal(err)
	}
	plainVault, classic := vault200(b)
	plain, err := Decrypt(YAML, plainVault, []age.Identity{classic})
	if err != nil {
		b.Fatal(err)
	}
	vault, err := Encrypt(YAML, plain, EncryptOptions{Recipients: []string{id.Recipient().String()}})
	if err != nil {
		b.Fatal(err)
	}
	ids := []age.Identity{id}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decrypt(YAML, vault, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt200 is `entry secrets encrypt` of the same file.
func BenchmarkEncrypt200(b *testing.B) {
	vault, id := vault200(b)
	plain, _ := Decrypt(YAML, vault, []age.Identity{id})
	rcpt := PublicKey(id)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Encrypt(YAML, plain, EncryptOptions{Recipients: []string{rcpt}}); err != nil {
			b.Fatal(err)
		}
	}
}
