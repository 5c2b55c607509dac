package render

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseWordList parses %w[a b] (Strings) or %i[a b] (Symbols), with any
// of Ruby's bracket pairs or another punctuation character as delimiter.
func (p *parser) parseWordList() *expr {
	start := p.i
	k := kStr
	if p.peekAt(1) == 'i' || p.peekAt(1) == 'I' {
		k = kSym
	}
	if p.peekAt(1) == 'W' || p.peekAt(1) == 'I' {
		p.unsupported(p.i, "%"+string(p.peekAt(1))+"[...]", "use %w[...] or %i[...], or an array of strings")
	}
	p.i += 2
	open := p.peek()
	close := map[byte]byte{'[': ']', '(': ')', '{': '}', '<': '>'}[open]
	if close == 0 {
		if open == 0 || isIdentChar(open) || open == ' ' || open == '\n' {
			p.fail(start, "unterminated list meets end of tag (write %%w[a b])")
		}
		close = open
	}
	p.i++
	var words []value
	var b strings.Builder
	inWord := false
	nest := 0
	for {
		if p.i >= len(p.s) {
			p.fail(start, "unterminated %%w list")
		}
		c := p.s[p.i]
		switch {
		case c == close && nest == 0:
			if inWord {
				words = append(words, value{k: k, s: b.String()})
			}
			p.i++
			x := &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i], val: value{k: kArr, a: words}}
			if words == nil {
				x.val.a = []value{}
			}
			return x
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			if inWord {
				words = append(words, value{k: k, s: b.String()})
				b.Reset()
				inWord = false
			}
			p.i++
			continue
		case c == '\\' && p.i+1 < len(p.s):
			// \ followed by a delimiter, a blank or a backslash is that
			// character; otherwise the backslash stays.
			d := p.s[p.i+1]
			if d == close || d == open || d == '\\' || d == ' ' || d == '\t' || d == '\n' {
				b.WriteByte(d)
				p.i += 2
				inWord = true
				continue
			}
		case c == open && close != open:
			nest++
		case c == close:
			nest--
		}
		b.WriteByte(c)
		inWord = true
		p.i++
	}
}

// wordAt returns the identifier starting at offset j.
func (p *parser) wordAt(j int) string {
	save := p.i
	p.i = j
	w := p.word()
	p.i = save
	return w
}

// parseInt parses an integer literal such as 5, -1 or 10_000.
func (p *parser) parseInt() *expr {
	start := p.i
	var b strings.Builder
	if p.peek() == '-' {
		b.WriteByte('-')
		p.i++
	}
	if p.peek() == '0' && (isIdentChar(p.peekAt(1))) {
		switch p.peekAt(1) {
		case 'x', 'X', 'b', 'B', 'o', 'O', 'd', 'D':
			p.unsupported(start, "prefixed integer literal", "write the number in decimal")
		}
		if isDigit(p.peekAt(1)) || p.peekAt(1) == '_' {
			p.unsupported(start, "integer with a leading 0", "Ruby reads it as octal; write it in decimal, or quote it")
		}
	}
	for {
		c := p.peek()
		if isDigit(c) {
			b.WriteByte(c)
			p.i++
			continue
		}
		if c == '_' {
			if !isDigit(p.peekAt(1)) {
				p.fail(p.i, "trailing _ in a number")
			}
			p.i++
			continue
		}
		break
	}
	isFloat := false
	if p.peek() == '.' && isDigit(p.peekAt(1)) {
		isFloat = true
		b.WriteByte('.')
		p.i++
		for isDigit(p.peek()) || p.peek() == '_' && isDigit(p.peekAt(1)) {
			if p.peek() != '_' {
				b.WriteByte(p.peek())
			}
			p.i++
		}
	}
	if (p.peek() == 'e' || p.peek() == 'E') && (isDigit(p.peekAt(1)) || (p.peekAt(1) == '-' || p.peekAt(1) == '+') && isDigit(p.peekAt(2))) {
		isFloat = true
		b.WriteByte('e')
		p.i++
		if p.peek() == '-' || p.peek() == '+' {
			b.WriteByte(p.peek())
			p.i++
		}
		for isDigit(p.peek()) {
			b.WriteByte(p.peek())
			p.i++
		}
	}
	if isIdentChar(p.peek()) {
		p.fail(p.i, "unexpected %q after a number", p.peek())
	}
	if isFloat {
		f, _ := strconv.ParseFloat(b.String(), 64)
		return &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i], val: value{k: kFloat, f: f}}
	}
	return &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i], val: value{k: kInt, s: canonicalInt(b.String())}}
}

