package supervise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/entryhq/entry/internal/signame"
	"golang.org/x/sys/unix"
)

// A LogFormat is how processes' output lines and entry's own events are
// written.
type LogFormat int

const (
	// LogPrefix writes "name | line" (the default); a line that is a JSON
	// object gets "process" and "stream" fields instead, so that it stays
	// JSON for a log shipper.
	LogPrefix LogFormat = iota
	// LogRaw writes each line unchanged.
	LogRaw
	// LogJSON writes one JSON object a line with time, role, process,
	// stream and line, for awslogs and fluentd; a line that is a JSON
	// object is merged (entry's fields added to its own), not quoted.
	LogJSON
)

// ParseLogFormat accepts prefix, raw or json; "" means prefix.
func ParseLogFormat(s string) (LogFormat, error) {
	switch s {
	case "", "prefix":
		return LogPrefix, nil
	case "raw":
		return LogRaw, nil
	case "json":
		return LogJSON, nil
	}
	return 0, fmt.Errorf("log format %q: want prefix, raw or json", s)
}

// maxLine is the longest line kept whole. Lines up to it are written as one
// record however long they are (well past the 64 KiB of bufio.Scanner);
// a longer line is written in maxLine pieces so that one runaway process
// cannot exhaust memory.
const maxLine = 4 << 20

// readSize is the pipe read buffer; one read usually holds many lines, which
// are then written with one write.
const readSize = 256 << 10

// An output is one of entry's own output streams. Its mutex makes every
// record (a batch of whole lines) one uninterrupted write, so lines of two
// processes never mix.
type output struct {
	mu *sync.Mutex
	w  io.Writer
}

func (o *output) write(p []byte) {
	o.mu.Lock()
	o.w.Write(p) // a broken stdout must not stop the children: keep draining
	o.mu.Unlock()
}

// A logger formats and writes process output and entry's events.
type logger struct {
	format         LogFormat
	role           string
	stdout, stderr *output
}

// newLogger writes to stdout and stderr. When both are the same file (a
// container runtime may give one pipe for both), they share one lock so that
// records never interleave.
func newLogger(format LogFormat, role string, stdout, stderr io.Writer) *logger {
	growPipe(stdout)
	growPipe(stderr)
	outMu := &sync.Mutex{}
	errMu := outMu
	if !sameFile(stdout, stderr) {
		errMu = &sync.Mutex{}
	}
	return &logger{
		format: format,
		role:   role,
		stdout: &output{mu: outMu, w: stdout},
		stderr: &output{mu: errMu, w: stderr},
	}
}

// growPipe asks for a larger pipe when w is one (a container runtime's log
// pipe), so that a slow log reader stalls the processes less often. Best
// effort, like the processes' own pipes (see pipeSize).
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
			if size, _ := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); size < pipeSize {
				_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
			}
		}
	})
}

func sameFile(a, b io.Writer) bool {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return a == b
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	if err1 != nil || err2 != nil {
		return false
	}
	if os.SameFile(sa, sb) {
		return true
	}
	// Pipes have no SameFile identity through Stat on every platform; the
	// device and inode numbers still tell.
	ra, ok1 := sa.Sys().(*syscall.Stat_t)
	rb, ok2 := sb.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && ra.Dev == rb.Dev && ra.Ino == rb.Ino
}

// eventf writes one of entry's own event lines on stderr. process is ""
// for events of the role as a whole. Its event name is "note": events an
// alert or a metric may use are written with event.
func (l *logger) eventf(process, format string, args ...any) {
	l.event(Fields{Event: "note", Process: process}, format, args...)
}

// event writes one of entry's own event lines on stderr: the message alone
// ("entry: puma: exited with 3") in the plain formats, the message and f as
// fields in json format.
func (l *logger) event(f Fields, format string, args ...any) {
	l.stderr.write(l.appendEvent(nil, f, fmt.Sprintf(format, args...)))
}

// appendEvent appends one event line and its newline.
func (l *logger) appendEvent(b []byte, f Fields, msg string) []byte {
	if l.format != LogJSON {
		b = append(b, "entry: "...)
		if f.Process != "" {
			b = append(b, f.Process...)
			b = append(b, ": "...)
		}
		b = append(b, msg...)
		return append(b, '\n')
	}
	name := f.Process
	if name == "" {
		name = "entry"
	}
	b = l.appendFields(append(b, '{'), name, "entry", nil)
	b = f.appendJSON(b)
	b = append(b, `,"line":`...)
	b = appendJSONString(b, msg)
	return append(b, "}\n"...)
}

// A lineWriter turns one process stream into whole-line records.
type lineWriter struct {
	l      *logger
	out    *output
	name   string
	stream string // "stdout" or "stderr"
	prefix []byte // "name | " for LogPrefix
	buf    []byte // pending bytes: an incomplete last line
	rec    []byte // scratch for formatting records
}

func (l *logger) lineWriter(name, stream string) *lineWriter {
	out := l.stdout
	if stream == "stderr" {
		out = l.stderr
	}
	return &lineWriter{l: l, out: out, name: name, stream: stream, prefix: []byte(name + " | ")}
}

