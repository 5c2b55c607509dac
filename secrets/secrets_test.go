package secrets

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/joho/godotenv"
	"go.yaml.in/yaml/v3"
)

// testKey returns a new X25519 identity and its recipient.
func testKey(t testing.TB) (age.Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, id.Recipient().String()
}

func ids(list ...age.Identity) []age.Identity { return list }

// sampleYAML exercises every value type, anchors, aliases, merge keys,
// comments, block scalars, nesting and the _unencrypted suffix.
const sampleYAML = `# Secrets of the app, one section per RAILS_ENV.
defaults: &defaults
  adapter: postgresql # the driver
  pool: 5
  password: &pw s3cr3t-default
production:
  <<: *defaults
  database_url: postgres://app:hunter2@db.internal/app
  port: 5432
  ratio: 0.75
  enabled: true
  disabled: false
  nothing: null
  tilde: ~
  empty: ""
  quoted_yes: "yes"
  quoted_int: '123'
  born: 2001-12-14
  blob: !!binary aGVsbG8gd29ybGQ=
  negative: -17
  unicode: "パスワード✓"
  reused_password: *pw
  private_key: |
    -----BEGIN PRIVATE KEY-----
    MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
    -----END PRIVATE KEY-----
  folded: >
    one two
    three
  hosts:
    - web-1.internal
    - web-2.internal
    - name: web-3
      token: tok-333
  # A public value everyone may read.
  region_unencrypted: ap-northeast-1
  public_unencrypted:
    nested: visible
    list: [a, b]
"k/with~odd": slash-tilde-secret
`

// secretValues are strings from sampleYAML that must never appear in the
// vault.
var secretValues = []string{"s3cr3t-default", "hunter2", "5432", "パスワード", "PRIVATE KEY", "tok-333", "slash-tilde-secret", "web-1.internal", "aGVsbG8gd29ybGQ="}

func canonicalYAML(t *testing.T, src string) []byte {
	t.Helper()
	doc, err := parseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := doc.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return v
}

