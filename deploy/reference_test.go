package deploy

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// referenceSeeds are references Docker accepts and refuses, for each rule
// of the grammar.
var referenceSeeds = []string{
	"ubuntu", "ubuntu:22.04", "library/ubuntu", "docker.io/library/ubuntu:latest", "index.docker.io/app:1",
	"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1e9", "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
	"localhost/app:1", "localhost:5000/app:1", "host:5000/app", "[::1]:5000/app:1", "[fe80::1]/app", "127.0.0.1:5000/a/b/c:t",
	"ghcr.io/o/app@sha256:" + strings.Repeat("a", 64), "app:tag@sha256:" + strings.Repeat("0", 64),
	"app@sha256:" + strings.Repeat("a", 63), "app@sha256:" + strings.Repeat("A", 64), "app@sha384:" + strings.Repeat("b", 96),
	"app@sha512:" + strings.Repeat("c", 128), "app@md5:" + strings.Repeat("d", 32), "app@sha256:", "app@:abc",
	"app@Sha256:" + strings.Repeat("a", 64), "app@sha256+b64:" + strings.Repeat("a", 64),
	strings.Repeat("a", 64), strings.Repeat("a", 63), "my app:tag", "Repo/App:tag", "REPO/app:1", "repo/App", "Host.io/app",
	"app:", "app:" + strings.Repeat("t", 128), "app:" + strings.Repeat("t", 129), "app:-x", "app:.x", "app:_x", "a__b", "a___b",
	"a--b", "a-", "-a", "a.b", "a..b", "a/", "/a", "a//b", "", ":", "@", "a:b:c", "a@b", "host:port/app", "ho_st.io/app",
	"x.io/" + strings.Repeat("a", 250), "x.io/" + strings.Repeat("a", 256), strings.Repeat("a/", 127) + "a",
	"ex-ample.com/a", "-example.com/a", "example-.com/a", "a.b.c.d:1/e_f.g-h/i", "app:t@sha256:" + strings.Repeat("a", 64) + "x",
	"LOCALHOST/app", "localhost/App", "ünï/app", "app:tä", "a\n", "a b", "a\x00",
}

// parseReference says what distribution/reference says, word for word.
func TestReferenceMatchesDistribution(t *testing.T) {
	for _, ref := range referenceSeeds {
		checkAgainstDistribution(t, ref)
	}
}

func FuzzReference(f *testing.F) {
	for _, ref := range referenceSeeds {
		f.Add(ref)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if len(ref) > 1000 {
			return
		}
		checkAgainstDistribution(t, ref)
	})
}

func checkAgainstDistribution(t *testing.T, ref string) {
	t.Helper()
	_, want := reference.ParseNormalizedNamed(ref)
	got := parseReference(ref)
	if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
		t.Errorf("%q: parseReference = %v, distribution/reference = %v", ref, got, want)
	}
}
