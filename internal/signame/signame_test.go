package signame

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"TERM": 15, "SIGTERM": 15, "term": 15, " QUIT ": 3, "USR1": 10, "9": 9, "64": 64} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SIGFOO", "0", "65", "1x", "+9"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
}

func TestString(t *testing.T) {
	if got := String(syscall.SIGTERM); got != "SIGTERM" {
		t.Errorf("String(SIGTERM) = %q", got)
	}
	if got := String(syscall.Signal(40)); got != "signal 40" {
		t.Errorf("String(40) = %q", got)
	}
}
