package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Docker's image reference grammar, as documented by
// github.com/distribution/reference (the package Docker parses references
// with), and that package's ParseNormalizedNamed errors, word for word:
//
//	reference       := name [ ":" tag ] [ "@" digest ]
//	name            := [domain '/'] remote-name
//	domain          := host [':' port-number]
//	host            := domain-name | IPv4address | \[ IPv6address \]
//	domain-name     := domain-component ['.' domain-component]*
//	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	remote-name     := path-component ['/' path-component]*
//	path-component  := alpha-numeric [separator alpha-numeric]*
//	alpha-numeric   := /[a-z0-9]+/
//	separator       := /[_.]|__|[-]+/
//	tag             := /[\w][\w.-]{0,127}/
//	digest          := algorithm ":" hex (sha256: 64, sha384: 96, sha512: 128 lower-case hex digits)
//
// entry checks references itself rather than importing that package: its
// package initialisers compile a dozen regular expressions (400 KB of heap,
// ~700 KiB of private memory in every entry process, an idle supervisor
// included; bench/idle-memory.sh). Here they are compiled on first use, by
// a deploy only. TestReferenceMatchesDistribution checks the two agree.
type refGrammar struct {
	reference, name, identifier, digest *regexp.Regexp
}

var refGrammarOnce = sync.OnceValue(func() refGrammar {
	const (
		alphanumeric    = `[a-z0-9]+`
		separator       = `(?:[._]|__|[-]+)`
		domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		tag             = `[\w][\w.-]{0,127}`
		digest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`
		domainName      = domainComponent + `(?:\.` + domainComponent + `)*`
		host            = `(?:` + domainName + `|\[(?:[a-fA-F0-9:]+)\])`
		domain          = host + `(?::[0-9]+)?`
		pathComponent   = alphanumeric + `(?:` + separator + alphanumeric + `)*`
		remoteName      = pathComponent + `(?:/` + pathComponent + `)*`
		name            = `(?:` + domain + `/)?` + remoteName
	)
	return refGrammar{
		reference:  regexp.MustCompile(`^(` + name + `)(?::(` + tag + `))?(?:@(` + digest + `))?$`),
		name:       regexp.MustCompile(`^(?:(` + domain + `)/)?(` + remoteName + `)$`),
		identifier: regexp.MustCompile(`^([a-f0-9]{64})$`),
		digest:     regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`),
	}
})

// parseReference returns why Docker would refuse ref as an image
// reference, nil when it accepts it (reference.ParseNormalizedNamed).
func parseReference(ref string) error {
	g := refGrammarOnce()
	if g.identifier.MatchString(ref) {
		return fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", ref)
	}
	domain, rest := splitDockerDomain(ref)
	remote := rest
	if i := strings.IndexRune(rest, ':'); i > -1 {
		remote = rest[:i]
	}
	if strings.ToLower(remote) != remote {
		return fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", remote)
	}
	full := domain + "/" + rest
	m := g.reference.FindStringSubmatch(full)
	if m == nil {
		if g.reference.MatchString(strings.ToLower(full)) {
			return errors.New("repository name must be lowercase")
		}
		return errors.New("invalid reference format")
	}
	path := m[1]
	if n := g.name.FindStringSubmatch(m[1]); len(n) == 3 {
		path = n[2]
	}
	if len(path) > 255 {
		return errors.New("repository name must not be more than 255 characters")
	}
	if m[3] != "" {
		return checkDigest(g, m[3])
	}
	return nil
}

// splitDockerDomain splits a name into its registry and the rest, with
// Docker Hub's defaults ("ubuntu" is docker.io/library/ubuntu).
func splitDockerDomain(name string) (domain, rest string) {
	first, after, ok := strings.Cut(name, "/")
	switch {
	case !ok:
		return "docker.io", "library/" + name
	case first == "index.docker.io":
		domain, rest = "docker.io", after
	case first == "localhost", strings.ContainsAny(first, ".:"), strings.ToLower(first) != first:
		domain, rest = first, after
	default:
		domain, rest = "docker.io", name
	}
	if domain == "docker.io" && !strings.ContainsRune(rest, '/') {
		rest = "library/" + rest
	}
	return domain, rest
}

// checkDigest checks ALGORITHM:HEX as the OCI digest package does.
func checkDigest(g refGrammar, d string) error {
	i := strings.Index(d, ":")
	if i <= 0 || i+1 == len(d) {
		return errors.New("invalid checksum digest format")
	}
	size := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[d[:i]]
	hex := d[i+1:]
	switch {
	case size == 0 && !g.digest.MatchString(d):
		return errors.New("invalid checksum digest format")
	case size == 0:
		return errors.New("unsupported digest algorithm")
	case len(hex) != size:
		return errors.New("invalid checksum digest length")
	case strings.Trim(hex, "0123456789abcdef") != "":
		return errors.New("invalid checksum digest format")
	}
	return nil
}
