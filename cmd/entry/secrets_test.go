package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/testtool"
	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/secrets"
	"github.com/entryhq/entry/secrets/ssmfake"
)

// secretsFixture is a temporary app directory with a key and a vault.
type secretsFixture struct {
	dir      string
	key      string // the identity file's content
	keyFile  string
	pub      string
	env      []string // a HOME without a default key
	plainYML string
}

const fixtureYAML = `# production secrets
database:
  password: hunter2-xyzzy # rotate yearly
  port: 5432
api_token: tok-9f8e7d6c
region_unencrypted: eu-west-1
`

var fixtureSecrets = []string{"hunter2-xyzzy", "tok-9f8e7d6c"}

func newSecretsFixture(t *testing.T) *secretsFixture {
	t.Helper()
	dir := t.TempDir()
	f := &secretsFixture{dir: dir, env: []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")}}
	r := runEntry(t, dir, f.env, "secrets", "keygen", "-o", "keys/dev.key")
	if r.code != 0 {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	f.keyFile = filepath.Join(dir, "keys/dev.key")
	data, err := os.ReadFile(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	f.key = string(data)
	f.pub = strings.TrimSpace(strings.TrimPrefix(r.stderr, "Public key: "))
	if !strings.HasPrefix(f.pub, "age1") || !strings.Contains(f.key, "# public key: "+f.pub+"\n") {
		t.Fatalf("keygen printed %q, wrote %q", r.stderr, f.key)
	}
	if st, _ := os.Stat(f.keyFile); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode())
	}
	writeFiles(t, dir, map[string]string{"config/secrets.yml": fixtureYAML})
	r = runEntry(t, dir, f.env, "secrets", "encrypt", "config/secrets.yml", "-o", "config/secrets.yml.enc", "-r", f.pub)
	if r.code != 0 {
		t.Fatalf("encrypt: %d %s", r.code, r.stderr)
	}
	return f
}

func (f *secretsFixture) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoLeak fails if any secret value or key material appears in text.
func assertNoLeak(t *testing.T, where, text string, extra ...string) {
	t.Helper()
	for _, s := range append(slices.Clone(fixtureSecrets), extra...) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s leaks %q:\n%s", where, s, text)
		}
	}
	if secretKeyRE.MatchString(text) {
		t.Errorf("%s leaks an age secret key:\n%s", where, text)
	}
}

// assertNoTempFiles fails if a renameio or edit temp file is left in dir.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && !d.IsDir() {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

var secretKeyRE = regexp.MustCompile(`AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{20,}`)

func keyOnly(key string) string {
	for _, l := range strings.Split(key, "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			return l
		}
	}
	return ""
}

func TestSecretsCLIKeySources(t *testing.T) {
	f := newSecretsFixture(t)
	vault := f.read(t, "config/secrets.yml.enc")
	assertNoLeak(t, "the vault", vault)
	canonical := strings.Replace(fixtureYAML, "\n", "\n", -1)

	writeFiles(t, f.dir, map[string]string{
		"entry.yml":     "secrets:\n  key_file: keys/dev.key\n",
		"other.yml":     "secrets:\n  key_file: keys/missing.key\n",
		".config/x.yml": "",
	})
	for name, c := range map[string]struct {
		env  []string
		args []string
	}{
		"--key-file":             {nil, []string{"--key-file", "keys/dev.key"}},
		"ENTRY_SECRETS_KEY_FILE": {[]string{"ENTRY_SECRETS_KEY_FILE=keys/dev.key"}, nil},
		"ENTRY_AGE_KEY":          {[]string{"ENTRY_AGE_KEY=" + keyOnly(f.key)}, []string{"--config", "other.yml"}},
		"ENTRY_AGE_KEY_FILE":     {[]string{"ENTRY_AGE_KEY_FILE=" + f.keyFile}, []string{"--config", "other.yml"}},
		"secrets.key_file":       {nil, nil},
	} {
		args := append([]string{"secrets", "decrypt", "config/secrets.yml.enc"}, c.args...)
		r := runEntry(t, f.dir, append(slices.Clone(f.env), c.env...), args...)
		if r.code != 0 || r.stdout != canonical {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", name, r.code, r.stderr, r.stdout)
		}
		assertNoLeak(t, name+" stderr", r.stderr)
	}
	// The developer's default key file.
	os.Remove(filepath.Join(f.dir, "entry.yml"))
	os.MkdirAll(filepath.Join(f.dir, ".config/entry"), 0o700)
	os.WriteFile(filepath.Join(f.dir, ".config/entry/age.key"), []byte(f.key), 0o600)
	// -o creates missing directories, as every file entry writes does.
	r := runEntry(t, f.dir, f.env, "secrets", "decrypt", "config/secrets.yml.enc", "-o", "out/secrets.yml")
	if r.code != 0 || f.read(t, "out/secrets.yml") != canonical {
		t.Fatalf("default key: %d %s", r.code, r.stderr)
	}
	if st, _ := os.Stat(filepath.Join(f.dir, "out/secrets.yml")); st.Mode().Perm() != 0o600 {
		t.Errorf("decrypt -o wrote mode %v, want 0600", st.Mode().Perm())
	}
	assertNoTempFiles(t, f.dir)
}

