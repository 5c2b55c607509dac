package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSecretsDstRefused: a vault whose dst would replace a file that must
// not be replaced (the vault itself, another vault, a template or its
// output, entry.yml, the key file) or that is a directory stops start-up
// before anything runs (exit 2), and entry config check says the same. The
// vault and every other file stay byte for byte as they were.
func TestSecretsDstRefused(t *testing.T) {
	f := newSecretsFixture(t)
	vault := f.read(t, "config/secrets.yml.enc")
	key := f.read(t, "keys/dev.key")
	writeFiles(t, f.dir, map[string]string{
		"config/other.env.enc":       "placeholder: not opened\n",
		"config/database.yml.erb":    "url: <%= ENV['DATABASE_URL'] %>\n",
		"config/app/dir-is-here.txt": "x\n",
	})
	os.Symlink("secrets.yml.enc", filepath.Join(f.dir, "config/link.yml"))
	env := append(slices.Clone(f.env), "ENTRY_AGE_KEY_FILE=keys/dev.key")
	const fix = " (write it to a file of its own, e.g. "
	for _, tc := range []struct{ name, vaults, render, want string }{
		{"dst is src", "{src: config/secrets.yml.enc, dst: config/secrets.yml.enc}", "",
			"entry.yml: secrets.vaults[0]: dst config/secrets.yml.enc is the vault itself: the plain text would replace it" + fix + "config/secrets.yml); nothing was written"},
		{"dst is src spelled ./", "{src: config/secrets.yml.enc, dst: ./config/../config/secrets.yml.enc}", "",
			"entry.yml: secrets.vaults[0]: dst ./config/../config/secrets.yml.enc is the vault itself: the plain text would replace it" + fix + "config/secrets.yml); nothing was written"},
		{"dst links to src", "{src: config/secrets.yml.enc, dst: config/link.yml}", "",
			"entry.yml: secrets.vaults[0]: dst config/link.yml is the vault itself: the plain text would replace it" + fix + "config/secrets.yml); nothing was written"},
		{"dst is another vault", "{src: config/secrets.yml.enc, dst: run/s.yml}\n    - {src: config/other.env.enc, dst: config/secrets.yml.enc}", "",
			"entry.yml: secrets.vaults[1]: dst config/secrets.yml.enc is the vault of secrets.vaults[0]: the plain text would replace it" + fix + "config/other.env); nothing was written"},
		{"two vaults, one dst", "{src: config/secrets.yml.enc, dst: run/s.yml}\n    - {src: config/other.env.enc, dst: run/s.yml}", "",
			"entry.yml: secrets.vaults[1]: dst run/s.yml is the dst of secrets.vaults[0] too: the plain text would replace it" + fix + "run/other.env); nothing was written"},
		{"dst is a template", "{src: config/secrets.yml.enc, dst: config/database.yml.erb}", "{src: config/database.yml.erb, dst: config/database.yml}",
			"entry.yml: secrets.vaults[0]: dst config/database.yml.erb is a template (render.templates): the plain text would replace it" + fix + "config/secrets.yml); nothing was written"},
		{"dst is a template's output", "{src: config/secrets.yml.enc, dst: config/database.yml}", "{src: config/database.yml.erb, dst: config/database.yml}",
			"entry.yml: secrets.vaults[0]: dst config/database.yml is the output of template config/database.yml.erb (render.templates): the plain text would replace it" + fix + "config/secrets.yml); nothing was written"},
		{"dst is entry.yml", "{src: config/secrets.yml.enc, dst: entry.yml}", "",
			"entry.yml: secrets.vaults[0]: dst entry.yml is the config file: the plain text would replace it" + fix + "secrets.yml); nothing was written"},
		{"dst is the key file", "{src: config/secrets.yml.enc, dst: keys/dev.key}", "",
			"entry.yml: secrets.vaults[0]: dst keys/dev.key is the age key file (ENTRY_AGE_KEY_FILE): the plain text would replace it" + fix + "keys/secrets.yml); nothing was written"},
		{"dst is a directory", "{src: config/secrets.yml.enc, dst: config/app}", "",
			"entry.yml: secrets.vaults[0]: dst config/app is a directory (name the file to write in it, e.g. config/app/secrets.yml); nothing was written"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "secrets:\n  vaults:\n    - " + tc.vaults + "\n"
			if tc.render != "" {
				yml += "render:\n  templates:\n    - " + tc.render + "\n"
			}
			writeFiles(t, f.dir, map[string]string{"entry.yml": yml})
			for _, args := range [][]string{{"--", "sh", "-c", "echo ran"}, {"config", "check", "--", "sh"}} {
				r := runEntry(t, f.dir, env, args...)
				if r.code != 2 || r.stdout != "" || r.stderr != "entry: "+tc.want+"\n" {
					t.Errorf("entry %s: exit %d stdout %q stderr:\n%s\nwant exit 2 and\nentry: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr, tc.want)
				}
			}
			if got := f.read(t, "config/secrets.yml.enc"); got != vault {
				t.Errorf("the vault changed:\n%s", got)
			}
			if got := f.read(t, "keys/dev.key"); got != key {
				t.Error("the key file changed")
			}
			if got := f.read(t, "entry.yml"); got != yml {
				t.Error("entry.yml changed")
			}
			for _, p := range []string{"run", "config/database.yml", "config/app/secrets.yml"} {
				if _, err := os.Lstat(filepath.Join(f.dir, p)); err == nil {
					t.Errorf("%s was written", p)
				}
			}
			assertNoTempFiles(t, f.dir)
		})
	}
}

