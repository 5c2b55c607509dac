package supervise

import (
	"bytes"
	"io"
)

// An EntryLog writes entry's own lines outside a role's supervision: the
// start-up pipeline's events, hooks' output, the last error. It keeps them
// in the role's log format, so that with json every line entry writes is
// one JSON object.
type EntryLog struct {
	l *logger
}

// NewEntryLog writes events on stderr and hooks' output on stdout and
// stderr, for role (may be "").
func NewEntryLog(format LogFormat, role string, stdout, stderr io.Writer) *EntryLog {
	return &EntryLog{l: newLogger(format, role, stdout, stderr)}
}

// JSON reports whether lines are written as JSON objects.
func (e *EntryLog) JSON() bool { return e.l.format == LogJSON }

// Event writes one event line: "entry: message" in the plain formats.
func (e *EntryLog) Event(f Fields, format string, args ...any) {
	e.l.event(f, format, args...)
}

// Output returns writers for the stdout and stderr of a command that runs
// outside the supervisor (a hook), labelled with name as a process's lines
// are. Close writes an unterminated last line.
func (e *EntryLog) Output(name string) (stdout, stderr io.WriteCloser) {
	return e.l.lineWriter(name, "stdout"), e.l.lineWriter(name, "stderr")
}

// Write takes a stream's bytes as they come and writes its whole lines;
// the supervisor's own pipes use pump instead.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		w.emit(w.buf[:i+1], false)
		w.buf = w.buf[:copy(w.buf, w.buf[i+1:])]
	}
	for len(w.buf) > maxLine {
		w.emit(w.buf[:maxLine], true)
		w.buf = w.buf[:copy(w.buf, w.buf[maxLine:])]
	}
	return len(p), nil
}

// Close writes a last line without a newline, if any.
func (w *lineWriter) Close() error {
	if len(w.buf) > 0 {
		w.emit(w.buf, true)
	}
	w.buf = nil
	return nil
}
