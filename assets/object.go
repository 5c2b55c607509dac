package assets

import (
	"fmt"
	"path"
	"strings"
)

// An Object names one S3 object.
type Object struct {
	Bucket string
	Key    string
}

// String returns the object as an s3://BUCKET/KEY URL.
func (o Object) String() string { return "s3://" + o.Bucket + "/" + o.Key }

// ARN returns the object's IAM resource name, for messages about policies.
func (o Object) ARN() string { return "arn:aws:s3:::" + o.Bucket + "/" + o.Key }

// ParseURL parses an s3://BUCKET/KEY URL.
func ParseURL(s string) (Object, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Object{}, fmt.Errorf("%q is not an s3://BUCKET/KEY URL", s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return Object{}, fmt.Errorf("%q is not an s3://BUCKET/KEY URL (it needs a bucket and a key naming one object)", s)
	}
	return Object{Bucket: bucket, Key: key}, nil
}

// DefaultKey is the key template used when none is configured: below the
// prefix, one folder per environment, then one per commit.
const DefaultKey = "{env}/{sha}/{name}"

// A Layout says where manifests live: s3://Bucket/Prefix/Key, with {env},
// {sha} and {name} in Key replaced by the environment, the commit and the
// file name.
type Layout struct {
	Bucket string
	Prefix string
	Key    string // "" means DefaultKey
}

// Object returns the object holding manifest name for env and sha.
func (l Layout) Object(env, sha, name string) (Object, error) {
	if l.Bucket == "" {
		return Object{}, fmt.Errorf("no bucket (set assets.bucket in entry.yml or --bucket)")
	}
	tmpl := l.Key
	if tmpl == "" {
		tmpl = DefaultKey
	}
	if err := CheckName("name", name); err != nil {
		return Object{}, err
	}
	key, err := Expand(tmpl, env, sha)
	if err != nil {
		return Object{}, err
	}
	key = strings.ReplaceAll(key, "{name}", name)
	if p := strings.Trim(l.Prefix, "/"); p != "" {
		key = p + "/" + key
	}
	if key != path.Clean(key) || strings.HasPrefix(key, "/") {
		return Object{}, fmt.Errorf("key %q is not a clean path (check assets.prefix and assets.key)", key)
	}
	return Object{Bucket: l.Bucket, Key: key}, nil
}

// Expand replaces {env} and {sha} in s, which may also hold {name} (left
// alone). Any other {placeholder} is an error, so that a typo such as {rev}
// does not end up in a key.
func Expand(s, env, sha string) (string, error) {
	if err := checkPlaceholders(s); err != nil {
		return "", err
	}
	if strings.Contains(s, "{env}") {
		if err := CheckName("environment", env); err != nil {
			return "", err
		}
	}
	if strings.Contains(s, "{sha}") {
		if err := CheckName("revision", sha); err != nil {
			return "", err
		}
	}
	return strings.NewReplacer("{env}", env, "{sha}", sha).Replace(s), nil
}

func checkPlaceholders(s string) error {
	for rest := s; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q: unclosed '{' (the placeholders are {env}, {sha} and {name})", s)
		}
		switch p := rest[i : i+j+1]; p {
		case "{env}", "{sha}", "{name}":
		default:
			return fmt.Errorf("%q: unknown placeholder %s (the placeholders are {env}, {sha} and {name})", s, p)
		}
		rest = rest[i+j+1:]
	}
}

// CheckName reports whether v, the value of what (an environment, a
// revision, a file name), is safe as one segment of an S3 key: not empty,
// not . or .., and made of letters, digits, '.', '_' and '-'.
func CheckName(what, v string) error {
	if v == "" {
		return fmt.Errorf("no %s given", what)
	}
	if v == "." || v == ".." {
		return fmt.Errorf("%s %q is not a name", what, v)
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("%s %q: use only letters, digits, '.', '_' and '-'", what, v)
		}
	}
	return nil
}