func TestSecretsCLIFailures(t *testing.T) {
	f := newSecretsFixture(t)
	vault := f.read(t, "config/secrets.yml.enc")
	other := runEntry(t, f.dir, f.env, "secrets", "keygen")
	otherKey := keyOnly(other.stdout)
	otherPub := strings.TrimSpace(strings.TrimPrefix(other.stderr, "Public key: "))
	enc := regexp.MustCompile(`ENC\[[^\]]+\]`).FindAllString(vault, -1)
	if len(enc) != 3 {
		t.Fatalf("%d encrypted values:\n%s", len(enc), vault)
	}
	good := "ENTRY_AGE_KEY=" + keyOnly(f.key)
	writeFiles(t, f.dir, map[string]string{"out/secrets.yml": "previous content\n"})
	cases := []struct {
		name, vault string
		env         []string
		args        []string
		code        int
		stderr      string
	}{
		{"wrong key", vault, []string{"ENTRY_AGE_KEY=" + otherKey}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: wrong key: the age key (public key " + shortKey(otherPub) + ") is not a recipient of this file\n"},
		{"no key", vault, nil, nil, 1,
			"entry: secrets: config/secrets.yml.enc: no age key (set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM, or give --key-file)\n"},
		{"changed byte", strings.Replace(vault, enc[0], enc[0][:20]+flip(enc[0][20])+enc[0][21:], 1), []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: tampered: value /database/password does not decrypt (it was changed, or moved here from another key)\n"},
		{"swapped values", strings.NewReplacer(enc[0], enc[2], enc[2], enc[0]).Replace(vault), []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: tampered: value /database/password does not decrypt (it was changed, or moved here from another key)\n"},
		{"removed value", regexp.MustCompile(`(?m)^  port: .*\n`).ReplaceAllString(vault, ""), []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: tampered: the file's MAC does not match (values were added, removed or reordered, or a plain value or the recipient list was edited by hand)\n"},
		{"added value", strings.Replace(vault, "api_token:", "extra: plain\napi_token:", 1), []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: tampered: value /extra is not encrypted (it was added or changed by hand; use 'entry secrets edit')\n"},
		{"truncated", vault[:len(vault)/2], []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: truncated: the file does not end with its entry_secrets mac line (restore it from version control)\n"},
		{"not encrypted", fixtureYAML, []string{good}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: not encrypted: the file has no ENC[...] values and no entry_secrets metadata (encrypt it with 'entry secrets encrypt')\n"},
		{"bad key", vault, []string{"ENTRY_AGE_KEY=AGE-SECRET-KEY-1QQQQQQQQ"}, nil, 1,
			"entry: secrets: config/secrets.yml.enc: ENTRY_AGE_KEY: line 1 is not a valid age secret key (want AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1..., as written by 'entry secrets keygen')\n"},
		{"missing key file", vault, nil, []string{"--key-file", "nope.key"}, 1,
			"entry: secrets: config/secrets.yml.enc: no age key: --key-file nope.key: no such file or directory\n"},
		{"unknown flag", vault, []string{good}, []string{"--bogus"}, 2,
			"entry: secrets decrypt: unknown flag: --bogus (see 'entry secrets decrypt --help')\n"},
		{"bad format", vault, []string{good}, []string{"--format", "toml"}, 2,
			"entry: secrets: config/secrets.yml.enc: format \"toml\": want yaml or dotenv\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			writeFiles(t, f.dir, map[string]string{"config/secrets.yml.enc": c.vault})
			args := append([]string{"secrets", "decrypt", "config/secrets.yml.enc", "-o", "out/secrets.yml", "--force"}, c.args...)
			r := runEntry(t, f.dir, append(slices.Clone(f.env), c.env...), args...)
			if r.code != c.code || r.stderr != c.stderr || r.stdout != "" {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d:\n%s\nstdout: %q", r.code, r.stderr, c.code, c.stderr, r.stdout)
			}
			if got := f.read(t, "out/secrets.yml"); got != "previous content\n" {
				t.Errorf("the destination was touched: %q", got)
			}
			assertNoLeak(t, "stderr", r.stderr, keyOnly(f.key), otherKey)
			assertNoTempFiles(t, f.dir)
		})
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"secrets"}, "entry: secrets: missing subcommand: keygen, encrypt, decrypt, edit, recipients or rotate (see 'entry secrets --help')\n"},
		{[]string{"secrets", "frobnicate"}, "entry: secrets: unknown command \"frobnicate\" (see 'entry secrets --help')\n"},
		{[]string{"secrets", "decrypt"}, "entry: secrets decrypt: want exactly one FILE (see 'entry secrets decrypt --help')\n"},
		{[]string{"secrets", "encrypt", "config/secrets.yml"}, "entry: secrets encrypt: no recipients (give -r age1... or -R FILE; 'entry secrets keygen' makes a key)\n"},
		{[]string{"secrets", "encrypt", "config/secrets.yml", "-r", "AGE-SECRET-KEY-1ABC"}, "entry: secrets encrypt: a recipient is an age secret key, not a public key (give the age1... line 'entry secrets keygen' printed)\n"},
		{[]string{"secrets", "recipients", "add", "config/secrets.yml.enc"}, "entry: secrets recipients add: want at least one age public key after FILE\n"},
		{[]string{"secrets", "encrypt", "config/secrets.yml", "-R", "missing.txt"}, "entry: secrets: missing.txt: no such file or directory\n"},
		{[]string{"secrets", "recipients", "add", "config/secrets.yml.enc", "-R", "missing.txt"}, "entry: secrets: missing.txt: no such file or directory\n"},
		{[]string{"secrets", "recipients", "frob"}, "entry: secrets recipients: unknown command \"frob\" (want list, add or remove)\n"},
		{[]string{"secrets", "keygen", "extra"}, "entry: secrets keygen: unexpected argument \"extra\" (see 'entry secrets keygen --help')\n"},
	} {
		r := runEntry(t, f.dir, f.env, c.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	// keygen never overwrites a key.
	r := runEntry(t, f.dir, f.env, "secrets", "keygen", "-o", "keys/dev.key")
	if r.code != 1 || r.stderr != "entry: secrets: keys/dev.key: already exists (keygen never overwrites a key; choose another file)\n" || f.read(t, "keys/dev.key") != f.key {
		t.Errorf("keygen over a key: %d %q", r.code, r.stderr)
	}
	// Encrypting a vault again is refused and leaves it alone.
	writeFiles(t, f.dir, map[string]string{"config/secrets.yml.enc": vault})
	r = runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/secrets.yml.enc", "-r", f.pub)
	if r.code != 1 || !strings.Contains(r.stderr, "already encrypted") || f.read(t, "config/secrets.yml.enc") != vault {
		t.Errorf("encrypt twice: %d %q", r.code, r.stderr)
	}
	// encrypt -o never replaces an existing file without --force.
	writeFiles(t, f.dir, map[string]string{"out/existing.enc": "keep me\n"})
	r = runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/secrets.yml", "-o", "out/existing.enc", "-r", f.pub)
	if want := "entry: secrets: out/existing.enc: already exists; nothing written (give --force to replace it, or 'entry secrets edit' to change a vault)\n"; r.code != 1 || r.stderr != want || f.read(t, "out/existing.enc") != "keep me\n" {
		t.Errorf("encrypt -o over a file: %d %q, file %q", r.code, r.stderr, f.read(t, "out/existing.enc"))
	}
	r = runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/secrets.yml", "-o", "out/existing.enc", "--force", "-r", f.pub)
	if r.code != 0 || !strings.Contains(f.read(t, "out/existing.enc"), "entry_secrets:") {
		t.Errorf("encrypt -o --force: %d %q", r.code, r.stderr)
	}
	assertNoTempFiles(t, f.dir)
}

func shortKey(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-8:]
	}
	return s
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestSecretsCLIHelp(t *testing.T) {
	for _, args := range [][]string{
		{"secrets", "--help"}, {"help", "secrets"}, {"secrets", "keygen", "--help"}, {"secrets", "encrypt", "--help"},
		{"secrets", "decrypt", "--help"}, {"secrets", "edit", "--help"}, {"secrets", "recipients", "--help"}, {"secrets", "rotate", "--help"},
	} {
		r := runEntry(t, t.TempDir(), nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: entry secrets") || !strings.Contains(r.stdout, "xample") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	r := runEntry(t, t.TempDir(), nil, "secrets", "decrypt", "--help")
	for _, want := range []string{"--key-file", "$ENTRY_SECRETS_KEY_FILE", "--output", "$ENTRY_SECRETS_OUTPUT", "$ENTRY_CONFIG"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("decrypt --help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestSecretsCLIHelpExamplesWork runs the documented workflow end to end.
func TestSecretsCLIRecipientsAndRotate(t *testing.T) {
	f := newSecretsFixture(t)
	second := runEntry(t, f.dir, f.env, "secrets", "keygen", "-o", "keys/ci.key")
	ciPub := strings.TrimSpace(strings.TrimPrefix(second.stderr, "Public key: "))
	dev := []string{"ENTRY_AGE_KEY_FILE=" + f.keyFile}
	ci := []string{"ENTRY_AGE_KEY_FILE=" + filepath.Join(f.dir, "keys/ci.key")}
	before := f.read(t, "config/secrets.yml.enc")
	encOf := func(s string) []string { return regexp.MustCompile(`ENC\[[^\]]+\]`).FindAllString(s, -1) }

	if r := runEntry(t, f.dir, append(f.env, ci...), "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 1 || !strings.Contains(r.stderr, "wrong key") {
		t.Fatalf("ci before add: %d %s", r.code, r.stderr)
	}
	// The new key comes from a recipients file (-R), comments allowed.
	writeFiles(t, f.dir, map[string]string{"keys/team.pub": "# the CI key\n" + ciPub + "\n"})
	r := runEntry(t, f.dir, append(f.env, dev...), "secrets", "recipients", "add", "config/secrets.yml.enc", "-R", "keys/team.pub")
	if r.code != 0 || r.stderr != "entry: secrets: config/secrets.yml.enc: added 1 recipient; 2 can decrypt\n" {
		t.Fatalf("add: %d %q", r.code, r.stderr)
	}
	r = runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/secrets.yml", "-o", "config/ci-only.yml.enc", "-R", "keys/team.pub")
	if r.code != 0 {
		t.Fatalf("encrypt -R: %d %q", r.code, r.stderr)
	}
	if r := runEntry(t, f.dir, append(f.env, ci...), "secrets", "decrypt", "config/ci-only.yml.enc"); r.code != 0 || r.stdout != fixtureYAML {
		t.Fatalf("ci decrypting a file encrypted with -R: %d %s", r.code, r.stderr)
	}
	after := f.read(t, "config/secrets.yml.enc")
	if !slices.Equal(encOf(before), encOf(after)) {
		t.Error("recipients add changed the encrypted values")
	}
	if r := runEntry(t, f.dir, append(f.env, ci...), "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 0 || r.stdout != fixtureYAML {
		t.Fatalf("ci after add: %d %s", r.code, r.stderr)
	}
	r = runEntry(t, f.dir, f.env, "secrets", "recipients", "list", "config/secrets.yml.enc")
	if r.code != 0 || r.stdout != f.pub+"\n"+ciPub+"\n" {
		t.Errorf("list: %d %q", r.code, r.stdout)
	}
	// Removing the key you decrypt with needs --force.
	withBoth := f.read(t, "config/secrets.yml.enc")
	r = runEntry(t, f.dir, append(f.env, dev...), "secrets", "recipients", "remove", "config/secrets.yml.enc", f.pub)
	if want := "entry: secrets: config/secrets.yml.enc: own key: " + shortKey(f.pub) + " is the key you decrypt with; without it you could no longer decrypt the file (give --force if that is intended)\n"; r.code != 1 || r.stderr != want {
		t.Errorf("removing your own key: %d %q\nwant %q", r.code, r.stderr, want)
	}
	if f.read(t, "config/secrets.yml.enc") != withBoth {
		t.Error("a refused remove changed the vault")
	}
	writeFiles(t, f.dir, map[string]string{"config/copy.yml.enc": withBoth})
	r = runEntry(t, f.dir, append(f.env, dev...), "secrets", "recipients", "remove", "--force", "config/copy.yml.enc", f.pub)
	if r.code != 0 || !strings.Contains(r.stderr, "removed 1 recipient; 1 can decrypt.") {
		t.Errorf("remove --force of your own key: %d %q", r.code, r.stderr)
	}
	if r := runEntry(t, f.dir, append(f.env, dev...), "secrets", "decrypt", "config/copy.yml.enc"); r.code != 1 || !strings.Contains(r.stderr, "wrong key") {
		t.Errorf("dev after removing its own key: %d %s", r.code, r.stderr)
	}
	r = runEntry(t, f.dir, append(f.env, ci...), "secrets", "recipients", "remove", "config/secrets.yml.enc", f.pub)
	if r.code != 0 || !strings.Contains(r.stderr, "removed 1 recipient; 1 can decrypt. The removed keys could read the secrets until now: run 'entry secrets rotate config/secrets.yml.enc'") {
		t.Fatalf("remove: %d %q", r.code, r.stderr)
	}
	if r := runEntry(t, f.dir, append(f.env, dev...), "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 1 || !strings.Contains(r.stderr, "wrong key") {
		t.Errorf("dev after remove: %d %s", r.code, r.stderr)
	}
	r = runEntry(t, f.dir, append(f.env, ci...), "secrets", "recipients", "remove", "config/secrets.yml.enc", ciPub)
	if r.code != 1 || r.stderr != "entry: secrets: config/secrets.yml.enc: cannot remove every recipient: nobody could decrypt the file\n" {
		t.Errorf("remove last: %d %q", r.code, r.stderr)
	}
	beforeRotate := f.read(t, "config/secrets.yml.enc")
	r = runEntry(t, f.dir, append(f.env, ci...), "secrets", "rotate", "config/secrets.yml.enc")
	if r.code != 0 || r.stderr != "entry: secrets: config/secrets.yml.enc: 4 values re-encrypted under a new data key\n" {
		t.Fatalf("rotate: %d %q", r.code, r.stderr)
	}
	rotated := f.read(t, "config/secrets.yml.enc")
	for _, e := range encOf(beforeRotate) {
		if strings.Contains(rotated, e) {
			t.Errorf("rotate kept ciphertext %s", e)
		}
	}
	if r := runEntry(t, f.dir, append(f.env, ci...), "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 0 || r.stdout != fixtureYAML {
		t.Errorf("after rotate: %d %s", r.code, r.stderr)
	}
	assertNoTempFiles(t, f.dir)
}

// TestSecretsEdit drives `entry secrets edit` with scripted editors.
func TestSecretsEdit(t *testing.T) {
	f := newSecretsFixture(t)
	key := []string{"ENTRY_AGE_KEY_FILE=" + f.keyFile}
	seen := filepath.Join(f.dir, "editor-saw")
	script := func(name, body string) string {
		p := filepath.Join(f.dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\nset -e\nprintf '%s %s\\n' \"$1\" \"$(stat -c %a \"$1\")\" > "+seen+"\n"+body+"\n"), 0o755)
		return p
	}
	editedPath := func() (string, string) {
		b, err := os.ReadFile(seen)
		if err != nil {
			t.Fatal(err)
		}
		path, mode, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		return path, mode
	}
	encOf := func(s string) []string { return regexp.MustCompile(`ENC\[[^\]]+\]`).FindAllString(s, -1) }
	before := f.read(t, "config/secrets.yml.enc")

	// A real change: one value edited, one added.
	change := script("change.sh", `sed -i 's/tok-9f8e7d6c/tok-NEW-0001/' "$1"; printf 'new_secret: s3cret-added\n' >> "$1"`)
	r := runEntry(t, f.dir, append(slices.Clone(f.env), append(key, "EDITOR="+change)...), "secrets", "edit", "config/secrets.yml.enc")
	if r.code != 0 || r.stderr != "entry: secrets: config/secrets.yml.enc: 2 values changed\n" {
		t.Fatalf("edit: %d %q", r.code, r.stderr)
	}
	tmp, mode := editedPath()
	if mode != "600" {
		t.Errorf("the editor's file had mode %s, want 600", mode)
	}
	if !strings.HasSuffix(tmp, "/secrets.yml") {
		t.Errorf("the editor's file is %s; want a .yml name for syntax highlighting", tmp)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the plain temp file %s was not removed", tmp)
	}
	after := f.read(t, "config/secrets.yml.enc")
	assertNoLeak(t, "the edited vault", after, "tok-NEW-0001", "s3cret-added")
	oldEnc, newEnc := encOf(before), encOf(after)
	if len(newEnc) != 4 || newEnc[0] != oldEnc[0] || newEnc[1] != oldEnc[1] || newEnc[2] == oldEnc[2] {
		t.Errorf("edit re-encrypted unchanged values:\n%v\n%v", oldEnc, newEnc)
	}
	r = runEntry(t, f.dir, append(slices.Clone(f.env), key...), "secrets", "decrypt", "config/secrets.yml.enc")
	want := strings.Replace(fixtureYAML, "tok-9f8e7d6c", "tok-NEW-0001", 1) + "new_secret: s3cret-added\n"
	if r.stdout != want {
		t.Errorf("after edit:\n%s\nwant\n%s", r.stdout, want)
	}

	vault := f.read(t, "config/secrets.yml.enc")
	for _, c := range []struct {
		name, body, stderr string
		code               int
	}{
		{"no change", "true", "entry: secrets: config/secrets.yml.enc: no changes\n", 0},
		{"editor fails", `echo 'half: edit' >> "$1"; exit 3`, "entry: secrets: config/secrets.yml.enc: editor %q failed (exit status 3); nothing saved\n", 1},
		{"invalid YAML", `printf 'a: [unclosed\n' > "$1"`, "entry: secrets: config/secrets.yml.enc: the edited file is not valid: malformed: not valid YAML: line 1: did not find expected ',' or ']'\nEdit it again? [Y/n] \nentry: secrets: config/secrets.yml.enc: the edited file is not valid, nothing saved: malformed: not valid YAML: line 1: did not find expected ',' or ']'\n", 1},
	} {
		ed := script(strings.ReplaceAll(c.name, " ", "-")+".sh", c.body)
		r := runEntry(t, f.dir, append(slices.Clone(f.env), append(key, "EDITOR="+ed)...), "secrets", "edit", "config/secrets.yml.enc")
		wantErr := c.stderr
		if strings.Contains(wantErr, "%q") {
			wantErr = fmt.Sprintf(wantErr, ed)
		}
		if r.code != c.code || r.stderr != wantErr {
			t.Errorf("%s: exit %d %q\nwant %d %q", c.name, r.code, r.stderr, c.code, wantErr)
		}
		if got := f.read(t, "config/secrets.yml.enc"); got != vault {
			t.Errorf("%s: the vault changed", c.name)
		}
		if tmp, _ := editedPath(); tmp != "" {
			if _, err := os.Stat(filepath.Dir(tmp)); !os.IsNotExist(err) {
				t.Errorf("%s: temp dir %s left behind", c.name, filepath.Dir(tmp))
			}
		}
		assertNoLeak(t, c.name+" stderr", r.stderr, "tok-NEW-0001")
	}
	assertNoTempFiles(t, f.dir)
}

// TestSecretsEditReopens: when the edited file does not parse, edit asks
// on stderr and reopens the editor on the file as it was left, so the edits
// are not lost; "n" gives up and saves nothing.
func TestSecretsEditReopens(t *testing.T) {
	f := newSecretsFixture(t)
	// First run: a good edit and a broken line. Second run: the first
	// run's edits are still there; fix the broken line only.
	editor := filepath.Join(f.dir, "editor.sh")
	writeFiles(t, f.dir, map[string]string{"editor.sh": `#!/bin/sh
set -e
n=$(cat "$0.runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.runs"
if [ $n = 1 ]; then
  sed -i 's/tok-9f8e7d6c/tok-KEPT-0002/' "$1"; printf 'broken: [unclosed\n' >> "$1"
else
  grep -q tok-KEPT-0002 "$1"; sed -i 's/^broken: .*/fixed: done/' "$1"
fi
`})
	os.Chmod(editor, 0o755)
	run := func(stdin string) result {
		t.Helper()
		env := append(slices.Clone(f.env), "EDITOR="+editor, "ENTRY_AGE_KEY_FILE="+f.keyFile)
		return runWithInput(t, entryBin, f.dir, env, stdin, "secrets", "edit", "config/secrets.yml.enc")
	}
	const problem = "entry: secrets: config/secrets.yml.enc: the edited file is not valid: malformed: not valid YAML: line 6: did not find expected ',' or ']'\nEdit it again? [Y/n] "
	before := f.read(t, "config/secrets.yml.enc")
	r := run("n\n")
	if want := problem + "entry: secrets: config/secrets.yml.enc: the edited file is not valid, nothing saved: malformed: not valid YAML: line 6: did not find expected ',' or ']'\n"; r.code != 1 || r.stderr != want {
		t.Errorf("answer n: exit %d\n%q\nwant\n%q", r.code, r.stderr, want)
	}
	if f.read(t, "config/secrets.yml.enc") != before {
		t.Error("answer n: the vault changed")
	}
	os.Remove(editor + ".runs")
	r = run("y\n")
	if want := problem + "entry: secrets: config/secrets.yml.enc: 2 values changed\n"; r.code != 0 || r.stderr != want {
		t.Fatalf("answer y: exit %d\n%q\nwant\n%q", r.code, r.stderr, want)
	}
	r = runEntry(t, f.dir, append(slices.Clone(f.env), "ENTRY_AGE_KEY_FILE="+f.keyFile), "secrets", "decrypt", "config/secrets.yml.enc")
	if want := strings.Replace(fixtureYAML, "tok-9f8e7d6c", "tok-KEPT-0002", 1) + "fixed: done\n"; r.stdout != want {
		t.Errorf("after the reopened edit:\n%s\nwant\n%s", r.stdout, want)
	}
	assertNoTempFiles(t, f.dir)
}

// TestSecretsSSMKeyInBinary reads the key from a fake SSM endpoint through
// the standard AWS_ENDPOINT_URL_SSM setting, with the real SDK in the
// built binary.
func TestSecretsSSMKeyInBinary(t *testing.T) {
	f := newSecretsFixture(t)
	srv := ssmfake.New()
	defer srv.Close()
	srv.Put("/app/prod/age-key", ssmfake.Parameter{Value: f.key})
	aws := []string{"AWS_ACCESS_KEY_ID=AKIDFAKE", "AWS_SECRET_ACCESS_KEY=fake", "AWS_REGION=ap-northeast-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_SSM=" + srv.URL}
	env := append(slices.Clone(f.env), aws...)
	r := runEntry(t, f.dir, append(env, "ENTRY_AGE_KEY_SSM=/app/prod/age-key"), "secrets", "decrypt", "config/secrets.yml.enc")
	if r.code != 0 || r.stdout != fixtureYAML {
		t.Fatalf("ssm: %d %s", r.code, r.stderr)
	}
	calls := srv.Calls()
	if len(calls) != 1 || !calls[0].WithDecryption || calls[0].AccessKeyID != "AKIDFAKE" || calls[0].Name != "/app/prod/age-key" {
		t.Errorf("calls: %+v", calls)
	}
	writeFiles(t, f.dir, map[string]string{"entry.yml": "secrets:\n  key_ssm: /app/prod/age-key\n"})
	if r := runEntry(t, f.dir, env, "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 0 {
		t.Errorf("secrets.key_ssm: %d %s", r.code, r.stderr)
	}
	r = runEntry(t, f.dir, append(env, "ENTRY_AGE_KEY_SSM=/app/staging/age-key"), "secrets", "decrypt", "config/secrets.yml.enc")
	want := "entry: secrets: config/secrets.yml.enc: no age key: ENTRY_AGE_KEY_SSM (SSM parameter /app/staging/age-key): parameter not found (create it as a SecureString, or fix the name)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("missing parameter: %d %q", r.code, r.stderr)
	}
}

// TestSecretsStep runs the start-up step in process: files, environment,
// key removal, plan, one log line per vault and no secret in any of them.
func TestSecretsStep(t *testing.T) {
	f := newSecretsFixture(t)
	t.Chdir(f.dir)
	writeFiles(t, f.dir, map[string]string{"config/app.env": "# app\nDATABASE_URL=postgres://u:hunter2-xyzzy@db/app\nSECRET_KEY_BASE=tok-9f8e7d6c\n"})
	if r := runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/app.env", "-o", "config/app.env.enc", "-r", f.pub); r.code != 0 {
		t.Fatal(r.stderr)
	}
	cfg, err := config.Parse("entry.yml", []byte(`secrets:
  vaults:
    - {src: config/secrets.yml.enc, dst: run/secrets/secrets.yml}
    - {src: config/app.env.enc, env: true}
    - {src: config/app.env.enc, dst: run/app.env, mode: "0640", env: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	step, err := prehook.NewSecretsStep(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := prehook.EnvFromList([]string{"PATH=/bin", "ENTRY_AGE_KEY=" + keyOnly(f.key), "ENTRY_AGE_KEY_SSM=/unused", "SECRET_KEY_BASE=old"})
	plan := step.Plan(env)
	wantPlan := []string{
		"key from ENTRY_AGE_KEY",
		"decrypt config/secrets.yml.enc -> run/secrets/secrets.yml (mode 0600)",
		"decrypt config/app.env.enc -> environment: DATABASE_URL, SECRET_KEY_BASE (SECRET_KEY_BASE: the real environment's value wins)",
		"decrypt config/app.env.enc -> run/app.env (mode 0640) and environment: DATABASE_URL, SECRET_KEY_BASE (SECRET_KEY_BASE: the real environment's value wins)",
		"unset ENTRY_AGE_KEY, ENTRY_AGE_KEY_SSM for the processes",
	}
	if !slices.Equal(plan, wantPlan) {
		t.Errorf("plan:\n%s\nwant\n%s", strings.Join(plan, "\n"), strings.Join(wantPlan, "\n"))
	}
	var logs []string
	logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	if err := step.Run(context.Background(), env, logf); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "run/secrets/secrets.yml"); got != fixtureYAML {
		t.Errorf("dst:\n%s", got)
	}
	for name, mode := range map[string]os.FileMode{"run/secrets/secrets.yml": 0o600, "run/app.env": 0o640} {
		if st, err := os.Stat(name); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", name, st.Mode().Perm(), mode, err)
		}
	}
	// The real environment's SECRET_KEY_BASE wins over the vault's, as it
	// wins over a .env file's (the task definition is the operator's
	// override).
	if env.Get("DATABASE_URL") != "postgres://u:hunter2-xyzzy@db/app" || env.Get("SECRET_KEY_BASE") != "old" {
		t.Errorf("env: %v", env.List())
	}
	for _, k := range secrets.KeyEnvVars {
		if _, ok := env.Lookup(k); ok {
			t.Errorf("%s is still in the processes' environment", k)
		}
	}
	wantLogs := []string{
		"secrets: config/secrets.yml.enc -> run/secrets/secrets.yml (mode 0600): 4 values, key from ENTRY_AGE_KEY",
		"secrets: config/app.env.enc -> environment (DATABASE_URL; SECRET_KEY_BASE kept from the real environment): 2 values, key from ENTRY_AGE_KEY",
		"secrets: config/app.env.enc -> run/app.env (mode 0640) and environment (DATABASE_URL; SECRET_KEY_BASE kept from the real environment): 2 values, key from ENTRY_AGE_KEY",
	}
	if !slices.Equal(logs, wantLogs) {
		t.Errorf("logs:\n%s\nwant\n%s", strings.Join(logs, "\n"), strings.Join(wantLogs, "\n"))
	}
	all := strings.Join(append(logs, plan...), "\n")
	assertNoLeak(t, "start-up logs", all, keyOnly(f.key), "postgres://u:")
	assertNoTempFiles(t, f.dir)

	// With no vault configured the step still removes the key.
	empty, _ := prehook.NewSecretsStep(&config.File{})
	env = prehook.EnvFromList([]string{"ENTRY_AGE_KEY=" + keyOnly(f.key), "ENTRY_AGE_KEY_FILE=/k"})
	if err := empty.Run(context.Background(), env, logf); err != nil || len(env.List()) != 0 {
		t.Errorf("empty step: %v %v", err, env.List())
	}
}

// TestSecretsStepFailureWritesNothing: a bad vault stops the step before
// any destination is written, and the error names the file.
func TestSecretsStepFailureWritesNothing(t *testing.T) {
	f := newSecretsFixture(t)
	t.Chdir(f.dir)
	vault := f.read(t, "config/secrets.yml.enc")
	writeFiles(t, f.dir, map[string]string{
		"config/bad.yml.enc": vault[:len(vault)-40],
		"run/secrets.yml":    "old\n",
	})
	cfg, err := config.Parse("entry.yml", []byte(`secrets:
  vaults:
    - {src: config/secrets.yml.enc, dst: run/secrets.yml}
    - {src: config/bad.yml.enc, dst: run/bad.yml}
`))
	if err != nil {
		t.Fatal(err)
	}
	step, _ := prehook.NewSecretsStep(cfg)
	var logs []string
	logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	env := prehook.EnvFromList([]string{"ENTRY_AGE_KEY=" + keyOnly(f.key)})
	err = step.Run(context.Background(), env, logf)
	want := "secrets: config/bad.yml.enc: truncated: the file does not end with its entry_secrets mac line (restore it from version control)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if got := f.read(t, "run/secrets.yml"); got != "old\n" {
		t.Errorf("a destination was written before the failure: %q", got)
	}
	if _, err := os.Stat("run/bad.yml"); !os.IsNotExist(err) {
		t.Error("run/bad.yml exists")
	}
	if len(logs) != 0 {
		t.Errorf("logs: %v", logs)
	}
	if _, ok := env.Lookup("ENTRY_AGE_KEY"); ok {
		t.Error("the key stays in the environment after a failure")
	}
	assertNoTempFiles(t, f.dir)

	// Wrong key, and no key at all.
	env = prehook.EnvFromList(nil)
	cfg.Secrets.Vaults = cfg.Secrets.Vaults[:1]
	step, _ = prehook.NewSecretsStep(cfg)
	if err := step.Run(context.Background(), env, logf); err == nil || err.Error() != "secrets: key: no age key: set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM in the container's environment, or secrets.key_file or secrets.key_ssm in entry.yml" {
		t.Errorf("no key: %v", err)
	}

	for _, c := range []struct{ yml, want string }{
		{"secrets:\n  vaults:\n    - {src: a.enc}\n", "entry.yml: secrets.vaults[0] (a.enc) needs dst: FILE, env: true, or both"},
		{"secrets:\n  vaults:\n    - {dst: a}\n", "entry.yml: secrets.vaults[0] needs src: the encrypted file"},
		{"secrets:\n  vaults:\n    - {src: a.enc, dst: a, format: toml}\n", "entry.yml: secrets.vaults[0]: format \"toml\": want yaml or dotenv"},
		{"secrets:\n  vaults:\n    - {src: a.enc, dst: a, owner: no-such-user-x}\n", "entry.yml: secrets.vaults[0]: owner \"no-such-user-x\": no such user in this image"},
	} {
		cfg, err := config.Parse("entry.yml", []byte(c.yml))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prehook.NewSecretsStep(cfg); err == nil || err.Error() != c.want {
			t.Errorf("%q: %v, want %s", c.yml, err, c.want)
		}
	}
}

// TestSecretsStartUpThroughBinary runs the real ENTRYPOINT: the vaults are
// decrypted before the command, which sees the exported variables but no
// key variable, and no line entry prints holds a secret or the key.
func TestSecretsStartUpThroughBinary(t *testing.T) {
	f := newSecretsFixture(t)
	writeFiles(t, f.dir, map[string]string{
		"config/app.env": "DATABASE_URL=postgres://u:hunter2-xyzzy@db/app\nSECRET_KEY_BASE=tok-9f8e7d6c\n",
		"entry.yml": `secrets:
  key_file: keys/dev.key
  vaults:
    - {src: config/secrets.yml.enc, dst: run/secrets.yml}
    - {src: config/app.env.enc, env: true}
hooks:
  - test "${#SECRET_KEY_BASE}" = 12
`,
	})
	if r := runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/app.env", "-r", f.pub); r.code != 0 {
		t.Fatal(r.stderr)
	}
	os.Rename(filepath.Join(f.dir, "config/app.env"), filepath.Join(f.dir, "config/app.env.enc"))
	script := `printf 'db=%s\n' "$DATABASE_URL"; env | grep '^ENTRY_AGE' || echo no-key-vars; cat run/secrets.yml | grep -c hunter2-xyzzy`
	env := append(slices.Clone(f.env), "ENTRY_AGE_KEY="+keyOnly(f.key), "ENTRY_AGE_KEY_FILE=/nonexistent", "ENTRY_AGE_KEY_SSM=/x")
	r := runEntry(t, f.dir, env, "--", "/bin/sh", "-c", script)
	if r.code != 0 || r.stdout != "db=postgres://u:hunter2-xyzzy@db/app\nno-key-vars\n1\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	wantLog := "entry: secrets: config/secrets.yml.enc -> run/secrets.yml (mode 0600): 4 values, key from ENTRY_AGE_KEY\n" +
		"entry: secrets: config/app.env.enc -> environment (DATABASE_URL, SECRET_KEY_BASE): 2 values, key from ENTRY_AGE_KEY\n"
	if !strings.HasPrefix(r.stderr, wantLog) {
		t.Errorf("stderr:\n%s\nwant it to start with\n%s", r.stderr, wantLog)
	}
	assertNoLeak(t, "start-up stderr", r.stderr, keyOnly(f.key), "postgres://u:")

	// A tampered vault stops start-up: the command never runs and the
	// previous plaintext stays.
	vault := f.read(t, "config/secrets.yml.enc")
	writeFiles(t, f.dir, map[string]string{"config/secrets.yml.enc": strings.Replace(vault, "database:", "db:", 1)})
	r = runEntry(t, f.dir, env, "--", "/bin/sh", "-c", "echo ran")
	want := "entry: secrets: config/secrets.yml.enc: tampered: value /db/password does not decrypt (it was changed, or moved here from another key)\n"
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("tampered: exit %d stdout %q stderr:\n%s\nwant\n%s", r.code, r.stdout, r.stderr, want)
	}
	if got := f.read(t, "run/secrets.yml"); got != fixtureYAML {
		t.Errorf("the previous plaintext changed: %q", got)
	}
	assertNoTempFiles(t, f.dir)
}

// TestSecretsStepSymlinkedDst: a dst that is a symbolic link (to a tmpfs,
// typically) keeps the link, and the plain file is written atomically where
// it points; a link into a missing directory (a tmpfs not mounted) fails
// before anything is written.
func TestSecretsStepSymlinkedDst(t *testing.T) {
	f := newSecretsFixture(t)
	t.Chdir(f.dir)
	shm := filepath.Join(f.dir, "shm")
	os.Mkdir(shm, 0o755)
	os.Remove("config/secrets.yml")
	for link, target := range map[string]string{"config/secrets.yml": filepath.Join(shm, "secrets.yml"), "config/other.yml": filepath.Join(f.dir, "unmounted/other.yml")} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	run := func(yml string) error {
		t.Helper()
		cfg, err := config.Parse("entry.yml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		step, err := prehook.NewSecretsStep(cfg)
		if err != nil {
			t.Fatal(err)
		}
		env := prehook.EnvFromList([]string{"ENTRY_AGE_KEY=" + keyOnly(f.key)})
		return step.Run(context.Background(), env, func(string, ...any) {})
	}
	err := run("secrets:\n  vaults:\n    - {src: config/secrets.yml.enc, dst: config/secrets.yml}\n    - {src: config/secrets.yml.enc, dst: config/other.yml}\n")
	want := "secrets: config/other.yml: a symbolic link to " + filepath.Join(f.dir, "unmounted/other.yml") + ", whose directory " + filepath.Join(f.dir, "unmounted") + " does not exist (is the file system it is on mounted?); nothing was written"
	if err == nil || err.Error() != want {
		t.Errorf("link into a missing directory:\n got %v\nwant %s", err, want)
	}
	for _, p := range []string{filepath.Join(shm, "secrets.yml"), filepath.Join(f.dir, "unmounted")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s was written by a failed step", p)
		}
	}
	if err := run("secrets:\n  vaults:\n    - {src: config/secrets.yml.enc, dst: config/secrets.yml}\n"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat("config/secrets.yml"); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", st.Mode(), err)
	}
	st, err := os.Stat(filepath.Join(shm, "secrets.yml"))
	if err != nil || st.Mode().Perm() != 0o600 || f.read(t, "shm/secrets.yml") != fixtureYAML {
		t.Errorf("the link's target: %v %v", st, err)
	}
	assertNoTempFiles(t, f.dir)
}

// TestSecretsStepExpandsPaths: one entry.yml names a vault per environment.
func TestSecretsStepExpandsPaths(t *testing.T) {
	f := newSecretsFixture(t)
	t.Chdir(f.dir)
	cfg, err := config.Parse("entry.yml", []byte("secrets:\n  vaults:\n    - {src: 'config/${VAULT}.yml.enc', dst: 'run/$VAULT.yml'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	step, _ := prehook.NewSecretsStep(cfg)
	env := prehook.EnvFromList([]string{"VAULT=secrets", "ENTRY_AGE_KEY=" + keyOnly(f.key)})
	if plan := step.Plan(env); len(plan) != 3 || plan[1] != "decrypt config/secrets.yml.enc -> run/secrets.yml (mode 0600)" {
		t.Errorf("plan: %q", plan)
	}
	if err := step.Run(context.Background(), env, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "run/secrets.yml"); got != fixtureYAML {
		t.Errorf("dst: %q", got)
	}
	env = prehook.EnvFromList([]string{"ENTRY_AGE_KEY=" + keyOnly(f.key)})
	err = step.Run(context.Background(), env, func(string, ...any) {})
	if want := "secrets: config/${VAULT}.yml.enc: $VAULT is not set (the vault path uses it)"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestSecretsStepOwner: owner: sets the plain file's owner (needs root).
func TestSecretsStepOwner(t *testing.T) {
	testtool.RequireRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	f := newSecretsFixture(t)
	t.Chdir(f.dir)
	cfg, err := config.Parse("entry.yml", []byte("secrets:\n  vaults:\n    - {src: config/secrets.yml.enc, dst: run/secrets.yml, owner: nobody, mode: '0400'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	step, err := prehook.NewSecretsStep(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := prehook.EnvFromList([]string{"ENTRY_AGE_KEY=" + keyOnly(f.key)})
	if err := step.Run(context.Background(), env, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat("run/secrets.yml")
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)), strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Gid))
	if uid != nobody.Uid || gid != nobody.Gid || st.Mode().Perm() != 0o400 {
		t.Errorf("owner %s:%s mode %v, want %s:%s 0400", uid, gid, st.Mode().Perm(), nobody.Uid, nobody.Gid)
	}
}

// The age key given in ENTRY_AGE_KEY reaches neither the supervised
// processes' environment nor entry's own /proc/PID/environ, which those
// processes could read.
func TestAgeKeyNotVisibleToProcesses(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    peek: 'env > own.env; tr \"\\\\0\" \"\\\\n\" < /proc/$PPID/environ > parent.env'\n"})
	const key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	r := runEntry(t, dir, []string{"ENTRY_AGE_KEY=" + key})
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, f := range []string{"own.env", "parent.env"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(data) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.Contains(string(data), "QQQQQQQQ") {
			t.Errorf("%s shows the age key", f)
		}
	}
}

// Where entry cannot erase the key from its environment block (no /proc
// here: every /proc mount is undone, runBinary's own included), it says so
// once, without the key, and starts all the same.
func TestAgeKeyEraseFailureWarns(t *testing.T) {
	testtool.RequireRoot(t)
	unshare := testtool.Require(t, "unshare")
	const key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	r := runBinary(t, unshare, t.TempDir(), []string{"ENTRY_AGE_KEY=" + key},
		"--mount", "--propagation", "private", "sh", "-c", `while umount -l /proc 2>/dev/null; do :; done; [ ! -e /proc/self ] && exec "$0" -- echo started`, entryBin)
	if r.code != 0 || r.stdout != "started\n" {
		t.Fatalf("%+v", r)
	}
	warning := regexp.MustCompile(`^entry: warning: ENTRY_AGE_KEY stays visible in /proc/\d+/environ: .+ \(prefer ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM\)\n$`)
	if !warning.MatchString(r.stderr) {
		t.Errorf("stderr %q, want one warning line", r.stderr)
	}
	if strings.Contains(r.stderr, "QQQQQQQQ") {
		t.Error("the warning shows the key")
	}
}