// canonicalInt drops leading zeros and the sign of zero: "-007" -> "-7".
func canonicalInt(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
	if s == "" {
		return "0"
	}
	if neg {
		return "-" + s
	}
	return s
}

func (p *parser) parseSingleQuoted() *expr {
	start := p.i
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			p.unterminated(start)
		}
		c := p.s[p.i]
		switch {
		case c == '\'':
			p.i++
			p.refuseAdjacentString()
			return &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i], val: value{k: kStr, s: b.String()}}
		case c == '\\' && (p.peekAt(1) == '\\' || p.peekAt(1) == '\''):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
}

// refuseAdjacentString refuses a string literal right after the one just
// read ("a" "b", which Ruby joins), leaving the cursor where it is.
func (p *parser) refuseAdjacentString() {
	save := p.i
	p.skipSpace()
	if p.peek() == '"' || p.peek() == '\'' {
		p.unsupported(p.i, "adjacent string literals", "write one string")
	}
	p.i = save
}

func (p *parser) unterminated(start int) {
	if strings.Contains(p.tmpl[p.seg.srcOffset(len(p.s)):min(len(p.tmpl), p.seg.srcOffset(len(p.s))+3)], "%>") {
		p.fail(start, "unterminated string (a %%> inside a string ends the tag; write %%%%>)")
	}
	p.fail(start, "unterminated string")
}

// parseDoubleQuoted parses "..." with Ruby's escapes and #{...}.
func (p *parser) parseDoubleQuoted() *expr { return p.interpolated(p.i, '"', '"') }

// interpolated parses a string with Ruby's escapes and #{...} whose
// opening delimiter open is at the cursor: "...", `...`, %x(...). A
// bracket pair nests, as in Ruby: %x(echo (a)).
func (p *parser) interpolated(start int, open, close byte) *expr {
	p.i++
	nest := 0
	var parts []*expr
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, &expr{op: opLit, val: value{k: kStr, s: b.String()}})
			b.Reset()
		}
	}
	for {
		if p.i >= len(p.s) {
			p.unterminated(start)
		}
		c := p.s[p.i]
		switch {
		case c == open && open != close:
			nest++
			b.WriteByte(c)
			p.i++
		case c == close && nest > 0:
			nest--
			b.WriteByte(c)
			p.i++
		case c == close:
			p.i++
			flush()
			x := &expr{op: opStr, pos: p.seg.srcOffset(start), src: p.s[start:p.i], args: parts}
			p.refuseAdjacentString()
			switch {
			case len(parts) == 0:
				return &expr{op: opLit, pos: x.pos, src: x.src, val: value{k: kStr}}
			case len(parts) == 1 && parts[0].op == opLit && parts[0].val.k == kStr:
				parts[0].pos, parts[0].src = x.pos, x.src
				return parts[0]
			}
			return x
		case c == '\\':
			p.escape(&b)
		case c == '#':
			switch p.peekAt(1) {
			case '{':
				flush()
				brace := p.i
				p.i += 2
				p.skipSpaceNL()
				if p.peek() == '}' {
					p.i++
					continue
				}
				x := p.parseStatement()
				p.skipSpaceNL()
				if p.peek() != '}' {
					if p.i >= len(p.s) {
						p.fail(brace, "missing } of #{")
					}
					p.unexpected()
				}
				p.i++
				parts = append(parts, x)
				continue
			case '@', '$':
				if n := p.peekAt(2); isIdentStart(n) || p.peekAt(1) == '$' && n != 0 && strings.IndexByte(" \t\n\"\\", n) < 0 {
					p.unsupported(p.i, "#"+string(p.peekAt(1))+" interpolation", "escape the # as \\#, or use #{...}")
				}
			}
			b.WriteByte(c)
			p.i++
		default:
			b.WriteByte(c)
			p.i++
		}
	}
}

