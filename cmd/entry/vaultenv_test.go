package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The one precedence rule for variables (docs/config.md, "Where a variable
// comes from"): the real environment (the task definition's) wins over a
// vault with env: true, which wins over .env files. An operator can still
// override one secret through the task definition in an emergency.
func TestVaultEnvPrecedence(t *testing.T) {
	f := newSecretsFixture(t)
	writeFiles(t, f.dir, map[string]string{
		"config/app.env": "DATABASE_URL=postgres://vault/app\nSECRET_KEY_BASE=from-vault\nREDIS_URL=redis://vault\n",
		".env":           "DATABASE_URL=postgres://localhost/dev\nREDIS_URL=redis://localhost\nDOTENV_ONLY=dotenv\n",
		"entry.yml":      "secrets:\n  vaults:\n    - {src: config/app.env.enc, env: true}\n",
	})
	if r := runEntry(t, f.dir, f.env, "secrets", "encrypt", "config/app.env", "-o", "config/app.env.enc", "-r", f.pub); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if err := os.Remove(filepath.Join(f.dir, "config/app.env")); err != nil {
		t.Fatal(err)
	}
	env := append(slices.Clone(f.env), "ENTRY_AGE_KEY="+keyOnly(f.key), "SECRET_KEY_BASE=from-task-definition")
	r := runEntry(t, f.dir, env, "--", "/bin/sh", "-c", `echo "$DATABASE_URL $SECRET_KEY_BASE $REDIS_URL $DOTENV_ONLY"`)
	want := "postgres://vault/app from-task-definition redis://vault dotenv\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d, stdout %q, want %q\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	wantLog := "entry: secrets: config/app.env.enc -> environment (DATABASE_URL, REDIS_URL; SECRET_KEY_BASE kept from the real environment): 3 values, key from ENTRY_AGE_KEY\n"
	if !strings.Contains(r.stderr, wantLog) {
		t.Errorf("stderr:\n%s\nwant the line\n%s", r.stderr, wantLog)
	}
	r = runEntry(t, f.dir, env, "config", "check", "--", "true")
	wantPlan := "decrypt config/app.env.enc -> environment: DATABASE_URL, SECRET_KEY_BASE, REDIS_URL (SECRET_KEY_BASE: the real environment's value wins)"
	if r.code != 0 || !strings.Contains(r.stdout, wantPlan) {
		t.Errorf("config check: exit %d\n%s%s\nwant the line %q", r.code, r.stdout, r.stderr, wantPlan)
	}
}
