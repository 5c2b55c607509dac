package testtool

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SnapshotDate is the author and committer date of every Snapshot commit,
// so that two snapshots of one tree are the same commit.
const SnapshotDate = "2026-12-06T07:26:26Z"

// Snapshot copies the working tree of the repository at root (tracked
// files and untracked ones git does not ignore, as they are on disk now)
// into dir and commits it there as a fresh one-commit git repository with a
// fixed author and date. It returns the commit hash.
//
// Tests that need Go's VCS stamping or a release build use it: the copy is
// a plain checkout with a .git directory (Go stamps no VCS information in a
// `git worktree`), holds the code under test rather than the last commit,
// and two snapshots of one tree at two paths are byte-for-byte the same
// commit, which is what a reproducible build starts from.
func Snapshot(t testing.TB, root, dir string) string {
	t.Helper()
	git := Require(t, "git")
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"GIT_AUTHOR_NAME=entry tests", "GIT_AUTHOR_EMAIL=tests@entry.invalid",
			"GIT_COMMITTER_NAME=entry tests", "GIT_COMMITTER_EMAIL=tests@entry.invalid",
			"GIT_AUTHOR_DATE="+SnapshotDate, "GIT_COMMITTER_DATE="+SnapshotDate,
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
		}
		return string(out)
	}
	files := run(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, name := range strings.Split(strings.TrimRight(files, "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(target, dst)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Only the executable bit matters to git.
		mode := os.FileMode(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	run(dir, "init", "-q", "-b", "main")
	run(dir, "add", "-A")
	run(dir, "commit", "-q", "--no-gpg-sign", "-m", "snapshot of the working tree")
	return strings.TrimSpace(run(dir, "rev-parse", "HEAD"))
}

// RepoRoot returns the root of the repository the test runs in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	return strings.TrimSpace(string(out))
}