// escape reads a backslash escape of a double-quoted string into b.
func (p *parser) escape(b *strings.Builder) {
	at := p.i
	p.i++
	if p.i >= len(p.s) {
		p.unterminated(at)
	}
	c := p.s[p.i]
	p.i++
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'e':
		b.WriteByte(0x1b)
	case 's':
		b.WriteByte(' ')
	case '\n':
		// a line continuation: nothing
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n := int(c - '0')
		for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			n = n*8 + int(p.s[p.i]-'0')
			p.i++
		}
		b.WriteByte(byte(n))
	case 'x':
		n, k := 0, 0
		for ; k < 2 && p.i < len(p.s) && isHex(p.s[p.i]); k++ {
			n = n*16 + hexVal(p.s[p.i])
			p.i++
		}
		if k == 0 {
			p.fail(at, "invalid hex escape")
		}
		b.WriteByte(byte(n))
	case 'u':
		if p.peek() == '{' {
			p.i++
			for {
				for p.peek() == ' ' || p.peek() == '\t' {
					p.i++
				}
				if p.peek() == '}' {
					p.i++
					break
				}
				n, k := 0, 0
				for ; p.i < len(p.s) && isHex(p.s[p.i]); k++ {
					n = n*16 + hexVal(p.s[p.i])
					p.i++
				}
				if k == 0 || k > 6 {
					p.fail(at, "invalid Unicode escape")
				}
				p.writeCodepoint(b, at, n)
			}
			return
		}
		n := 0
		for k := 0; k < 4; k++ {
			if p.i >= len(p.s) || !isHex(p.s[p.i]) {
				p.fail(at, "invalid Unicode escape (\\u needs 4 hex digits)")
			}
			n = n*16 + hexVal(p.s[p.i])
			p.i++
		}
		p.writeCodepoint(b, at, n)
	case 'c', 'C', 'M':
		p.unsupported(at, "control/meta escape \\"+string(c), "write the character itself or use \\x")
	default:
		// Any other escaped character stands for itself: \" \\ \# \q.
		b.WriteByte(c)
	}
}

func (p *parser) writeCodepoint(b *strings.Builder, at, n int) {
	if n > utf8.MaxRune || n >= 0xD800 && n <= 0xDFFF {
		p.fail(at, "invalid Unicode codepoint")
	}
	b.WriteRune(rune(n))
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// parseHash parses a Hash literal: { "k" => v, sym: v, "sym": v }.
func (p *parser) parseHash() *expr {
	start := p.i
	p.enter(start)
	p.i++
	var args []*expr
	for {
		p.skipSpaceNL()
		if p.peek() == '}' {
			break
		}
		var key *expr
		keyAt := p.i
		if w := p.word(); w != "" && p.peekAt(len(w)) == ':' && p.peekAt(len(w)+1) != ':' {
			p.i += len(w) + 1
			key = &expr{op: opLit, pos: p.seg.srcOffset(keyAt), src: w, val: value{k: kSym, s: w}}
		} else {
			key = p.parseExpr()
			p.skipSpace()
			switch {
			case p.peek() == ':' && p.peekAt(1) != ':' && (p.s[keyAt] == '"' || p.s[keyAt] == '\'') && key.op == opLit:
				p.i++
				key = &expr{op: opLit, pos: key.pos, src: key.src, val: value{k: kSym, s: key.val.s}}
			case p.peek() == '=' && p.peekAt(1) == '>':
				p.i += 2
			default:
				if p.i == len(p.s) {
					p.fail(start, "missing } of the Hash")
				}
				p.fail(p.i, "expected => after a Hash key")
			}
		}
		p.skipSpaceNL()
		args = append(args, key, p.parseExpr())
		p.skipSpaceNL()
		if p.peek() == ',' {
			p.i++
			continue
		}
		if p.peek() != '}' {
			if p.i == len(p.s) {
				p.fail(start, "missing } of the Hash")
			}
			p.unexpected()
		}
	}
	p.i++
	p.depth--
	return p.node(opHash, start, args...)
}