func TestRoundTripYAML(t *testing.T) {
	id, rcpt := testKey(t)
	vault, err := Encrypt(YAML, []byte(sampleYAML), EncryptOptions{Recipients: []string{rcpt}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secretValues {
		if bytes.Contains(vault, []byte(s)) {
			t.Errorf("vault contains the secret %q:\n%s", s, vault)
		}
	}
	for _, s := range []string{"# Secrets of the app", "# the driver", "# A public value everyone may read.", "region_unencrypted: ap-northeast-1", "nested: visible", "<<: *defaults", "&pw ENC[v1,str,", "reused_password: *pw", "\"k/with~odd\": ENC[v1,str,", "entry_secrets:\n  version: 1\n"} {
		if !bytes.Contains(vault, []byte(s)) {
			t.Errorf("vault lacks %q:\n%s", s, vault)
		}
	}
	// Key order is kept.
	order := regexp.MustCompile(`(?m)^  (\w+):`).FindAllStringSubmatch(string(vault), -1)
	var keys []string
	for _, m := range order {
		keys = append(keys, m[1])
	}
	if got := strings.Join(keys[:6], ","); got != "adapter,pool,password,database_url,port,ratio" {
		t.Errorf("key order: %s", got)
	}

	plain, err := Decrypt(YAML, vault, ids(id))
	if err != nil {
		t.Fatal(err)
	}
	// Block scalars come back as literal blocks: the same value.
	literal := strings.Replace(sampleYAML, "folded: >\n    one two\n    three\n", "folded: |\n    one two three\n", 1)
	if want := canonicalYAML(t, literal); !bytes.Equal(plain, want) {
		t.Errorf("decrypted file differs from the original:\n--- got\n%s\n--- want\n%s", plain, want)
	}
	if !reflect.DeepEqual(decodeAny(t, plain), decodeAny(t, []byte(sampleYAML))) {
		t.Errorf("decrypted values differ from the original")
	}
	// Types survive: port is an int, quoted_yes a string, enabled a bool.
	var v struct {
		Production map[string]any `yaml:"production"`
	}
	yaml.Unmarshal(plain, &v)
	for k, want := range map[string]any{"port": 5432, "quoted_yes": "yes", "quoted_int": "123", "enabled": true, "ratio": 0.75, "nothing": nil, "adapter": "postgresql", "pool": 5} {
		if got := v.Production[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
}

const sampleDotenv = `# Production secrets
export DATABASE_URL=postgres://app:hunter2@db/app
SECRET_KEY_BASE = 0123456789abcdef # rotated 2024-01
EMPTY=
SPACES='two words'
DOUBLE="line one\nline two"
QUOTE="it's \"quoted\" here"
DOLLAR='pa$$word'
BACKSLASH="c:\\temp\\dir"

# kept plain
REGION_unencrypted=ap-northeast-1
MULTI="first
second"
`

func TestRoundTripDotenv(t *testing.T) {
	id, rcpt := testKey(t)
	vault, err := Encrypt(Dotenv, []byte(sampleDotenv), EncryptOptions{Recipients: []string{rcpt}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2", "0123456789abcdef", "two words", "line one", "pa$$word", "temp"} {
		if bytes.Contains(vault, []byte(s)) {
			t.Errorf("vault contains the secret %q:\n%s", s, vault)
		}
	}
	for _, s := range []string{"# Production secrets\nexport DATABASE_URL=ENC[v1,str,", "SECRET_KEY_BASE=ENC[v1,str,", " # rotated 2024-01\n", "\n\n# kept plain\nREGION_unencrypted=ap-northeast-1\n", "#ENTRY_SECRETS version: 1\n", "#ENTRY_SECRETS data_key: |\n"} {
		if !bytes.Contains(vault, []byte(s)) {
			t.Errorf("vault lacks %q:\n%s", s, vault)
		}
	}
	// A dotenv vault is still a dotenv file: loaders see ENC strings.
	if _, err := godotenv.Unmarshal(string(vault)); err != nil {
		t.Errorf("godotenv cannot read the vault: %v", err)
	}
	v, err := Open(Dotenv, vault, ids(id))
	if err != nil {
		t.Fatal(err)
	}
	env, err := v.Env()
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyValue{
		{"DATABASE_URL", "postgres://app:hunter2@db/app"}, {"SECRET_KEY_BASE", "0123456789abcdef"}, {"EMPTY", ""},
		{"SPACES", "two words"}, {"DOUBLE", "line one\nline two"}, {"QUOTE", `it's "quoted" here`}, {"DOLLAR", "pa$$word"},
		{"BACKSLASH", `c:\temp\dir`}, {"REGION_unencrypted", "ap-northeast-1"}, {"MULTI", "first\nsecond"},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env:\n got %q\nwant %q", env, want)
	}
	plain, err := v.Plaintext()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# Production secrets\nexport DATABASE_URL=postgres://app:hunter2@db/app\n", "SECRET_KEY_BASE=0123456789abcdef # rotated 2024-01\n", "\n\n# kept plain\n"} {
		if !bytes.Contains(plain, []byte(s)) {
			t.Errorf("decrypted file lacks %q:\n%s", s, plain)
		}
	}
	if bytes.Contains(plain, []byte("ENTRY_SECRETS")) {
		t.Errorf("decrypted file keeps the metadata:\n%s", plain)
	}
	// godotenv reads the decrypted file as entry does (no $ in these values
	// except in DOLLAR, which entry writes escaped).
	got, err := godotenv.Unmarshal(string(plain))
	if err != nil {
		t.Fatalf("godotenv: %v\n%s", err, plain)
	}
	for _, kv := range want {
		if got[kv.Key] != kv.Value {
			t.Errorf("godotenv reads %s=%q, want %q\n%s", kv.Key, got[kv.Key], kv.Value, plain)
		}
	}
	// Decrypting the decrypted file's parse again gives the same env.
	again, err := parseDotenv(plain)
	if err != nil {
		t.Fatal(err)
	}
	if kv, _ := again.flat(); !reflect.DeepEqual(kv, want) {
		t.Errorf("re-parse:\n got %q\nwant %q", kv, want)
	}
}

func TestMultipleRecipients(t *testing.T) {
	a, ra := testKey(t)
	b, rb := testKey(t)
	c, rc := testKey(t)
	_, rOther := testKey(t)
	vault, err := Encrypt(YAML, []byte(sampleYAML), EncryptOptions{Recipients: []string{ra, rb, rc, ra}})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Recipients(YAML, vault)
	if err != nil || !reflect.DeepEqual(rs, []string{ra, rb, rc}) {
		t.Fatalf("recipients = %v, %v", rs, err)
	}
	for _, id := range []age.Identity{a, b, c} {
		if _, err := Decrypt(YAML, vault, ids(id)); err != nil {
			t.Errorf("recipient cannot decrypt: %v", err)
		}
	}
	_ = rOther
}

func TestPostQuantumRecipients(t *testing.T) {
	a, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := age.GenerateHybridIdentity()
	ra, rb := a.Recipient().String(), b.Recipient().String()
	if !strings.HasPrefix(ra, "age1pq1") {
		t.Fatalf("hybrid recipient %q", ra)
	}
	vault, err := Encrypt(Dotenv, []byte(sampleDotenv), EncryptOptions{Recipients: []string{ra, rb}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []age.Identity{a, b} {
		if _, err := Decrypt(Dotenv, vault, ids(id)); err != nil {
			t.Errorf("hybrid recipient cannot decrypt: %v", err)
		}
	}
	// age refuses to mix classic and post-quantum recipients.
	_, rc := testKey(t)
	_, err = Encrypt(Dotenv, []byte(sampleDotenv), EncryptOptions{Recipients: []string{ra, rc}})
	if err == nil || !strings.Contains(err.Error(), "can't mix post-quantum and classic recipients") {
		t.Errorf("mixing: %v", err)
	}
}

// encValues returns the ENC[...] strings of a vault in order.
func encValues(vault []byte) []string {
	return regexp.MustCompile(`ENC\[v1,[a-z]+,[A-Za-z0-9+/=]+\]`).FindAllString(string(vault), -1)
}

func TestRecipientsAddRemove(t *testing.T) {
	a, ra := testKey(t)
	b, rb := testKey(t)
	vault, err := Encrypt(YAML, []byte(sampleYAML), EncryptOptions{Recipients: []string{ra}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(YAML, vault, ids(b)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("b before add: %v", err)
	}
	v, err := Open(YAML, vault, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	added, err := v.SetRecipients(append(v.Recipients(), rb))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(encValues(added), encValues(vault)) {
		t.Error("adding a recipient changed the encrypted values")
	}
	for _, id := range []age.Identity{a, b} {
		if _, err := Decrypt(YAML, added, ids(id)); err != nil {
			t.Errorf("after add: %v", err)
		}
	}
	v, err = Open(YAML, added, ids(b))
	if err != nil {
		t.Fatal(err)
	}
	removed, err := v.SetRecipients([]string{rb})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(encValues(removed), encValues(vault)) {
		t.Error("removing a recipient changed the encrypted values")
	}
	if _, err := Decrypt(YAML, removed, ids(a)); !errors.Is(err, ErrWrongKey) {
		t.Errorf("a after remove: %v", err)
	}
	if _, err := Decrypt(YAML, removed, ids(b)); err != nil {
		t.Errorf("b after remove: %v", err)
	}
}

func TestRotate(t *testing.T) {
	a, ra := testKey(t)
	vault, _ := Encrypt(YAML, []byte(sampleYAML), EncryptOptions{Recipients: []string{ra}})
	v, err := Open(YAML, vault, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := v.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	before, after := encValues(vault), encValues(rotated)
	if len(before) != len(after) || len(before) < 20 {
		t.Fatalf("%d values before, %d after", len(before), len(after))
	}
	for i := range before {
		if before[i] == after[i] {
			t.Errorf("value %d kept its ciphertext across rotation", i)
		}
	}
	old, _ := Open(YAML, vault, ids(a))
	nw, err := Open(YAML, rotated, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old.k.dataKey, nw.k.dataKey) {
		t.Error("rotation kept the data key")
	}
	p1, _ := old.Plaintext()
	p2, _ := nw.Plaintext()
	if !bytes.Equal(p1, p2) {
		t.Errorf("rotation changed the plaintext")
	}
}

func TestUpdateKeepsUnchangedCiphertexts(t *testing.T) {
	a, ra := testKey(t)
	vault, _ := Encrypt(YAML, []byte(sampleYAML), EncryptOptions{Recipients: []string{ra}})
	v, err := Open(YAML, vault, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(sampleYAML, "hunter2", "hunter3", 1)
	edited = strings.Replace(edited, "  port: 5432\n", "  port: 5432\n  new_key: fresh\n", 1)
	out, changed, err := v.Update([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	if changed != 2 {
		t.Errorf("changed = %d, want 2", changed)
	}
	before, after := encValues(vault), encValues(out)
	if len(after) != len(before)+1 {
		t.Fatalf("%d values before, %d after", len(before), len(after))
	}
	diff := 0
	set := map[string]bool{}
	for _, s := range before {
		set[s] = true
	}
	for _, s := range after {
		if !set[s] {
			diff++
		}
	}
	if diff != 2 {
		t.Errorf("%d ciphertexts changed, want 2 (database_url and new_key)", diff)
	}
	plain, err := Decrypt(YAML, out, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	edited = strings.Replace(edited, "folded: >\n    one two\n    three\n", "folded: |\n    one two three\n", 1)
	if want := canonicalYAML(t, edited); !bytes.Equal(plain, want) {
		t.Errorf("got\n%s\nwant\n%s", plain, want)
	}
	// No change at all: the same vault bytes.
	v, _ = Open(YAML, vault, ids(a))
	same, changed, err := v.Update([]byte(sampleYAML))
	if err != nil || changed != 0 || !bytes.Equal(same, vault) {
		t.Errorf("unchanged edit: changed=%d err=%v equal=%v", changed, err, bytes.Equal(same, vault))
	}
}

func TestTamperCases(t *testing.T) {
	a, ra := testKey(t)
	other, _ := testKey(t)
	src := "# db\ndb:\n  user: app\n  password: hunter2\n  host: db.internal\napi_key: k-123\nregion_unencrypted: eu-west-1\n"
	vault, err := Encrypt(YAML, []byte(src), EncryptOptions{Recipients: []string{ra}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(vault)
	enc := encValues(vault) // user, password, host, api_key
	lines := strings.Split(s, "\n")
	lineOf := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line %q", prefix)
		return -1
	}
	without := func(i int) string {
		return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "\n")
	}
	swapLines := func(i, j int) string {
		l := append([]string{}, lines...)
		l[i], l[j] = l[j], l[i]
		return strings.Join(l, "\n")
	}
	changeByte := func(e string) string {
		mid := len(e) / 2
		c := byte('A')
		if e[mid] == 'A' {
			c = 'B'
		}
		return e[:mid] + string(c) + e[mid+1:]
	}
	macRE := regexp.MustCompile(`mac: ([A-Za-z0-9+/]{43})=`)
	const macMsg = "tampered: the file's MAC does not match (values were added, removed or reordered, or a plain value or the recipient list was edited by hand)"
	const truncMsg = "truncated: the file does not end with its entry_secrets mac line (restore it from version control)"
	_, rOther := testKey(t)
	cases := []struct {
		name string
		data string
		ids  []age.Identity
		is   error
		msg  string
	}{
		{"changed byte", strings.Replace(s, enc[1], changeByte(enc[1]), 1), ids(a), ErrTampered,
			"tampered: value /db/password does not decrypt (it was changed, or moved here from another key)"},
		{"swapped values", strings.NewReplacer(enc[1], enc[2], enc[2], enc[1]).Replace(s), ids(a), ErrTampered,
			"tampered: value /db/password does not decrypt (it was changed, or moved here from another key)"},
		{"moved to another key", strings.Replace(s, enc[3], enc[1], 1), ids(a), ErrTampered,
			"tampered: value /api_key does not decrypt (it was changed, or moved here from another key)"},
		{"removed value", without(lineOf("  host: ")), ids(a), ErrTampered, macMsg},
		{"reordered values", swapLines(lineOf("  password: "), lineOf("  host: ")), ids(a), ErrTampered, macMsg},
		{"added plain value", strings.Replace(s, "api_key:", "injected: evil\napi_key:", 1), ids(a), ErrTampered,
			"tampered: value /injected is not encrypted (it was added or changed by hand; use 'entry secrets edit')"},
		{"added copied value", strings.Replace(s, "api_key:", "copy: "+enc[3]+"\napi_key:", 1), ids(a), ErrTampered,
			"tampered: value /copy does not decrypt (it was changed, or moved here from another key)"},
		{"added unencrypted value", strings.Replace(s, "api_key:", "x_unencrypted: 1\napi_key:", 1), ids(a), ErrTampered, macMsg},
		{"changed plain value", strings.Replace(s, "eu-west-1", "us-east-1", 1), ids(a), ErrTampered, macMsg},
		{"recipient added by hand", strings.Replace(s, "  recipients:\n", "  recipients:\n    - "+rOther+"\n", 1), ids(a), ErrTampered, macMsg},
		{"broken ENC syntax", strings.Replace(s, enc[0], "ENC[v1,str,not base64!]", 1), ids(a), ErrTampered,
			"tampered: value /db/user is not a well-formed ENC[v1,TYPE,DATA] string (it was edited by hand)"},
		{"changed type", strings.Replace(s, enc[0], strings.Replace(enc[0], "ENC[v1,str,", "ENC[v1,int,", 1), 1), ids(a), ErrTampered,
			"tampered: value /db/user does not decrypt (it was changed, or moved here from another key)"},
		{"truncated in the metadata", s[:len(s)-30], ids(a), ErrTruncated, truncMsg},
		{"truncated in the values", s[:strings.Index(s, "api_key")], ids(a), ErrTruncated, truncMsg},
		{"truncated in the data key", s[:strings.Index(s, "-----END")], ids(a), ErrTruncated, truncMsg},
		// A mac line that is there but garbled is not a truncation.
		{"garbled mac", macRE.ReplaceAllString(s, "mac: garbled!!"), ids(a), ErrTampered,
			"tampered: entry_secrets.mac is not a MAC: want 44 base64 characters ending in '=' (32 bytes), found '!' at character 8 (the line was edited or damaged; restore it from version control)"},
		{"mac too long", macRE.ReplaceAllString(s, "mac: X${1}="), ids(a), ErrTampered,
			"tampered: entry_secrets.mac is not a MAC: want 44 base64 characters ending in '=' (32 bytes), found 45 characters (the line was edited or damaged; restore it from version control)"},
		{"mac too short", macRE.ReplaceAllString(s, "mac: QUJD"), ids(a), ErrTampered,
			"tampered: entry_secrets.mac is not a MAC: want 44 base64 characters ending in '=' (32 bytes), found 4 characters (the line was edited or damaged; restore it from version control)"},
		{"mac empty", macRE.ReplaceAllString(s, "mac:"), ids(a), ErrTampered,
			"tampered: entry_secrets.mac is empty: want 44 base64 characters ending in '=' (32 bytes) (the line was edited or damaged; restore it from version control)"},
		{"mac not decoding", macRE.ReplaceAllString(s, "mac: ${1}A"), ids(a), ErrTampered,
			"tampered: entry_secrets.mac is not a MAC: want 44 base64 characters ending in '=' (32 bytes), found one that does not decode (the line was edited or damaged; restore it from version control)"},
		{"wrong key", s, ids(other), ErrWrongKey,
			"wrong key: the age key (public key " + shorten(PublicKey(other)) + ") is not a recipient of this file"},
		{"no key", s, nil, ErrNoKey,
			"no age key (set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM, or give --key-file)"},
		{"not encrypted", src, ids(a), ErrNotEncrypted,
			"not encrypted: the file has no ENC[...] values and no entry_secrets metadata (encrypt it with 'entry secrets encrypt')"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.data == s {
				if c.is != ErrWrongKey && c.is != ErrNoKey {
					t.Fatal("the tampered file equals the original")
				}
			}
			v, err := Open(YAML, []byte(c.data), c.ids)
			if v != nil {
				t.Fatal("Open returned a vault with an error case")
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want %v", err, c.is)
			}
			if err.Error() != c.msg {
				t.Errorf("message:\n got %s\nwant %s", err, c.msg)
			}
			if plain, err := Decrypt(YAML, []byte(c.data), c.ids); plain != nil || err == nil {
				t.Errorf("Decrypt returned plaintext %q", plain)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
	// The untouched vault still opens.
	if _, err := Open(YAML, vault, ids(a)); err != nil {
		t.Fatal(err)
	}
}

func TestDotenvTamper(t *testing.T) {
	a, ra := testKey(t)
	vault, _ := Encrypt(Dotenv, []byte("A=1\nB=2\nC=3\n"), EncryptOptions{Recipients: []string{ra}})
	s := string(vault)
	enc := encValues(vault)
	cases := map[string]struct {
		data string
		is   error
	}{
		"swapped":   {strings.NewReplacer(enc[0], enc[1], enc[1], enc[0]).Replace(s), ErrTampered},
		"removed":   {strings.Replace(s, "B="+enc[1]+"\n", "", 1), ErrTampered},
		"added":     {"D=4\n" + s, ErrTampered},
		"reordered": {strings.Replace(strings.Replace(s, "A="+enc[0]+"\n", "", 1), "C=", "A="+enc[0]+"\nC=", 1), ErrTampered},
		"truncated": {s[:len(s)-10], ErrTruncated},
	}
	for name, c := range cases {
		if _, err := Open(Dotenv, []byte(c.data), ids(a)); !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want %v", name, err, c.is)
		}
	}
}

func TestUnencryptedRegex(t *testing.T) {
	a, ra := testKey(t)
	src := "public_url: https://example.com\nsecret: x\nnested:\n  public_host: h\n"
	vault, err := Encrypt(YAML, []byte(src), EncryptOptions{Recipients: []string{ra}, UnencryptedRegex: "^public_"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"public_url: https://example.com", "public_host: h", "unencrypted_regex: '^public_'"} {
		if !bytes.Contains(vault, []byte(s)) {
			t.Errorf("vault lacks %q\n%s", s, vault)
		}
	}
	if n := len(encValues(vault)); n != 1 {
		t.Errorf("%d encrypted values, want 1", n)
	}
	if _, err := Decrypt(YAML, vault, ids(a)); err != nil {
		t.Fatal(err)
	}
	// Editing the regex by hand is tampering.
	bad := bytes.Replace(vault, []byte("'^public_'"), []byte("'^secret'"), 1)
	if _, err := Decrypt(YAML, bad, ids(a)); !errors.Is(err, ErrTampered) {
		t.Errorf("regex edited: %v", err)
	}
}

func TestEncryptRefusals(t *testing.T) {
	_, ra := testKey(t)
	vault, _ := Encrypt(YAML, []byte("a: 1\n"), EncryptOptions{Recipients: []string{ra}})
	cases := map[string]struct {
		f    Format
		src  string
		opts EncryptOptions
		want string
	}{
		"twice":        {YAML, string(vault), EncryptOptions{Recipients: []string{ra}}, "already encrypted"},
		"no rcpt":      {YAML, "a: 1\n", EncryptOptions{}, "no recipients"},
		"secret key":   {YAML, "a: 1\n", EncryptOptions{Recipients: []string{"AGE-SECRET-KEY-1QQQ"}}, "a recipient is an age secret key"},
		"bad rcpt":     {YAML, "a: 1\n", EncryptOptions{Recipients: []string{"age1nope"}}, `recipient "age1nope" is not a valid age public key`},
		"list top":     {YAML, "- a\n- b\n", EncryptOptions{Recipients: []string{ra}}, "the top level must be a mapping"},
		"dup key":      {YAML, "a: 1\na: 2\n", EncryptOptions{Recipients: []string{ra}}, `key "a" appears twice`},
		"reserved":     {YAML, "entry_secrets: x\n", EncryptOptions{Recipients: []string{ra}}, "entry_secrets is not a mapping"},
		"custom tag":   {YAML, "a: !ruby/sym x\n", EncryptOptions{Recipients: []string{ra}}, `has the tag "!ruby/sym"`},
		"bad regex":    {YAML, "a: 1\n", EncryptOptions{Recipients: []string{ra}, UnencryptedRegex: "("}, "unencrypted_regex"},
		"two docs":     {YAML, "a: 1\n---\nb: 2\n", EncryptOptions{Recipients: []string{ra}}, "more than one YAML document"},
		"dotenv dup":   {Dotenv, "A=1\nA=2\n", EncryptOptions{Recipients: []string{ra}}, "A is set twice"},
		"dotenv junk":  {Dotenv, "A=1\nnot a line\n", EncryptOptions{Recipients: []string{ra}}, "line 2: expected = after not"},
		"unterminated": {Dotenv, "A=\"open\n", EncryptOptions{Recipients: []string{ra}}, `line 1: the quoted value has no closing "`},
	}
	for name, c := range cases {
		out, err := Encrypt(c.f, []byte(c.src), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != nil {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func TestParseIdentitiesNeverEchoesKey(t *testing.T) {
	id, _ := testKey(t)
	k := id.(*age.X25519Identity).String()
	broken := k[:len(k)-3] + "QQQ"
	_, err := ParseIdentities("# comment\n" + broken + "\n")
	if err == nil || strings.Contains(err.Error(), broken[:20]) {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "line 2 is not a valid age secret key (want AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1..., as written by 'entry secrets keygen')" {
		t.Errorf("message: %v", err)
	}
	got, err := ParseIdentities("# created\n" + k + "\n")
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseIdentities("\n# only comments\n"); !errors.Is(err, ErrNoKey) {
		t.Errorf("empty: %v", err)
	}
}

func TestKeygen(t *testing.T) {
	for _, pq := range []bool{false, true} {
		file, pub, err := Keygen(pq, testTime)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := ParseIdentities(file)
		if err != nil || len(ids) != 1 || PublicKey(ids[0]) != pub {
			t.Fatalf("pq=%v: %v", pq, err)
		}
		if !strings.Contains(file, "# public key: "+pub+"\n") {
			t.Errorf("file lacks its public key:\n%s", file)
		}
		vault, err := Encrypt(YAML, []byte("a: b\n"), EncryptOptions{Recipients: []string{pub}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decrypt(YAML, vault, ids); err != nil {
			t.Errorf("pq=%v: %v", pq, err)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	for name, want := range map[string]Format{
		"config/secrets.yml.enc": YAML, "a.yaml": YAML, ".env": Dotenv, ".env.production": Dotenv,
		"config/app.env.enc": Dotenv, "prod.env": Dotenv, "secrets": YAML, "x/.env.age": Dotenv,
	} {
		if got := DetectFormat(name, nil); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if DetectFormat("vault", []byte("A=ENC[v1,str,x]\n#ENTRY_SECRETS version: 1\n")) != Dotenv {
		t.Error("dotenv metadata not detected")
	}
}

func TestEnvNeedsFlatFile(t *testing.T) {
	a, ra := testKey(t)
	vault, _ := Encrypt(YAML, []byte("DATABASE_URL: x\nPORT: 5432\nnested:\n  a: 1\n"), EncryptOptions{Recipients: []string{ra}})
	v, err := Open(YAML, vault, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Env(); err == nil || err.Error() != `key "nested" holds a mapping; env: true needs a flat file of KEY: value lines` {
		t.Errorf("err = %v", err)
	}
	flatVault, _ := Encrypt(YAML, []byte("DATABASE_URL: x\nPORT: 5432\nEMPTY:\n"), EncryptOptions{Recipients: []string{ra}})
	v, _ = Open(YAML, flatVault, ids(a))
	kv, err := v.Env()
	if want := []KeyValue{{"DATABASE_URL", "x"}, {"PORT", "5432"}, {"EMPTY", ""}}; err != nil || !reflect.DeepEqual(kv, want) {
		t.Errorf("env = %v, %v", kv, err)
	}
}

func TestCRLFVault(t *testing.T) {
	a, ra := testKey(t)
	for _, f := range []Format{YAML, Dotenv} {
		src := "A: x\nB: y\n"
		if f == Dotenv {
			src = "A=x\nB=y\n"
		}
		vault, err := Encrypt(f, []byte(src), EncryptOptions{Recipients: []string{ra}})
		if err != nil {
			t.Fatal(err)
		}
		crlf := bytes.ReplaceAll(vault, []byte("\n"), []byte("\r\n"))
		if _, err := Decrypt(f, crlf, ids(a)); err != nil {
			t.Errorf("%v vault with CRLF line ends: %v", f, err)
		}
	}
}

func TestTrailingComments(t *testing.T) {
	a, ra := testKey(t)
	for _, src := range []string{"a: 1\n# the end\n", "a:\n  b: 1\n# the end\n", "a:\n  - x\n\n# footer one\n# footer two\n"} {
		vault, err := Encrypt(YAML, []byte(src), EncryptOptions{Recipients: []string{ra}})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Decrypt(YAML, vault, ids(a))
		if err != nil {
			t.Fatalf("%q: %v\n%s", src, err, vault)
		}
		if want := canonicalYAML(t, src); !bytes.Equal(plain, want) {
			t.Errorf("%q:\n got %q\nwant %q", src, plain, want)
		}
		if !bytes.Contains(plain, []byte("# footer")) && !bytes.Contains(plain, []byte("# the end")) {
			t.Errorf("%q: comment lost: %q", src, plain)
		}
	}
}
