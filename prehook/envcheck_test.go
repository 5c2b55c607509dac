package prehook

import (
	"strings"
	"testing"
)

// Lines an env file must not carry into the environment are refused with
// the file and line, never the value; a BOM is read past, as in entry.yml.
func TestEnvFileRefusesWhatNoProcessCanGet(t *testing.T) {
	const secret = "s3cr3tvalue"
	big := strings.Repeat("x", 900<<10)
	for _, tc := range []struct{ data, want string }{
		{"A=1\n=" + secret + "\n", "env file F:2: no variable name before = (write NAME=value)"},
		{"A=1\nTOKEN=" + secret + "\x00x\n", `env file F:2: TOKEN holds a NUL byte, which no environment variable can (remove it)`},
		{"A=1\n# comment\nTOKEN=" + secret + "\xff\xfe\n", "env file F:3: bytes that are not UTF-8 (entry passes values on unchanged and will not guess: save the file as UTF-8)"},
		{"A=1\nexport BIG=" + big + "\n", "env file F:2: BIG is 921604 bytes long; Linux passes at most 131071 bytes to a program as one variable (NAME=value), so no process could start: put the value in a file and pass its path"},
	} {
		_, err := parseEnvFile("F", []byte(tc.data))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%.40q:\n got %v\nwant %s", tc.data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the value: %v", err)
		}
	}
	vars, err := parseEnvFile("F", []byte("\xEF\xBB\xBFA=1\nB=é\n"))
	if err != nil || vars["A"] != "1" || vars["B"] != "é" || len(vars) != 2 {
		t.Errorf("BOM: %q %v", vars, err)
	}
	if vars, err := parseEnvFile("F", []byte("MAX="+strings.Repeat("y", maxEnvEntry-4)+"\n")); err != nil || len(vars["MAX"]) != maxEnvEntry-4 {
		t.Errorf("a variable at the limit: %v", err)
	}
}
