package testtool

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// unprivilegedEnv names, in a test binary re-run by Unprivileged, the one
// test that binary runs as an unprivileged user.
const unprivilegedEnv = "ENTRY_TEST_UNPRIVILEGED"

// NobodyID is the user and group the unprivileged copy runs as.
const NobodyID = 65534

// Unprivileged runs the calling test as the unprivileged user nobody when
// the tests run as root (as scripts/test does), so that what root may do
// anyway (read a mode 000 file, create a socket in /run) does not hide the
// failure a non-root image meets. Without root the test runs in place.
// It reports whether the test has already run in the child binary:
//
//	func TestX(t *testing.T) {
//		if testtool.Unprivileged(t) {
//			return
//		}
//		... // runs as nobody
//	}
//
// The child cannot read the parent's temporary directories: build the
// test's files in the child (t.TempDir there belongs to nobody).
func Unprivileged(t *testing.T) bool {
	t.Helper()
	if os.Getenv(unprivilegedEnv) == t.Name() || os.Geteuid() != 0 {
		return false
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("running %s unprivileged: setpriv (util-linux) is not installed: %v", t.Name(), err)
	}
	// The test binary lives in a directory only root can enter: copy it.
	dir := UnprivilegedDir(t)
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := copyExecutable(os.Args[0], bin); err != nil {
		t.Fatalf("running %s unprivileged: %v", t.Name(), err)
	}
	wd, _ := os.Getwd()
	cmd := exec.Command(setpriv, "--reuid", strconv.Itoa(NobodyID), "--regid", strconv.Itoa(NobodyID), "--clear-groups", "--",
		bin, "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.v",
		"-test.timeout="+(IsolatedTimeout-15*time.Second).String())
	cmd.Dir = dir
	if st, err := os.Stat(wd); err == nil && st.Mode().Perm()&0o005 == 0o005 {
		cmd.Dir = wd // testdata stays reachable when the package directory is
	}
	cmd.Env = append(os.Environ(), unprivilegedEnv+"="+t.Name(), "HOME="+dir, "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("running %s unprivileged: %v", t.Name(), err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = WaitCmd(t, cmd, IsolatedTimeout, out.String)
	reportChild(t, "as user nobody", err, out.String())
	return true
}

// UnprivilegedDir returns a new directory that the user nobody owns and
// may write, removed at the end of the test.
func UnprivilegedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "entry-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, NobodyID, NobodyID); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
