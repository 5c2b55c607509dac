package main

import (
	"strings"
	"testing"
)

// entry config check finds what start-up or the first cron run would only
// find later: a cron job whose program is missing, an assets fetch with no
// revision, a Sprockets manifest fetched to a name Sprockets never reads.
// Each is exit 2, never "valid".
func TestConfigCheckCrontabAndAssets(t *testing.T) {
	const assetsOK = "assets:\n  bucket: b\n  manifests:\n    - {name: m.json, dst: public/assets/.sprockets-manifest-00000000000000000000000000000000.json}\n"
	const role = "roles:\n  job:\n    cron:\n      crontab: config/crontab\n"
	cases := []struct {
		name, yml, crontab, revision string
		want                         []string
	}{
		{"valid", assetsOK + role, "# sweep\n*/5 * * * * echo sweep\n", "abc123\n", nil},
		{"missing cron program", assetsOK + role,
			"# sweep\n*/5 * * * * echo sweep\n\n# report\n0 3 * * * no-such-rake-xyz report:send\n# shell syntax: only a shell can tell\n0 4 * * * cd /tmp && nothing-here-xyz\n", "abc123\n",
			[]string{`entry: config/crontab:5: cron job "report": cannot run: no-such-rake-xyz: command not found (install it in the image, or fix the command)`}},
		{"no revision", assetsOK + role, "* * * * * true\n", "",
			[]string{"entry: assets: no revision: set ENTRY_REVISION, bake a REVISION file into the image (RUN echo $GIT_SHA > REVISION), or set assets.revision in entry.yml"}},
		{"empty REVISION", assetsOK + role, "* * * * * true\n", "\n",
			[]string{"entry: assets: the REVISION file is empty (write the commit SHA into it in the Dockerfile, or set ENTRY_REVISION)"}},
		{"sprockets name", "assets:\n  bucket: b\n  manifests:\n    - {name: m.json, dst: public/assets/.sprockets-manifest.json}\n" + role, "* * * * * true\n", "abc123\n",
			[]string{"entry: assets: manifest dst public/assets/.sprockets-manifest.json: Sprockets reads only .sprockets-manifest-<32 hex digits>.json, so it would never load this file; fetch it to public/assets/.sprockets-manifest-00000000000000000000000000000000.json (a fixed name that sorts first; see docs/assets.md)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"entry.yml": c.yml, "config/crontab": c.crontab}
			if c.revision != "" {
				files["REVISION"] = c.revision
			}
			writeFiles(t, dir, files)
			r := runEntry(t, dir, []string{"RAILS_ENV=production"}, "config", "check", "role=job")
			if c.want == nil {
				if r.code != 0 || !strings.HasPrefix(r.stdout, "config entry.yml: valid\n") || r.stderr != "" {
					t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			if r.code != exitUsage || strings.Contains(r.stdout, "valid") || r.stderr != strings.Join(c.want, "\n")+"\n" {
				t.Errorf("exit %d\nstdout: %s\nstderr:\n%s\nwant exit 2 and\n%s", r.code, r.stdout, r.stderr, strings.Join(c.want, "\n"))
			}
		})
	}
}
