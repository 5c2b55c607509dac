package supervise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// chunkReader returns data in the given chunk sizes, as a pipe would.
type chunkReader struct {
	data  []byte
	sizes []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = int(r.sizes[0]) + 1
		r.sizes = r.sizes[1:]
	}
	n = min(n, len(r.data), len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// FuzzLineWriter: whatever the input and however it is split into reads,
// the prefixed output is the input's lines, each whole and prefixed, with a
// newline added to an unterminated last line.
func FuzzLineWriter(f *testing.F) {
	f.Add([]byte("one\ntwo\n"), []byte{0, 3})
	f.Add([]byte("no newline"), []byte{})
	f.Add([]byte("\n\n\nx"), []byte{1})
	f.Add([]byte(strings.Repeat("long", 40000)+"\nshort\n"), []byte{200, 255})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		for _, line := range bytes.Split(data, []byte("\n")) {
			if _, ok := jsonObject(line); ok {
				t.Skip("a JSON object line is merged, not prefixed: FuzzMergeJSONLine")
			}
		}
		for _, format := range []LogFormat{LogPrefix, LogRaw, LogJSON} {
			var out bytes.Buffer
			l := newLogger(format, "r", &out, io.Discard)
			l.lineWriter("p", "stdout").pump(&chunkReader{data: data, sizes: sizes})
			want := string(data)
			if len(data) > 0 && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			var got string
			switch format {
			case LogRaw:
				got = out.String()
			case LogPrefix:
				for _, line := range strings.SplitAfter(out.String(), "\n") {
					if line == "" {
						continue
					}
					rest, ok := strings.CutPrefix(line, "p | ")
					if !ok {
						t.Fatalf("line without prefix: %q", line)
					}
					got += rest
				}
			case LogJSON:
				for _, line := range strings.SplitAfter(out.String(), "\n") {
					if line == "" {
						continue
					}
					var rec struct{ Line, Process, Stream string }
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("not JSON: %q: %v", line, err)
					}
					got += rec.Line + "\n"
				}
				// Invalid UTF-8 is replaced as encoding/json does.
				var std string
				for _, line := range strings.SplitAfter(want, "\n") {
					if line == "" {
						continue
					}
					b, _ := json.Marshal(strings.TrimSuffix(line, "\n"))
					var back string
					json.Unmarshal(b, &back)
					std += back + "\n"
				}
				want = std
			}
			if got != want {
				t.Fatalf("format %d: got %q, want %q", format, got, want)
			}
		}
	})
}

// FuzzAppendJSONString: the hand-written escaper agrees with encoding/json
// on every string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t", "\x00\x1f\x7f", "<&>", "\u2028\u2029", "bad \xff utf8", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: not JSON: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && !(utf8.ValidString(s) && back == s) {
			// encoding/json replaces each invalid byte, ToValidUTF8 each run.
			std, _ := json.Marshal(s)
			var stdBack string
			json.Unmarshal(std, &stdBack)
			if back != stdBack {
				t.Fatalf("%q: decoded %q, encoding/json gives %q", s, back, stdBack)
			}
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 42 42 0 -1 4194560 ..."))
	f.Add([]byte("7 (a) b) c) Z 3 7"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pid, ppid, state, ok := parseStat(data)
		if ok && (pid < 0 && ppid < 0 && state == 0) {
			t.Fatalf("nonsense accepted: %q", data)
		}
	})
}

func TestParseStat(t *testing.T) {
	pid, ppid, state, ok := parseStat([]byte("1234 (my (odd) name) Z 1 1234 1234 0 -1"))
	if !ok || pid != 1234 || ppid != 1 || state != 'Z' {
		t.Fatalf("got %d %d %c %v", pid, ppid, state, ok)
	}
	if _, _, _, ok := parseStat([]byte("garbage")); ok {
		t.Fatal("garbage accepted")
	}
}

func TestLogFormatParse(t *testing.T) {
	for s, want := range map[string]LogFormat{"": LogPrefix, "prefix": LogPrefix, "raw": LogRaw, "json": LogJSON} {
		if got, err := ParseLogFormat(s); err != nil || got != want {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	if _, err := ParseLogFormat("xml"); err == nil || !strings.Contains(err.Error(), "want prefix, raw or json") {
		t.Errorf("xml: %v", err)
	}
	if _, err := ParseRestart("sometimes"); err == nil {
		t.Error("restart sometimes accepted")
	}
}

func BenchmarkLineWriterPrefix(b *testing.B) {
	line := strings.Repeat("x", 99) + "\n"
	data := []byte(strings.Repeat(line, 1000))
	l := newLogger(LogPrefix, "r", io.Discard, io.Discard)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		l.lineWriter("puma", "stdout").pump(&chunkReader{data: data, sizes: nil})
	}
}

func BenchmarkEmitPrefix(b *testing.B) {
	line := strings.Repeat("x", 99) + "\n"
	data := []byte(strings.Repeat(line, 640))
	l := newLogger(LogPrefix, "r", io.Discard, io.Discard)
	w := l.lineWriter("w1", "stdout")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w.emit(data, false)
	}
}

func TestLongLineCap(t *testing.T) {
	// docs/supervise.md: lines up to 4 MiB come out whole; a longer line
	// is written in 4 MiB pieces, whatever the reads' sizes.
	const mib4 = 4 << 20
	cases := []struct {
		name string
		data string
		want []int // lengths of the output lines
	}{
		{"exactly the cap", strings.Repeat("a", mib4) + "\n", []int{mib4}},
		{"one over, no newline", strings.Repeat("b", mib4+1), []int{mib4, 1}},
		{"two pieces and a rest, then a short line", strings.Repeat("c", 2*mib4+5) + "\nshort\n", []int{mib4, mib4, 5, 5}},
	}
	for _, c := range cases {
		for _, chunk := range []int{4096, 65536, 1 << 20} {
			var out bytes.Buffer
			newLogger(LogRaw, "r", &out, io.Discard).lineWriter("p", "stdout").pump(&fixedReader{data: []byte(c.data), n: chunk})
			var got []int
			for _, line := range strings.SplitAfter(out.String(), "\n") {
				if line != "" {
					got = append(got, len(line)-1)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s, reads of %d: line lengths %v, want %v", c.name, chunk, got, c.want)
			}
		}
	}
}

// fixedReader returns data in reads of at most n bytes.
type fixedReader struct {
	data []byte
	n    int
}

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}
