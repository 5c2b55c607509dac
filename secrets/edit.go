package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// EditOptions configures Vault.Edit.
type EditOptions struct {
	// Name is the vault's file name; the temporary file is named after it
	// (without .enc or .age) so that editors pick the right syntax.
	Name string
	// Editor is a shell command line ($VISUAL or $EDITOR); the file's path
	// is added as its last argument. "" means vi.
	Editor string
	// The editor's standard streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Reopen is asked, with what is wrong, when the edited file does not
	// parse: true runs the editor again on the file as it was left, so no
	// edit is lost; false (or a nil Reopen) gives up and saves nothing.
	Reopen func(problem error) bool
	// TempRoot holds the private temporary directory; "" prefers /dev/shm
	// (memory) over the system's temporary directory.
	TempRoot string
}

// ErrNotSaved wraps an edit that ended without saving: the editor failed,
// was interrupted, or left a file that does not parse.
var ErrNotSaved = errors.New("nothing saved")

// maxReopens bounds how often Edit reopens the editor on an invalid file.
const maxReopens = 100

// Edit writes the vault's plain text to a private temporary file (mode
// 0600), runs the editor on it and re-encrypts the result with Update:
// unchanged values keep their ciphertext. vault is nil when nothing
// changed. The temporary file is removed whatever happens.
func (v *Vault) Edit(o EditOptions) (vault []byte, changed int, err error) {
	plain, err := v.Plaintext()
	if err != nil {
		return nil, 0, err
	}
	root := o.TempRoot
	if root == "" {
		root = tempRoot()
	}
	dir, err := os.MkdirTemp(root, "entry-secrets-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, tempName(o.Name, v.doc.format()))
	if err := os.WriteFile(tmp, plain, 0o600); err != nil {
		return nil, 0, err
	}
	for range maxReopens {
		if err := runEditor(o, tmp); err != nil {
			return nil, 0, err
		}
		edited, err := os.ReadFile(tmp)
		if err != nil {
			return nil, 0, err
		}
		if bytes.Equal(edited, plain) {
			return nil, 0, nil
		}
		vault, changed, err := v.Update(edited)
		if err == nil {
			return vault, changed, nil
		}
		if o.Reopen == nil || !o.Reopen(err) {
			return nil, 0, fmt.Errorf("the edited file is not valid, %w: %v", ErrNotSaved, err)
		}
	}
	return nil, 0, fmt.Errorf("the edited file is still not valid after %d attempts, %w", maxReopens, ErrNotSaved)
}

// tempName is the temporary file's name: the vault's, without .enc or
// .age, and with .yml for YAML.
func tempName(file string, f Format) string {
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".enc"), ".age")
	if name == "." || name == "/" || name == "" {
		name = "secrets"
	}
	if f == YAML && !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".yaml") {
		name += ".yml"
	}
	return name
}

// runEditor runs the editor on path and waits for it.
func runEditor(o EditOptions, path string) error {
	editor := o.Editor
	if editor == "" {
		editor = "vi"
	}
	// Signals meant for the editor must not kill entry before it removes
	// the plain file.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	cmd := exec.Command("/bin/sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	runErr := cmd.Run()
	select {
	case s := <-sigs:
		return fmt.Errorf("interrupted by %v while editing; %w", s, ErrNotSaved)
	default:
	}
	if runErr != nil {
		return fmt.Errorf("editor %q failed (%v); %w", editor, runErr, ErrNotSaved)
	}
	return nil
}

// tempRoot prefers a memory file system for plaintext.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", ".entry-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}
