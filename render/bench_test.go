package render

import (
	"io"
	"os"
	"path/filepath"
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
