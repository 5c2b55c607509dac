package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry secrets keygen -y prints the public key of an existing key file, as
// age-keygen -y does: from a file, from stdin, or to a new -o file.
func TestSecretsKeygenPublicKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "age.key")
	pqKey := filepath.Join(dir, "pq.key")
	gen := runEntry(t, dir, nil, "secrets", "keygen", "-o", key)
	genPQ := runEntry(t, dir, nil, "secrets", "keygen", "--pq", "-o", pqKey)
	if gen.code != 0 || genPQ.code != 0 {
		t.Fatalf("keygen: exit %d %d\n%s%s", gen.code, genPQ.code, gen.stderr, genPQ.stderr)
	}
	public := strings.TrimSpace(strings.TrimPrefix(gen.stderr, "Public key: "))
	publicPQ := strings.TrimSpace(strings.TrimPrefix(genPQ.stderr, "Public key: "))

	if r := runEntry(t, dir, nil, "secrets", "keygen", "-y", key); r.code != 0 || r.stdout != public+"\n" || r.stderr != "" {
		t.Errorf("keygen -y FILE: exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, public+"\n", r.stderr)
	}
	// Several keys in one file (a rotated key beside the new one): one line each.
	both := readFile(t, dir, "age.key") + readFile(t, dir, "pq.key")
	if r := runWithInput(t, entryBin, dir, nil, both, "secrets", "keygen", "-y"); r.code != 0 || r.stdout != public+"\n"+publicPQ+"\n" {
		t.Errorf("keygen -y < two keys: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runEntry(t, dir, []string{"ENTRY_SECRETS_PUBLIC_KEY=true"}, "secrets", "keygen", "-o", "team.recipients", key); r.code != 0 {
		t.Errorf("ENTRY_SECRETS_PUBLIC_KEY=true keygen -o team.recipients: exit %d\n%s", r.code, r.stderr)
	} else if got := readFile(t, dir, "team.recipients"); got != public+"\n" {
		t.Errorf("team.recipients = %q, want %q", got, public+"\n")
	}

	// Failures: the message, and nothing written or replaced.
	if err := os.WriteFile(filepath.Join(dir, "public.txt"), []byte(public+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-y", "public.txt"}, exitFailure, "entry: secrets: public.txt: line 1 is not a valid age secret key (want AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1..., as written by 'entry secrets keygen')\n"},
		{[]string{"-y", "missing.key"}, exitFailure, "entry: secrets: open missing.key: no such file or directory\n"},
		{[]string{"-y", "-o", "team.recipients", pqKey}, exitFailure, "entry: secrets: team.recipients: already exists (choose another file, or append with >> instead of -o)\n"},
		{[]string{"-y", "--pq", key}, exitUsage, "entry: secrets keygen: -y reads an existing key; --pq makes a new one: give one of them\n"},
		{[]string{"-y", key, pqKey}, exitUsage, "entry: secrets keygen -y: want at most one KEYFILE, got 2 (see 'entry secrets keygen --help')\n"},
	} {
		r := runEntry(t, dir, nil, append([]string{"secrets", "keygen"}, c.args...)...)
		if r.code != c.code || r.stderr != c.msg || r.stdout != "" {
			t.Errorf("keygen %s: exit %d, stderr %q\nwant exit %d, %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.msg)
		}
	}
	if got := readFile(t, dir, "team.recipients"); got != public+"\n" {
		t.Errorf("team.recipients changed to %q", got)
	}
	if r := runWithInput(t, entryBin, dir, nil, "\n# nothing\n", "secrets", "keygen", "-y", "-"); r.code != exitFailure || r.stderr != "entry: secrets: stdin: no age key: the key is empty\n" {
		t.Errorf("keygen -y - < empty: exit %d, stderr %q", r.code, r.stderr)
	}
}
