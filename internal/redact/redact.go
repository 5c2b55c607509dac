// Package redact hides the passwords of URLs before they are printed: a
// ready: check, a command line or a log line may carry one
// (redis://:pw@host:6379, http://user:pw@127.0.0.1:3000/up), and what entry
// prints reaches the container's log.
package redact

import (
	"net/url"
	"regexp"
	"sync"
)

// Mask is what a password is replaced with, as url.URL.Redacted writes it.
const Mask = "xxxxx"

// URL returns s, a URL, with its password masked. In a string that does
// not parse as a URL, everything between user: and the last @ of the
// authority is masked.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return wholeUserinfo().ReplaceAllString(s, "${1}"+Mask+"@")
	}
	if u.User == nil {
		return s
	}
	return u.Redacted()
}

// wholeUserinfo is userinfo for a string that is one URL: the password may
// hold anything but the path's /.
// The patterns are compiled on first use: most entry processes never
// print a URL, and a compiled pattern is heap every process would keep.
var wholeUserinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*://[^/?#:@]*:)[^/?#]*@`)
})

// userinfo matches the user:password@ part of a URL in free text. The
// password runs to the last @ before the path, as url.Parse reads it, so a
// password holding an unescaped @ is masked whole.
var userinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/\s?#:@"']*:)[^/\s?#"']*@`)
})

// Text masks the password of every scheme://user:password@ in s: a command
// line, an error message.
func Text(s string) string {
	return userinfo().ReplaceAllString(s, "${1}"+Mask+"@")
}
