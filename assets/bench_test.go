package assets_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/entryhq/entry/assets"
)

// benchmarkFetch fetches a 200 KB manifest from MinIO on loopback, in
// process; bench/assets.sh measures the whole `entry assets fetch` process
// against `aws s3 cp`.
func benchmarkFetch(b *testing.B, cache bool) {
	s := server(b)
	c := client(b, s.Endpoint)
	ctx := context.Background()
	obj := assets.Object{Bucket: bucket, Key: "bench/production/0123abc/manifest.json"}
	src := filepath.Join(b.TempDir(), "manifest.json")
	body := manifest("production", "0123abc", 200<<10)
	writeFile(b, src, body)
	if _, err := c.Push(ctx, src, obj, assets.PushOptions{}); err != nil {
		b.Fatal(err)
	}
	items := []assets.Item{{Object: obj, Dst: filepath.Join(b.TempDir(), "manifest.json"), JSON: true}}
	if cache {
		// Put the manifest in place: every timed fetch is then a hit.
		if _, err := c.Fetch(ctx, items, assets.FetchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		got, err := c.Fetch(ctx, items, assets.FetchOptions{Cache: cache})
		if err != nil {
			b.Fatal(err)
		}
		if got[0].Cached != cache {
			b.Fatalf("cached = %v, want %v", got[0].Cached, cache)
		}
	}
}

func BenchmarkFetch200KB(b *testing.B)       { benchmarkFetch(b, false) }
func BenchmarkFetch200KBCached(b *testing.B) { benchmarkFetch(b, true) }
