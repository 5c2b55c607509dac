package render

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkDatabaseYML renders the corpus's 2 KB database.yml template
// (production with two replicas) in-process. Target: ≤ 20 µs.
func BenchmarkDatabaseYML(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpusDir, "database.yml.erb"))
	if err != nil {
		b.Fatal(err)
	}
	vars := map[string]string{
		"RAILS_ENV": "production", "DB_HOST": "primary.db.internal", "DB_NAME": "app", "DB_USER": "app",
		"DB_PASSWORD": "s3cr3t", "DB_POOL": "20", "DB_REPLICA_HOSTS": "replica-1.db.internal, replica-2.db.internal",
	}
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	tmpl, err := Parse("database.yml.erb", src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if err := tmpl.Execute(io.Discard, env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseDatabaseYML measures Parse of the same template, which
// the start-up pipeline pays once per template.
func BenchmarkParseDatabaseYML(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpusDir, "database.yml.erb"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("database.yml.erb", src); err != nil {
			b.Fatal(err)
		}
	}
}

// bigTemplate is mb MiB of the shape the issue reported: an output tag of
// ENV["X"] on each line, between lines of plain text.
func bigTemplate(mb int) []byte {
	const unit = "<%= ENV[\"X\"] %>\nplain: text, as in a long YAML list\n"
	return bytes.Repeat([]byte(unit), mb<<20/len(unit))
}

// benchmarkBig parses and renders src; B/op against the template's size
// is the memory factor (target: under 5x), ns/op the time (target: well
// under a second for 50 MB).
func benchmarkBig(b *testing.B, src []byte) {
	env := func(k string) (string, bool) { return "value-of-x", k == "X" }
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		tmpl, err := Parse("big.erb", src)
		if err != nil {
			b.Fatal(err)
		}
		if err := tmpl.Execute(io.Discard, env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBig10MB(b *testing.B) { benchmarkBig(b, bigTemplate(10)) }
func BenchmarkBig50MB(b *testing.B) { benchmarkBig(b, bigTemplate(50)) }

// BenchmarkBigText is 50 MB of plain text without a tag.
func BenchmarkBigText(b *testing.B) {
	benchmarkBig(b, bytes.Repeat([]byte("plain: text, as in a long YAML list\n"), 50<<20/36))
}

// BenchmarkOrChain is one tag of 200,000 chained ||.
func BenchmarkOrChain(b *testing.B) {
	benchmarkBig(b, []byte("<%= "+strings.Repeat("ENV['A'] || ", 200_000)+"ENV['X'] %>"))
}