// pump copies r to the output line by line until r ends, then writes a
// last unterminated line, if any, with a newline added.
func (w *lineWriter) pump(r io.Reader) {
	w.buf = make([]byte, 0, readSize)
	for {
		if len(w.buf) == cap(w.buf) {
			if cap(w.buf) > maxLine {
				// A runaway line: write maxLine bytes as a piece of their
				// own. The byte kept back may be its newline, so that a
				// line of exactly maxLine bytes still comes out whole.
				w.emit(w.buf[:maxLine], true)
				w.buf = w.buf[:copy(w.buf, w.buf[maxLine:])]
			} else {
				// Grow for a long line, doubling up to exactly maxLine and
				// its newline: append's own growth would overshoot, and
				// maxLine is the documented size of a runaway line's
				// pieces.
				grown := make([]byte, len(w.buf), min(2*cap(w.buf), maxLine+1))
				copy(grown, w.buf)
				w.buf = grown
			}
		}
		n, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		if n > 0 {
			start := len(w.buf)
			w.buf = w.buf[:start+n]
			if i := bytes.LastIndexByte(w.buf[start:], '\n'); i >= 0 {
				end := start + i + 1
				w.emit(w.buf[:end], false)
				rest := copy(w.buf, w.buf[end:])
				w.buf = w.buf[:rest]
				if cap(w.buf) > readSize && rest < readSize {
					// A long line is done: give its memory back.
					w.buf = append(make([]byte, 0, readSize), w.buf...)
				}
			}
		}
		if err != nil {
			if len(w.buf) > 0 {
				w.emit(w.buf, true)
			}
			w.buf = nil
			return
		}
	}
}

// emit writes complete lines (p ends in '\n', unless partial is set: then p
// is one piece of a line and gets a newline).
func (w *lineWriter) emit(p []byte, partial bool) {
	if w.l.format == LogRaw {
		if partial {
			w.rec = append(append(w.rec[:0], p...), '\n')
			w.out.write(w.rec)
			return
		}
		w.out.write(p)
		return
	}
	rec := w.rec[:0]
	for len(p) > 0 {
		var line []byte
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			line, p = p, nil
		}
		if obj, ok := jsonObject(line); ok {
			rec = w.l.appendMerged(rec, w.name, w.stream, obj)
		} else if w.l.format == LogJSON {
			rec = w.l.appendJSON(rec, w.name, w.stream, line)
		} else {
			rec = append(rec, w.prefix...)
			rec = append(rec, line...)
			rec = append(rec, '\n')
		}
	}
	w.out.write(rec)
	if cap(rec) > 4*readSize {
		rec = nil // do not keep a long line's buffer
	}
	w.rec = rec
}

// appendJSON appends one JSON log record and a newline.
func (l *logger) appendJSON(b []byte, process, stream string, line []byte) []byte {
	b = l.appendFields(append(b, '{'), process, stream, nil)
	b = append(b, `,"line":`...)
	b = appendJSONString(b, line)
	return append(b, "}\n"...)
}

// appendFields appends entry's fields of a record, without braces: time
// and role in json format only, then process and stream. A field whose
// name is in skip is left out.
func (l *logger) appendFields(b []byte, process, stream string, skip map[string]bool) []byte {
	start := len(b)
	field := func(name string) bool {
		if skip[name] {
			return false
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		return true
	}
	if l.format == LogJSON {
		if field("time") {
			b = append(b, '"')
			b = time.Now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
			b = append(b, '"')
		}
		if field("role") {
			b = appendJSONString(b, l.role)
		}
	}
	if field("process") {
		b = appendJSONString(b, process)
	}
	if field("stream") {
		b = appendJSONString(b, stream)
	}
	return b
}

// jsonObject returns line without surrounding blanks when it is one JSON
// object (a lograge or structured-logger line).
func jsonObject(line []byte) ([]byte, bool) {
	t := bytes.TrimSpace(line)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' || !json.Valid(t) {
		return nil, false
	}
	return t, true
}

// appendMerged appends obj, a process's JSON object line, with entry's
// fields added in front of its own, so that a log shipper reads one object
// with every field at the top level. A field the object already has keeps
// the object's value: entry's is left out rather than written twice.
func (l *logger) appendMerged(b []byte, process, stream string, obj []byte) []byte {
	b = append(b, '{')
	mark := len(b)
	b = l.appendFields(b, process, stream, objectKeys(obj))
	rest := bytes.TrimSpace(obj[1:])
	if len(b) > mark && rest[0] != '}' {
		b = append(b, ',')
	}
	b = append(b, rest...)
	return append(b, '\n')
}

// entryFields are the names appendFields may write.
var entryFields = []string{"time", "role", "process", "stream"}

// objectKeys returns which of entryFields are top-level keys of obj, a
// valid JSON object; nil when none can be (the usual case, found without
// decoding).
func objectKeys(obj []byte) map[string]bool {
	maybe := false
	for _, f := range entryFields {
		if bytes.Contains(obj, []byte(`"`+f+`"`)) {
			maybe = true
		}
	}
	if !maybe {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	keys := map[string]bool{}
	for _, f := range entryFields {
		if _, ok := m[f]; ok {
			keys[f] = true
		}
	}
	return keys
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does; unlike encoding/json, <, > and & are kept
// as they are, because log lines are not embedded in HTML.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// describe says how a process ended, for event lines.
func describe(st ExitStatus) string {
	if st.Signal != 0 {
		return "killed by " + signame.String(st.Signal) + " (exit code " + strconv.Itoa(st.Code) + ")"
	}
	return "exited with " + strconv.Itoa(st.Code)
}
