package assets

import (
	"path"
	"strings"
	"testing"
)

func TestLayoutObject(t *testing.T) {
	cases := []struct {
		layout         Layout
		env, sha, name string
		want, err      string
	}{
		{Layout{Bucket: "b", Prefix: "p"}, "production", "abc123", "manifest.json", "s3://b/p/production/abc123/manifest.json", ""},
		{Layout{Bucket: "b", Prefix: "/deep/prefix/"}, "staging", "abc", "m.json", "s3://b/deep/prefix/staging/abc/m.json", ""},
		{Layout{Bucket: "b"}, "production", "abc", "m.json", "s3://b/production/abc/m.json", ""},
		{Layout{Bucket: "b", Key: "{sha}-{env}-{name}"}, "production", "abc", "m.json", "s3://b/abc-production-m.json", ""},
		{Layout{Bucket: "b", Key: "{env}/{rev}/{name}"}, "production", "abc", "m.json", "", `"{env}/{rev}/{name}": unknown placeholder {rev} (the placeholders are {env}, {sha} and {name})`},
		{Layout{Bucket: "b", Key: "{env/{name}"}, "production", "abc", "m.json", "", `"{env/{name}": unknown placeholder {env/{name} (the placeholders are {env}, {sha} and {name})`},
		{Layout{Bucket: "b", Key: "{env}/x{"}, "production", "abc", "m.json", "", `"{env}/x{": unclosed '{' (the placeholders are {env}, {sha} and {name})`},
		{Layout{Bucket: "b"}, "", "abc", "m.json", "", "no environment given"},
		{Layout{Bucket: "b"}, "production", "", "m.json", "", "no revision given"},
		{Layout{Bucket: "b"}, "prod/../x", "abc", "m.json", "", `environment "prod/../x": use only letters, digits, '.', '_' and '-'`},
		{Layout{Bucket: "b"}, "production", "..", "m.json", "", `revision ".." is not a name`},
		{Layout{Bucket: "b"}, "production", "abc", "a/b.json", "", `name "a/b.json": use only letters, digits, '.', '_' and '-'`},
		{Layout{Bucket: "b", Prefix: "a//b"}, "production", "abc", "m.json", "", `key "a//b/production/abc/m.json" is not a clean path (check assets.prefix and assets.key)`},
		{Layout{}, "production", "abc", "m.json", "", "no bucket (set assets.bucket in entry.yml or --bucket)"},
	}
	for _, tc := range cases {
		obj, err := tc.layout.Object(tc.env, tc.sha, tc.name)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%+v: err = %v, want %s", tc.layout, err, tc.err)
			}
		case err != nil:
			t.Errorf("%+v: %v", tc.layout, err)
		case obj.String() != tc.want:
			t.Errorf("%+v: %s, want %s", tc.layout, obj, tc.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://b/k":           "b|k",
		"s3://b/p/q/r.json":  "b|p/q/r.json",
		"s3://b/":            "",
		"s3://b":             "",
		"s3:///k":            "",
		"https://b/k":        "",
		"s3://b/dir/":        "",
		"b/k":                "",
		"s3://bucket/a b.js": "bucket|a b.js",
	} {
		obj, err := ParseURL(in)
		got := ""
		if err == nil {
			got = obj.Bucket + "|" + obj.Key
		}
		if got != want {
			t.Errorf("ParseURL(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

func TestContentType(t *testing.T) {
	for file, want := range map[string]string{
		"manifest.json":                   "application/json",
		"a/.sprockets-manifest-0123.json": "application/json",
		"x.unknown-ext":                   "application/octet-stream",
		"no-extension":                    "application/octet-stream",
	} {
		if got := contentTypeOf(file); got != want {
			t.Errorf("contentTypeOf(%q) = %q, want %q", file, got, want)
		}
	}
}

// FuzzParseURL checks that a parsed URL prints back to its input.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b/k", "s3://b/p/q.json", "s3://b/", "s3://", "x", "s3://b//k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		obj, err := ParseURL(s)
		if err != nil {
			return
		}
		if obj.String() != s || obj.Bucket == "" || obj.Key == "" || strings.Contains(obj.Bucket, "/") {
			t.Fatalf("ParseURL(%q) = %+v", s, obj)
		}
	})
}

// FuzzLayoutObject checks that any key the template parser accepts is a
// clean path below the prefix that ends in the name.
func FuzzLayoutObject(f *testing.F) {
	f.Add("p", "{env}/{sha}/{name}", "production", "abc123", "manifest.json")
	f.Add("", "{sha}{env}{name}", "a", "b", "c")
	f.Add("x/", "{env}/{{sha}}/{name}", "a", "b", "c")
	f.Add("x", "{unknown}", "a", "b", "c")
	f.Add("x", "{", "..", ".", "/")
	f.Fuzz(func(t *testing.T, prefix, key, env, sha, name string) {
		obj, err := Layout{Bucket: "b", Prefix: prefix, Key: key}.Object(env, sha, name)
		if err != nil {
			return
		}
		if obj.Key != path.Clean(obj.Key) || strings.HasPrefix(obj.Key, "/") || strings.Contains("/"+obj.Key+"/", "/../") {
			t.Fatalf("unclean key %q", obj.Key)
		}
		if p := strings.Trim(prefix, "/"); p != "" && !strings.HasPrefix(obj.Key, p+"/") {
			t.Fatalf("key %q is not below prefix %q", obj.Key, p)
		}
		if strings.Contains(key, "{name}") && !strings.Contains(obj.Key, name) {
			t.Fatalf("key %q lost the name %q", obj.Key, name)
		}
	})
}
