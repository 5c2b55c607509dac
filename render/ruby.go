package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds Ruby's String semantics for the methods entry supports,
// each checked byte for byte against Ruby by the conformance tests.

// stringToI is Ruby's String#to_i: leading whitespace, an optional sign, an
// optional 0d prefix, digits with single underscores between them; it
// stops at the first other character. The result is canonical decimal.
func stringToI(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'd' || s[i+1] == 'D') {
		i += 2
	}
	var digits []byte
	for i < len(s) {
		c := s[i]
		if isDigit(c) {
			digits = append(digits, c)
			i++
			continue
		}
		if c == '_' && len(digits) > 0 && i+1 < len(s) && isDigit(s[i+1]) {
			i++
			continue
		}
		break
	}
	n := strings.TrimLeft(string(digits), "0")
	if n == "" {
		return "0"
	}
	if neg {
		return "-" + n
	}
	return n
}

// isRubySpace is the whitespace String#strip removes: NUL, \t \n \v \f \r
// and space.
func isRubySpace(c byte) bool { return c == 0 || c == ' ' || c >= '\t' && c <= '\r' }

// strip is Ruby's String#strip.
func strip(s string) string {
	i, j := 0, len(s)
	for i < j && isRubySpace(s[i]) {
		i++
	}
	for j > i && isRubySpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// splitAwk is Ruby's String#split with no argument or " ": split on runs
// of ASCII whitespace, ignoring leading and trailing whitespace.
func splitAwk(s string) []value {
	var out []value
	for i := 0; i < len(s); {
		for i < len(s) && isAwkSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isAwkSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, strValue(s[i:j]))
		}
		i = j
	}
	return out
}

func isAwkSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' || c == 0 }

// splitString is Ruby's String#split(sep) for a string separator: trailing
// empty fields are dropped; "" splits into characters; " " splits like awk.
func splitString(s, sep string) []value {
	var out []value
	switch sep {
	case " ":
		return splitAwk(s)
	case "":
		for len(s) > 0 {
			_, n := utf8.DecodeRuneInString(s)
			out = append(out, strValue(s[:n]))
			s = s[n:]
		}
		return out
	}
	for {
		i := strings.Index(s, sep)
		if i < 0 {
			out = append(out, strValue(s))
			break
		}
		out = append(out, strValue(s[:i]))
		s = s[i+len(sep):]
	}
	for len(out) > 0 && out[len(out)-1].s == "" {
		out = out[:len(out)-1]
	}
	return out
}

// blankString is ActiveSupport's String#blank?: empty or only Unicode
// whitespace (/\A[[:space:]]*\z/).
func blankString(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// upcase and downcase are Ruby's full Unicode case mappings for the
// characters config values contain; Unicode's special cases other than
// ß and İ map one character to one.
func upcase(s string) string {
	return mapCase(s, strings.ToUpper, unicode.ToUpper, 'ß', "SS")
}

func downcase(s string) string {
	return mapCase(s, strings.ToLower, unicode.ToLower, 'İ', "i\u0307")
}

// mapCase maps s with ascii when it is ASCII, else rune by rune with each,
// writing special as expansion (the one multi-character mapping kept).
func mapCase(s string, ascii func(string) string, each func(rune) rune, special rune, expansion string) string {
	if isASCII(s) {
		return ascii(s)
	}
	var b strings.Builder
	for _, r := range s {
		if r == special {
			b.WriteString(expansion)
			continue
		}
		b.WriteRune(each(r))
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// inspectString is Ruby's String#inspect for a UTF-8 string under a UTF-8
// locale.
func inspectString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		// A run of printable ASCII that needs no escape is written as it is.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\' && s[j] != '#' {
			j++
		}
		if j > i {
			b.WriteString(s[i:j])
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '#' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '$' || s[i+1] == '@'):
			b.WriteString(`\#`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\v':
			b.WriteString(`\v`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\a':
			b.WriteString(`\a`)
		case c == 0x1b:
			b.WriteString(`\e`)
		case !rubyPrintable(r):
			h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
			if r > 0xFFFF {
				b.WriteString(`\u{` + h + `}`)
			} else {
				b.WriteString(`\u` + strings.Repeat("0", 4-len(h)) + h)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}

// rubyPrintable approximates Onigmo's [[:print:]] for Unicode: everything
// but controls, line and paragraph separators, surrogates and unassigned
// code points.
func rubyPrintable(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r), r == 0x2028, r == 0x2029, unicode.Is(unicode.Cs, r):
		return false
	case r < 0x80:
		return true
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf, unicode.Co)
}

// toJSON is Ruby's to_json (json 2.x, as `require "json"` gives it). It
// names the problem, as Ruby's JSON raises it, with a string that is not
// valid UTF-8 or values nested deeper than maxDepth. A result past
// maxOutput is cut short; the caller refuses it.
func toJSON(v value) (string, string) {
	var b strings.Builder
	problem := jsonTo(&b, v, 0)
	return b.String(), problem
}

const (
	jsonBadUTF8 = "source sequence is illegal/malformed utf-8"
	jsonTooLong = "too long" // the caller says the cap
)

// jsonLen is the length of s as a JSON string.
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n += 2
		case c < 0x20:
			n += 6
		default:
			n++
		}
	}
	return n
}

func jsonTo(b *strings.Builder, v value, depth int) string {
	if (v.k == kArr || v.k == kHash) && depth >= maxDepth {
		return fmt.Sprintf("nesting of %d is too deep", depth)
	}
	switch v.k {
	case kNil:
		b.WriteString("null")
	case kDuration: // as_json is to_i
		b.WriteString(strings.SplitN(durationValue(v).toS(), ".", 2)[0])
	case kStr, kSym, kPath, kRange:
		if len(v.s) > (maxOutput-b.Len())/6 && b.Len()+jsonLen(v.s) > maxOutput {
			return jsonTooLong // refused before it is made
		}
		if !jsonString(b, v.s) {
			return jsonBadUTF8
		}
	case kArr:
		b.WriteByte('[')
		for i, e := range v.a {
			if b.Len() > maxOutput {
				return "" // shared elements can make it exponential: cut, the caller refuses it
			}
			if i > 0 {
				b.WriteByte(',')
			}
			if p := jsonTo(b, e, depth+1); p != "" {
				return p
			}
		}
		b.WriteByte(']')
	case kHash:
		b.WriteByte('{')
		for i, k := range v.h.keys {
			if b.Len() > maxOutput {
				return ""
			}
			if i > 0 {
				b.WriteByte(',')
			}
			if !jsonString(b, k.toS()) {
				return jsonBadUTF8
			}
			b.WriteByte(':')
			if p := jsonTo(b, v.h.vals[i], depth+1); p != "" {
				return p
			}
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.toS())
	}
	return ""
}

func jsonString(b *strings.Builder, s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if b.Len() > maxOutput {
			return true // cut: the caller refuses it
		}
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return true
}
