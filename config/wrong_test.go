package config

import (
	"strings"
	"testing"
)

// TestAcceptedThoughWrong: what yaml.v3 or a loose check used to accept
// and then ignore, truncate or forward is refused with the line and the
// fix.
func TestAcceptedThoughWrong(t *testing.T) {
	const web = "roles:\n  web:\n"
	long := strings.Repeat("a", 1100)
	for _, tc := range []struct{ name, src, want string }{
		{"second document", web + "    a: x\n---\nhooks: [x]\n", "entry.yml:4: a second YAML document (---): entry reads one, so its keys would be ignored; merge it into the first and remove the ---"},
		{"empty role name", "roles:\n  \"\":\n    a: x\n", `entry.yml:2: role name "": want 1 to 63 letters, digits, _, . or -, starting with a letter or digit`},
		{"newline in a process name", web + "    \"a\\nentry: role web stopped, exit code 0\": x\n", `entry.yml:3: roles.web: process name "a\nentry: role web stopped, exit code 0": want 1 to 63 letters, digits, _, . or -, starting with a letter or digit`},
		{"NUL in a process name", web + "    \"a\\0b\": x\n", `entry.yml:3: roles.web: process name "a\x00b": want 1 to 63 letters, digits, _, . or -, starting with a letter or digit`},
		{"ESC in a role name", "roles:\n  \"w\\eb\":\n    a: x\n", `entry.yml:2: role name "w\x1bb": want 1 to 63 letters, digits, _, . or -, starting with a letter or digit`},
		{"64-character name", web + "    " + strings.Repeat("p", 64) + ": x\n", `entry.yml:3: roles.web: process name "pppppppppppppppppppppppppppppppppppppppp...": want 1 to 63 letters, digits, _, . or -, starting with a letter or digit`},
		{"name over YAML's key limit", web + "    " + long + ": x\n", "entry.yml:3: a key of 1100 characters: YAML allows at most 1024 (role and process names are at most 63)"},
		{"max_restarts 1.5", web + "    a: {command: x, max_restarts: 1.5}\n", `entry.yml:3: roles.web.a.max_restarts: want a whole number, got "1.5"`},
		{"ready: 5", web + "    a: {command: x, ready: 5}\n", "entry.yml:3: roles.web.a.ready: want a command (a string or a list of strings), got 5 (quote it if 5 is the command)"},
		{"command: true", web + "    a: {command: true}\n", "entry.yml:3: roles.web.a.command: want a command (a string or a list of strings), got true (quote it if true is the command)"},
		{"env key empty", web + "    a: {command: x, env: {\"\": y}}\n", `entry.yml:3: roles.web.a: env: "" is not a variable name (no = or NUL, not empty; write NAME: value)`},
		{"env key with =", web + "    a: {command: x, env: {\"A=B\": x}}\n", `entry.yml:3: roles.web.a: env: "A=B" is not a variable name (no = or NUL, not empty; write NAME: value)`},
	} {
		_, err := Parse("entry.yml", []byte(tc.src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
	// The documented character set is accepted.
	if _, err := Parse("entry.yml", []byte(web+"    Sidekiq_1.low-prio: x\n    "+strings.Repeat("p", 63)+": x\n")); err != nil {
		t.Errorf("valid names: %v", err)
	}
	// An argument list may hold numbers: they are arguments.
	if f, err := Parse("entry.yml", []byte(web+"    a: {command: [sleep, 5], ready: [test, -e, 1]}\n")); err != nil || f.Roles[0].Processes[0].Command.Argv[1] != "5" {
		t.Errorf("argv with numbers: %v", err)
	}
}

// TestEnvFileRequiredByDefault: an env_files entry is required unless it
// says required: false, in both forms (issue 24).
func TestEnvFileRequiredByDefault(t *testing.T) {
	f, err := Parse("entry.yml", []byte("env_files: [.env.base, {path: .env.prod}, {path: .env.local, required: false}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvFile{{".env.base", true}, {".env.prod", true}, {".env.local", false}}
	if len(f.EnvFiles) != len(want) {
		t.Fatalf("env_files = %+v", f.EnvFiles)
	}
	for i, e := range want {
		if f.EnvFiles[i] != e {
			t.Errorf("env_files[%d] = %+v, want %+v", i, f.EnvFiles[i], e)
		}
	}
}
