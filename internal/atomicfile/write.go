package atomicfile

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"
)

// WriteFile writes data to path through a temporary file in the same
// directory, fsynced and renamed into place (renameio): on failure the old
// file stays and no temporary file is left. Missing parent directories are
// created. keepMode keeps an existing file's permissions instead of mode;
// owner is "", USER, USER:GROUP or :GROUP (see LookupOwner). A path that is
// a symbolic link keeps the link: the file it points to is written, in its
// own directory (Target).
func WriteFile(path string, data []byte, mode os.FileMode, keepMode bool, owner string) error {
	uid, gid, err := LookupOwner(owner)
	if err != nil {
		return err
	}
	if path, err = Target(path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// WithTempDir: in the destination's directory, renameio need not probe
	// whether its default temporary directory is on the same file system.
	opts := []renameio.Option{renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(mode)}
	if keepMode {
		opts = append(opts, renameio.WithExistingPermissions())
	}
	pf, err := renameio.NewPendingFile(path, opts...)
	if err != nil {
		return err
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := pf.Chown(uid, gid); err != nil {
			return fmt.Errorf("setting owner %s: %v (entry must run as root to change owners)", owner, err)
		}
	}
	return pf.CloseAtomicallyReplace()
}

// checkOwner checks an owner's syntax: USER, USER:GROUP or :GROUP, with
// names or numeric ids.
func checkOwner(owner string) error {
	u, g, hasGroup := strings.Cut(owner, ":")
	if owner == "" || hasGroup && g == "" || !hasGroup && u == "" || strings.ContainsAny(owner, " \t/") || strings.Count(owner, ":") > 1 {
		return fmt.Errorf("owner %q: want USER, USER:GROUP or :GROUP (names or numeric ids)", owner)
	}
	return nil
}

// LookupOwner resolves an owner to ids; -1 leaves one unchanged, and ""
// changes neither. A user without a group gets the user's primary group, as
// chown(1) does with "user:".
func LookupOwner(owner string) (uid, gid int, err error) {
	if owner == "" {
		return -1, -1, nil
	}
	if err := checkOwner(owner); err != nil {
		return -1, -1, err
	}
	name, group, hasGroup := strings.Cut(owner, ":")
	uid, gid = -1, -1
	if name != "" {
		if n, err := strconv.Atoi(name); err == nil {
			uid = n
		} else {
			u, err := user.Lookup(name)
			if err != nil {
				return -1, -1, fmt.Errorf("owner %q: no such user in this image", owner)
			}
			uid, _ = strconv.Atoi(u.Uid)
			if !hasGroup {
				gid, _ = strconv.Atoi(u.Gid)
			}
		}
	}
	if group != "" {
		if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return -1, -1, fmt.Errorf("owner %q: no such group in this image", owner)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}