// TestSecretsDstTemplateOverVault: a template rendered over a vault is the
// same mistake from the other side.
func TestSecretsDstTemplateOverVault(t *testing.T) {
	f := newSecretsFixture(t)
	vault := f.read(t, "config/secrets.yml.enc")
	writeFiles(t, f.dir, map[string]string{
		"config/x.erb": "x\n",
		"entry.yml":    "secrets:\n  vaults:\n    - {src: config/secrets.yml.enc, env: true}\nrender:\n  templates:\n    - {src: config/x.erb, dst: ./config/secrets.yml.enc}\n",
	})
	r := runEntry(t, f.dir, f.env, "--", "sh", "-c", "echo ran")
	want := "entry: entry.yml: render.templates: config/x.erb would render over ./config/secrets.yml.enc, the vault of secrets.vaults[0]; give the template another dst; nothing was written\n"
	if r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("exit %d stdout %q stderr:\n%s\nwant exit 2 and\n%s", r.code, r.stdout, r.stderr, want)
	}
	if got := f.read(t, "config/secrets.yml.enc"); got != vault {
		t.Errorf("the vault changed:\n%s", got)
	}
}

// TestSecretsDecryptOutput: decrypt -o never replaces the vault itself or
// the key, and replaces another existing file only with --force (or
// ENTRY_SECRETS_FORCE), as encrypt -o does.
func TestSecretsDecryptOutput(t *testing.T) {
	f := newSecretsFixture(t)
	vault := f.read(t, "config/secrets.yml.enc")
	key := f.read(t, "keys/dev.key")
	writeFiles(t, f.dir, map[string]string{"out/existing.yml": "keep me\n"})
	env := append(slices.Clone(f.env), "ENTRY_AGE_KEY_FILE=keys/dev.key")
	const fix = " (write it to a file of its own, e.g. "
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "config/secrets.yml.enc", "--force"},
			"entry: secrets: config/secrets.yml.enc: -o config/secrets.yml.enc is the vault itself: the plain text would replace it" + fix + "config/secrets.yml); nothing written\n"},
		{[]string{"-o", "./config/secrets.yml.enc"},
			"entry: secrets: config/secrets.yml.enc: -o ./config/secrets.yml.enc is the vault itself: the plain text would replace it" + fix + "config/secrets.yml); nothing written\n"},
		{[]string{"-o", "keys/dev.key", "--force"},
			"entry: secrets: config/secrets.yml.enc: -o keys/dev.key is the age key file (ENTRY_AGE_KEY_FILE): the plain text would replace it" + fix + "keys/secrets.yml); nothing written\n"},
		{[]string{"-o", "out/existing.yml"},
			"entry: secrets: config/secrets.yml.enc: -o out/existing.yml already exists; nothing written (give --force to replace it)\n"},
		{[]string{"-o", "out", "--force"},
			"entry: secrets: config/secrets.yml.enc: -o out is a directory (name the file to write in it, e.g. out/secrets.yml); nothing written\n"},
	} {
		r := runEntry(t, f.dir, env, append([]string{"secrets", "decrypt", "config/secrets.yml.enc"}, tc.args...)...)
		if r.code != 2 || r.stdout != "" || r.stderr != tc.want {
			t.Errorf("decrypt %v: exit %d stdout %q stderr:\n%s\nwant exit 2 and\n%s", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if f.read(t, "config/secrets.yml.enc") != vault || f.read(t, "keys/dev.key") != key || f.read(t, "out/existing.yml") != "keep me\n" {
		t.Error("a refused decrypt changed a file")
	}
	for _, force := range [][]string{{"--force"}, {"ENTRY_SECRETS_FORCE=true"}} {
		os.WriteFile(filepath.Join(f.dir, "out/existing.yml"), []byte("keep me\n"), 0o644)
		args, env := []string{"secrets", "decrypt", "config/secrets.yml.enc", "-o", "out/existing.yml"}, env
		if strings.HasPrefix(force[0], "--") {
			args = append(args, force...)
		} else {
			env = append(slices.Clone(env), force...)
		}
		if r := runEntry(t, f.dir, env, args...); r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d %s", force, r.code, r.stderr)
		}
		if got := f.read(t, "out/existing.yml"); got != fixtureYAML {
			t.Errorf("%v: out/existing.yml = %q", force, got)
		}
	}
	assertNoTempFiles(t, f.dir)
}

// TestKeyVarsGoneBeforeTemplates: the key variables are gone from entry's
// own /proc/self/environ, names and values, before templates and hooks
// run, and the secrets step still decrypts with the key.
func TestKeyVarsGoneBeforeTemplates(t *testing.T) {
	f := newSecretsFixture(t)
	writeFiles(t, f.dir, map[string]string{
		"environ.erb": `<%= File.read("/proc/self/environ") %>`,
		"entry.yml": `secrets:
  vaults:
    - {src: config/secrets.yml.enc, dst: run/secrets.yml}
render:
  templates:
    - {src: environ.erb, dst: run/environ}
hooks:
  - tr '\0' '\n' < /proc/$PPID/environ > run/hook-environ
`,
	})
	key := keyOnly(f.key)
	env := append(slices.Clone(f.env), "ENTRY_AGE_KEY="+key, "ENTRY_AGE_KEY_SSM=/app/age-key", "AFTER_KEY=still-here")
	r := runEntry(t, f.dir, env, "--", "true")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := f.read(t, "run/secrets.yml"); got != fixtureYAML {
		t.Errorf("the vault was not decrypted with the key: %q", got)
	}
	for _, name := range []string{"run/environ", "run/hook-environ"} {
		environ := f.read(t, name)
		if !strings.Contains(environ, "AFTER_KEY=still-here") {
			t.Errorf("%s lost other variables:\n%q", name, environ)
		}
		for _, s := range []string{"ENTRY_AGE_KEY", keyOnly(f.key)[20:40], "/app/age-key"} {
			if strings.Contains(environ, s) {
				t.Errorf("%s shows %s:\n%q", name, s, environ)
			}
		}
	}
}
