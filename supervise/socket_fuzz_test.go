package supervise

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeRequest feeds the control socket's request reader arbitrary
// bytes, as a hostile client could send them. It must never panic; what it
// accepts must survive a round trip as the client would send it again, and
// respect the limits (a line of at most MaxRequest bytes, no negative
// timeout). The seeds run as an ordinary test.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"cmd":"status"}` + "\n",
		`{"cmd":"health","timeout":4000000000}` + "\n",
		`{"cmd":"signal","name":"sidekiq","signal":"TSTP"}`,
		`{"cmd":"stop","name":"puma","extra":[1,2,{"a":null}]}` + "\n",
		`{"cmd":"health","timeout":-1}` + "\n",
		`{"cmd":"health","timeout":1e400}` + "\n",
		`{"cmd":"health","timeout":"1s"}` + "\n",
		`{"cmd":"status"} {"cmd":"stop","name":"app"}` + "\n",
		`{"cmd":"stop","name":"a\u0000b\nc"}` + "\n",
		"\xff\xfe{}\n",
		"{nope\n",
		"\n",
		"",
		strings.Repeat("[", 10000) + "\n",
		`{"cmd":"status","name":"` + strings.Repeat("a", MaxRequest) + `"}` + "\n",
		`{"cmd":"status"}` + "\ntrailing garbage after the line",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := readRequest(bufio.NewReaderSize(bytes.NewReader(data), MaxRequest))
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if err != nil {
			if req != (Request{}) {
				t.Fatalf("%q: error %v with a request %+v", data, err, req)
			}
			if len(line) >= MaxRequest && err != errTooLong {
				t.Fatalf("%q: a %d-byte line: error %v, want %v", data, len(line), err, errTooLong)
			}
			return
		}
		if len(line) >= MaxRequest {
			t.Fatalf("a %d-byte line was accepted", len(line))
		}
		if req.Timeout < 0 {
			t.Fatalf("%q: negative timeout %s accepted", data, req.Timeout)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRequest(append(again, '\n'))
		if err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("%q: round trip of %+v gave %+v, %v", data, req, back, err)
		}
	})
}
