package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Format version 1 (docs/secrets-format.md is the normative description).
const (
	dataKeySize = 32 // AES-256
	nonceSize   = 12 // AES-GCM standard nonce
	macSize     = sha256.Size

	labelValueKey = "entry-secrets/v1 value key"
	labelMACKey   = "entry-secrets/v1 mac key"
	labelValueAAD = "entry-secrets/v1 value"
	labelMAC      = "entry-secrets/v1 mac"

	encPrefix = "ENC[v1,"
	encSuffix = "]"
)

// keys holds the subkeys derived from one file's data key.
type keys struct {
	dataKey []byte
	value   cipher.AEAD
	mac     []byte
}

// newDataKey returns a fresh random data key.
func newDataKey() []byte {
	k := make([]byte, dataKeySize)
	rand.Read(k) // never fails (crypto/rand)
	return k
}

// deriveKeys derives the value and MAC keys from a data key with
// HKDF-SHA-256 (empty salt), so that the one random key never serves two
// purposes.
func deriveKeys(dataKey []byte) (*keys, error) {
	if len(dataKey) != dataKeySize {
		return nil, fmt.Errorf("%w: the data key is %d bytes, want %d", ErrTampered, len(dataKey), dataKeySize)
	}
	vk, err := hkdf.Key(sha256.New, dataKey, nil, labelValueKey, dataKeySize)
	if err != nil {
		return nil, err
	}
	mk, err := hkdf.Key(sha256.New, dataKey, nil, labelMACKey, dataKeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(vk)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keys{dataKey: dataKey, value: gcm, mac: mk}, nil
}

// netstrings appends each field as a netstring ("<len>:<bytes>,"), the
// unambiguous encoding used for associated data and MAC input.
func netstrings(dst []byte, fields ...string) []byte {
	for _, f := range fields {
		dst = strconv.AppendInt(dst, int64(len(f)), 10)
		dst = append(dst, ':')
		dst = append(dst, f...)
		dst = append(dst, ',')
	}
	return dst
}

// valueAAD binds a value's ciphertext to its key path and type.
func valueAAD(path, typ string) []byte {
	return netstrings(nil, labelValueAAD, path, typ)
}

// sealValue encrypts plaintext of type typ found at path and returns its
// ENC[v1,TYPE,BASE64] form.
func (k *keys) sealValue(path, typ, plaintext string) string {
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+k.value.Overhead())
	rand.Read(buf)
	buf = k.value.Seal(buf, buf[:nonceSize], []byte(plaintext), valueAAD(path, typ))
	return encPrefix + typ + "," + base64.StdEncoding.EncodeToString(buf) + encSuffix
}

// isEnc reports whether s has the form of an encrypted value.
func isEnc(s string) bool {
	return strings.HasPrefix(s, encPrefix) && strings.HasSuffix(s, encSuffix)
}

// parseEnc splits ENC[v1,TYPE,BASE64] into its type and raw bytes.
func parseEnc(s string) (typ string, raw []byte, ok bool) {
	if !isEnc(s) {
		return "", nil, false
	}
	body := s[len(encPrefix) : len(s)-len(encSuffix)]
	typ, b64, ok := strings.Cut(body, ",")
	if !ok || !validType(typ) {
		return "", nil, false
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) < nonceSize+16 {
		return "", nil, false
	}
	return typ, raw, true
}

// openValue decrypts the ENC string found at path.
func (k *keys) openValue(path, enc string) (typ, plaintext string, err error) {
	typ, raw, ok := parseEnc(enc)
	if !ok {
		return "", "", fmt.Errorf("%w: value %s is not a well-formed ENC[v1,TYPE,DATA] string (it was edited by hand)", ErrTampered, path)
	}
	pt, err := k.value.Open(nil, raw[:nonceSize], raw[nonceSize:], valueAAD(path, typ))
	if err != nil {
		return "", "", fmt.Errorf("%w: value %s does not decrypt (it was changed, or moved here from another key)", ErrTampered, path)
	}
	return typ, string(pt), nil
}

// wrapDataKey encrypts the data key to every recipient as an armored age
// file.
func wrapDataKey(dataKey []byte, recipients []string) (string, error) {
	rs, err := parseRecipients(recipients)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, rs...)
	if err != nil {
		return "", fmt.Errorf("wrapping the data key: %v", err)
	}
	if _, err := w.Write(dataKey); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// unwrapDataKey decrypts the armored age file holding the data key.
func unwrapDataKey(armored string, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w (set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM, or give --key-file)", ErrNoKey)
	}
	if !strings.Contains(armored, armor.Footer) {
		return nil, fmt.Errorf("%w: the data_key ends before its %q line", ErrTruncated, armor.Footer)
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(armored)), ids...)
	if err != nil {
		if _, ok := err.(*age.NoIdentityMatchError); ok {
			return nil, fmt.Errorf("%w: the age key (public key %s) is not a recipient of this file", ErrWrongKey, describeIdentities(ids))
		}
		return nil, fmt.Errorf("%w: the wrapped data key cannot be read (%v)", ErrTampered, err)
	}
	key, err := io.ReadAll(io.LimitReader(r, dataKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: the wrapped data key cannot be read (%v)", ErrTampered, err)
	}
	if len(key) != dataKeySize {
		return nil, fmt.Errorf("%w: the wrapped data key is %d bytes, want %d", ErrTampered, len(key), dataKeySize)
	}
	return key, nil
}

// A macItem is one entry of the MAC input: a leaf of the document.
type macItem []string

// computeMAC is HMAC-SHA-256 over the header fields and every leaf, in
// document order, each a list of netstrings.
func (k *keys) computeMAC(m *metadata, items []macItem) []byte {
	h := hmac.New(sha256.New, k.mac)
	var buf []byte
	buf = netstrings(buf, labelMAC, "recipients", strconv.Itoa(len(m.Recipients)))
	buf = netstrings(buf, m.Recipients...)
	buf = netstrings(buf, "unencrypted_regex", m.UnencryptedRegex, "leaves", strconv.Itoa(len(items)))
	h.Write(buf)
	for _, it := range items {
		buf = netstrings(buf[:0], strconv.Itoa(len(it)))
		buf = netstrings(buf, it...)
		h.Write(buf)
	}
	return h.Sum(nil)
}

// parseRecipients parses age recipients (age1..., age1pq1...).
func parseRecipients(list []string) ([]age.Recipient, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("no recipients (give at least one age public key, age1...)")
	}
	rs := make([]age.Recipient, 0, len(list))
	for _, s := range list {
		r, err := ParseRecipient(s)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// ParseRecipient parses one age public key: X25519 (age1...) or, with
// age v1.3 and later, post-quantum hybrid (age1pq1...).
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("recipient %q is not a valid post-quantum age public key", shorten(s))
		}
		return r, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("recipient %q is not a valid age public key", shorten(s))
		}
		return r, nil
	case strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-"):
		// Never echo it: it is a private key given by mistake.
		return nil, fmt.Errorf("a recipient is an age secret key, not a public key (give the age1... line 'entry secrets keygen' printed)")
	}
	return nil, fmt.Errorf("recipient %q is not an age public key (age1... or age1pq1...)", shorten(s))
}

// shorten keeps long public keys readable in errors.
func shorten(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-8:]
	}
	return s
}
