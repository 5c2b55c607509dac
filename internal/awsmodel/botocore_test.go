package awsmodel

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// shippedModels are the trimmed models the fakes check traffic against.
func shippedModels(t *testing.T) map[string]*Model {
	t.Helper()
	files, err := filepath.Glob("../../deploy/ecsfake/testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no trimmed models in deploy/ecsfake/testdata: %v", err)
	}
	out := map[string]*Model{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = m
	}
	return out
}

// TestShippedModelsTrim: every shipped model loads and trims to each of
// its operations, keeping the shapes that operation reaches.
func TestShippedModelsTrim(t *testing.T) {
	for f, m := range shippedModels(t) {
		for op := range m.Operations {
			tm, err := m.Trim(op)
			if err != nil {
				t.Errorf("%s: Trim(%s): %v", f, op, err)
				continue
			}
			o := tm.Operations[op]
			if len(tm.Operations) != 1 || (o.Input != nil && tm.Shapes[o.Input.Shape] == nil) || (o.Output != nil && tm.Shapes[o.Output.Shape] == nil) {
				t.Errorf("%s: Trim(%s) lost the operation's shapes", f, op)
			}
		}
	}
}

// botocoreData finds the API models of the installed AWS CLI the way the
// CLI itself does: by asking the Python that runs it where botocore is.
// It never guesses at one machine's paths.
func botocoreData(t *testing.T) (dir, version string) {
	t.Helper()
	aws, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("ENTRY_TEST_STRICT") != "" {
			t.Fatalf("the AWS CLI is not installed (scripts/test installs Debian's awscli): %v", err)
		}
		t.Skipf("the AWS CLI is not installed: %v", err)
	}
	// A pyenv shim is a shell script; pyenv names the real program.
	if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
		aws = strings.TrimSpace(string(out))
	}
	interp := "python3"
	if f, err := os.Open(aws); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "#!"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 && strings.HasSuffix(fields[0], "/env") && len(fields) > 1 {
				fields = fields[1:]
			}
			if len(fields) > 0 && strings.Contains(filepath.Base(fields[0]), "python") {
				interp = fields[0]
			}
		}
	}
	const ask = `import os
try:
    import botocore
except ImportError:
    from awscli import botocore
print(botocore.__version__)
print(os.path.join(os.path.dirname(botocore.__file__), "data"))`
	out, err := exec.Command(interp, "-c", ask).CombinedOutput()
	if err != nil {
		t.Fatalf("asking %s (the AWS CLI's Python, from %s) where botocore is: %v\n%s", interp, aws, err, out)
	}
	version, dir, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("botocore's data directory: %v", err)
	}
	return dir, version
}

// trimmedFrom is the botocore version the shipped copies were trimmed from
// (go run ./internal/awsmodel/trimmodel); keep it in step when regenerating.
const trimmedFrom = "1.43.11"

// atLeast compares dotted version numbers.
func atLeast(version, than string) bool {
	a, b := strings.Split(version, "."), strings.Split(than, ".")
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}

// findModel returns the CLI's model of the service and API version m
// describes.
func findModel(t *testing.T, data string, m *Model) *Model {
	t.Helper()
	candidates, _ := filepath.Glob(filepath.Join(data, "*", m.Metadata.APIVersion, "service-2.json*"))
	for _, c := range candidates {
		raw, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) && !bytes.Contains(raw, []byte(m.Metadata.ServiceID)) {
			continue
		}
		real, err := Load(raw)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if real.Metadata.ServiceID == m.Metadata.ServiceID {
			return real
		}
	}
	t.Fatalf("the AWS CLI has no model of %s %s under %s", m.Metadata.ServiceID, m.Metadata.APIVersion, data)
	return nil
}

// TestTrimmedModelsMatchBotocore checks the shipped copies against the
// models of the installed AWS CLI: a copy cannot invent an operation, a
// shape, a member or a binding, nor omit a member the real API requires.
// Shapes, members and enum values the CLI's model lacks are failures when
// the CLI's botocore is at least as new as the copies' (trimmedFrom), and
// only logged as version skew when it is older (Debian's awscli is).
func TestTrimmedModelsMatchBotocore(t *testing.T) {
	data, version := botocoreData(t)
	skew := t.Errorf
	if !atLeast(version, trimmedFrom) {
		t.Logf("the AWS CLI's botocore %s is older than the copies' %s: what only the copies know is logged, not failed", version, trimmedFrom)
		skew = t.Logf
	}
	for f, m := range shippedModels(t) {
		real := findModel(t, data, m)
		name := filepath.Base(f)
		if real.Metadata.Protocol != m.Metadata.Protocol || real.Metadata.TargetPrefix != m.Metadata.TargetPrefix {
			t.Errorf("%s: protocol %s/%s, the CLI's model says %s/%s", name, m.Metadata.Protocol, m.Metadata.TargetPrefix, real.Metadata.Protocol, real.Metadata.TargetPrefix)
		}
		for op, o := range m.Operations {
			ro, ok := real.Operations[op]
			if !ok {
				t.Errorf("%s: operation %s is not in the CLI's model", name, op)
				continue
			}
			if o.HTTP.Method != ro.HTTP.Method || o.HTTP.RequestURI != ro.HTTP.RequestURI {
				t.Errorf("%s: %s is %s %s, the CLI's model says %s %s", name, op, o.HTTP.Method, o.HTTP.RequestURI, ro.HTTP.Method, ro.HTTP.RequestURI)
			}
			if (o.Input == nil) != (ro.Input == nil) || (o.Output == nil) != (ro.Output == nil) {
				t.Errorf("%s: %s's input or output differs from the CLI's model", name, op)
			}
		}
		for sn, s := range m.Shapes {
			rs, ok := real.Shapes[sn]
			if !ok {
				skew("%s: shape %s is not in the CLI's model", name, sn)
				continue
			}
			if s.Type != rs.Type {
				t.Errorf("%s: shape %s is a %s, the CLI's model says %s", name, sn, s.Type, rs.Type)
			}
			for mn, r := range s.Members {
				rr, ok := rs.Members[mn]
				if !ok {
					skew("%s: %s.%s is not in the CLI's model", name, sn, mn)
					continue
				}
				if r.Shape != rr.Shape || r.Location != rr.Location || r.LocationName != rr.LocationName {
					t.Errorf("%s: %s.%s is %+v, the CLI's model says %+v", name, sn, mn, *r, *rr)
				}
			}
			for _, req := range rs.Required {
				if !slices.Contains(s.Required, req) {
					t.Errorf("%s: the real API requires %s.%s; the copy does not", name, sn, req)
				}
			}
			for _, v := range s.Enum {
				if !slices.Contains(rs.Enum, v) {
					skew("%s: enum %s has %q, the CLI's model does not", name, sn, v)
				}
			}
			for _, v := range rs.Enum {
				if !slices.Contains(s.Enum, v) {
					t.Logf("%s: enum %s lacks %q (the CLI's model is newer than the copy)", name, sn, v)
				}
			}
		}
	}
}
