package main

import (
	"strings"
	"testing"
)

// With the image's ENTRYPOINT ["entry"], `docker run IMG entry deploy …`
// runs `entry entry deploy …`. entry must take the second "entry" as its own
// name and run the subcommand, not the start-up pipeline (whose hook here
// fails, as a vault with no key or a template needing production variables
// fails in CI).
func TestOwnNameAsFirstArgument(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": "hooks:\n  - name: needs-production\n    run: echo start-up ran; exit 3\nroles:\n  web:\n    app: sleep 1\n",
	})
	for _, args := range [][]string{
		{"entry", "version"},
		{"/usr/local/bin/entry", "version"},
	} {
		r := runEntry(t, dir, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "entry ") || strings.Contains(r.stdout+r.stderr, "start-up ran") {
			t.Errorf("entry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	// The deploy subcommand is reached: its own usage error, not the hook's.
	r := runEntry(t, dir, nil, "entry", "deploy", "--no-such-flag")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--no-such-flag") || strings.Contains(r.stdout+r.stderr, "start-up ran") {
		t.Errorf("entry entry deploy --no-such-flag: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// Any other first argument is still a command to exec after start-up.
	r = runEntry(t, dir, nil, "true")
	if r.code != exitFailure || !strings.Contains(r.stderr, `hook "needs-production" ("echo start-up ran; exit 3") exited 3`) {
		t.Errorf("entry true: exit %d, want the hook's failure\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
