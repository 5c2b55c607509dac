package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExecute renders templates under environments that come from the
// fuzzer too: vars is "NAME=value" lines (a value may be empty, odd or
// binary; a line without = is a name that is unset). Its seeds are every
// corpus case with its environment, and run as an ordinary test. It checks
// that nothing panics or hangs (inputs are bounded; rendering is bounded
// by the loop limits), that every error is an *Error at a place in the
// template and leaves nothing written, that rendering twice gives the
// same bytes, and that strict mode either renders what lax mode does or
// fails where lax mode renders.
func FuzzExecute(f *testing.F) {
	runNoCommands(f)
	paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.erb"))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(strings.TrimSuffix(p, ".erb") + ".env.json")
		if err != nil {
			f.Fatal(err)
		}
		var envs map[string]map[string]string
		if err := json.Unmarshal(data, &envs); err != nil {
			f.Fatal(err)
		}
		for _, vars := range envs {
			var b strings.Builder
			for k, v := range vars {
				b.WriteString(k + "=" + strings.ReplaceAll(v, "\n", " ") + "\n")
			}
			f.Add(src, b.String())
		}
	}
	f.Add([]byte(`<% ENV["L"].to_s.split(",").each do |a| %><% ENV["L"].to_s.split(",").each do |b| %><%= a %><%= b %><% end %><% end %>`), "L=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z")
	f.Add([]byte(`<%= Integer(ENV["N"]) * Integer(ENV["N"]) %>`), "N=99999999999999999999")
	f.Add([]byte(`<%= ENV["S"] * ENV.fetch("N", "3").to_i %>`), "S=ab\nN=1000000000")
	for _, s := range deepSeeds() {
		f.Add([]byte(s), "A=a")
	}
	// The edges of issue 22 §4: %c, big Integer arguments, JSON.parse's
	// Unicode, the string cap, values nested past the depth limit.
	for _, n := range []string{"-1", "-2", "-3", "55296", "1114112", "2147483648", "99999999999999999999", "x"} {
		f.Add([]byte(`<%= format("%3c|%-2c", Integer(ENV["N"]), ENV["N"].to_i) %><%= "abc"[Integer(ENV["N"])] %><%= [1, 2].first(Integer(ENV["N"]).abs) %>`), "N="+n)
		f.Add([]byte(`<%= "x" * Integer(ENV["N"]) %><%= "x".ljust(Integer(ENV["N"]), "é") %><%= [1] * Integer(ENV["N"]) %><%= (Integer(ENV["N"])..Integer(ENV["N"]) + 2).to_a %><%= [1, 2].fetch(Integer(ENV["N"]), 0) %>`), "N="+n)
	}
	for _, j := range []string{`"\ud800"`, `"\udc00x"`, `["\ud83d\ude00"]`, "\"\xff\"", `{"a": [1, 2.5, null]}`} {
		f.Add([]byte(`<%= JSON.parse(ENV["J"]).inspect %>`), "J="+j)
	}
	f.Add([]byte(`<%= (("%9999d" * 110) % ([1] * 110)).size %>`), "")
	f.Add([]byte(`<% a = [] %><% b = [] %><% 10050.times do |i| %><% a = [a] %><% b = [b] %><% end %><%= a.flatten.size %><%= [a].include?(b) %>`), "")
	f.Add([]byte(`<% a = [] %><% 10050.times do |i| %><% a = [a] %><% end %><%= a %>`), "")
	f.Fuzz(func(t *testing.T, src []byte, vars string) {
		if len(src) > 16<<10 || len(vars) > 4<<10 {
			return // bounded: the fuzzer looks for wrong answers, not slow big ones (see the Big benchmarks)
		}
		env := map[string]string{}
		for _, line := range strings.Split(vars, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		tmpl, err := Parse("f.erb", src)
		if err != nil {
			checkError(t, err, src)
			return
		}
		var lax, again, strict bytes.Buffer
		laxErr := tmpl.Execute(&lax, lookup, Options{})
		if laxErr != nil {
			checkError(t, laxErr, src)
			if lax.Len() > 0 {
				t.Fatalf("failed render wrote %d bytes", lax.Len())
			}
		}
		againErr := tmpl.Execute(&again, lookup, Options{})
		if (laxErr == nil) != (againErr == nil) || !bytes.Equal(lax.Bytes(), again.Bytes()) {
			t.Fatalf("two renders differ: %q, %v and %q, %v", lax.Bytes(), laxErr, again.Bytes(), againErr)
		}
		strictErr := tmpl.Execute(&strict, lookup, Options{Strict: true})
		switch {
		case strictErr != nil:
			checkError(t, strictErr, src)
			if strict.Len() > 0 {
				t.Fatalf("failed strict render wrote %d bytes", strict.Len())
			}
		case laxErr != nil:
			t.Fatalf("strict renders %q where lax fails: %v", strict.Bytes(), laxErr)
		case !bytes.Equal(strict.Bytes(), lax.Bytes()):
			t.Fatalf("strict renders %q, lax %q", strict.Bytes(), lax.Bytes())
		}
	})
}
