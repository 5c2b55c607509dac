package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editorScript writes a shell script that runs body with the edited file
// as $1 and counts its runs in $0.runs.
func editorScript(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := writeTemp(t, dir, "editor.sh", "#!/bin/sh\nset -e\nn=$(cat \"$0.runs\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.runs\"\n"+body+"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func runs(t *testing.T, editor string) string {
	b, _ := os.ReadFile(editor + ".runs")
	return strings.TrimSpace(string(b))
}

func TestEditReopensOnInvalidYAML(t *testing.T) {
	a, ra := testKey(t)
	data, err := Encrypt(YAML, []byte("a: one\nb: two\n"), EncryptOptions{Recipients: []string{ra}})
	if err != nil {
		t.Fatal(err)
	}
	tmpRoot := t.TempDir()
	open := func() *Vault {
		v, err := Open(YAML, data, ids(a))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// First run: change b and break the file; second run: b's change is
	// still there, fix the broken line.
	editor := editorScript(t, `if [ $n = 1 ]; then sed -i 's/two/TWO/' "$1"; echo 'c: [' >> "$1"; else grep -q TWO "$1"; sed -i 's/^c: \[$/c: three/' "$1"; fi`)
	var problems []string
	vault, changed, err := open().Edit(EditOptions{Name: "config/secrets.yml.enc", Editor: editor, TempRoot: tmpRoot,
		Reopen: func(p error) bool { problems = append(problems, p.Error()); return true }})
	if err != nil || changed != 2 || vault == nil {
		t.Fatalf("edit: %v, %d changed", err, changed)
	}
	if want := []string{"malformed: not valid YAML: line 3: did not find expected node content"}; strings.Join(problems, "|") != strings.Join(want, "|") {
		t.Errorf("problems %q, want %q", problems, want)
	}
	plain, err := Decrypt(YAML, vault, ids(a))
	if err != nil || string(plain) != "a: one\nb: TWO\nc: three\n" {
		t.Errorf("after the edit: %q, %v", plain, err)
	}
	if runs(t, editor) != "2" {
		t.Errorf("the editor ran %s times, want 2", runs(t, editor))
	}

	// Declining saves nothing and says so; the temporary file is gone.
	editor = editorScript(t, `echo 'c: [' >> "$1"`)
	vault, _, err = open().Edit(EditOptions{Name: "s.yml.enc", Editor: editor, TempRoot: tmpRoot, Reopen: func(error) bool { return false }})
	if vault != nil || !errors.Is(err, ErrNotSaved) || err.Error() != "the edited file is not valid, nothing saved: malformed: not valid YAML: line 3: did not find expected node content" {
		t.Errorf("declined: %v", err)
	}
	// No change, and a failing editor.
	vault, _, err = open().Edit(EditOptions{Editor: editorScript(t, "true"), TempRoot: tmpRoot})
	if vault != nil || err != nil {
		t.Errorf("no change: %v", err)
	}
	editor = editorScript(t, "exit 3")
	_, _, err = open().Edit(EditOptions{Editor: editor, TempRoot: tmpRoot})
	if !errors.Is(err, ErrNotSaved) || err.Error() != `editor "`+editor+`" failed (exit status 3); nothing saved` {
		t.Errorf("failing editor: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmpRoot, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRecipientsAddRemoveOwnKey(t *testing.T) {
	a, ra := testKey(t)
	b, rb := testKey(t)
	data, err := Encrypt(YAML, []byte("a: one\n"), EncryptOptions{Recipients: []string{ra}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(YAML, data, ids(a))
	if err != nil {
		t.Fatal(err)
	}
	if out, added, err := v.AddRecipients([]string{ra}); out != nil || added != nil || err != nil {
		t.Errorf("adding a recipient again: %v %v", added, err)
	}
	both, added, err := v.AddRecipients([]string{rb, rb})
	if err != nil || strings.Join(added, ",") != rb {
		t.Fatalf("add: %v %v", added, err)
	}
	// SetRecipients changes the opened vault: open a fresh one each time.
	fresh := func() *Vault {
		v, err := Open(YAML, both, ids(a))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v = fresh()
	// a removing a's own key: refused without force, nothing returned.
	out, _, err := v.RemoveRecipients([]string{ra}, ids(a), false)
	if out != nil || !errors.Is(err, ErrOwnKey) || err.Error() != "own key: "+shorten(ra)+" is the key you decrypt with; without it you could no longer decrypt the file (give --force if that is intended)" {
		t.Errorf("removing your own key: %v", err)
	}
	// Holding both keys, removing one of them is fine; so is force.
	if _, n, err := fresh().RemoveRecipients([]string{ra}, ids(a, b), false); err != nil || n != 1 {
		t.Errorf("removing one of two own keys: %d %v", n, err)
	}
	out, n, err := fresh().RemoveRecipients([]string{ra}, ids(a), true)
	if err != nil || n != 1 {
		t.Fatalf("remove --force: %d %v", n, err)
	}
	if _, err := Open(YAML, out, ids(a)); !errors.Is(err, ErrWrongKey) {
		t.Errorf("the removed key still opens the vault: %v", err)
	}
	v = fresh()
	if _, _, err := v.RemoveRecipients([]string{ra, rb}, ids(b), true); err == nil || err.Error() != "cannot remove every recipient: nobody could decrypt the file" {
		t.Errorf("removing everyone: %v", err)
	}
	_, other := testKey(t)
	if _, _, err := v.RemoveRecipients([]string{other}, ids(a), false); err == nil || err.Error() != other+" is not a recipient (see 'entry secrets recipients list')" {
		t.Errorf("removing a stranger: %v", err)
	}
}

func TestReadRecipientsFile(t *testing.T) {
	dir := t.TempDir()
	got, err := ReadRecipientsFile(writeTemp(t, dir, "team", "# team\n\n age1abc \nage1def\n"))
	if err != nil || strings.Join(got, ",") != "age1abc,age1def" {
		t.Errorf("%q %v", got, err)
	}
	if _, err := ReadRecipientsFile(writeTemp(t, dir, "empty", "# nobody\n")); err == nil || err.Error() != "no recipients in the file" {
		t.Errorf("empty: %v", err)
	}
	if _, err := ReadRecipientsFile(filepath.Join(dir, "missing")); err == nil || err.Error() != "no such file or directory" {
		t.Errorf("missing: %v", err)
	}
}

func TestSaveKeyNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "keys", "dev.key")
	if err := SaveKey(name, "AGE-SECRET-KEY-1A\n"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(name); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(name)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v", st.Mode(), err)
	}
	err := SaveKey(name, "AGE-SECRET-KEY-1B\n")
	if err == nil || err.Error() != "already exists (keygen never overwrites a key; choose another file)" {
		t.Errorf("second save: %v", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "AGE-SECRET-KEY-1A\n" {
		t.Errorf("the key was replaced: %q", b)
	}
}
