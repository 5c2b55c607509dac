package render

import (
	"fmt"
)

// maxDepth bounds the nesting of parentheses, strings and operators, so
// that a hostile template cannot exhaust the stack.
const maxDepth = 100

// A parseError carries an *Error out of the recursive descent.
type parseError struct{ err *Error }

// A parser parses the Ruby inside one tag.
type parser struct {
	name, tmpl string   // the template's name and source, for errors
	seg        *segment // the tag being parsed
	s          string   // its Ruby source
	i          int      // the cursor in s
	depth      int
	scope      *scope // loop variables visible here
	nslots     *int   // slots allocated in the whole template
	each       *expr  // the .each parsed in this tag, if any
	eachNames  []string
	proc       string // &:name just parsed as the last argument
	// caseSubject is the value of a case whose whens follow in later
	// tags; caseWhen the values of its first when, when it stands in the
	// case's own tag.
	caseSubject *expr
	caseWhen    []*expr
	blocks      []*blockCtx // the { } blocks being parsed, innermost last
}

// A blockCtx is a { } block being parsed: where its parameters live, and
// for a block without |params|, how many of _1, _2 (or it) it uses.
type blockCtx struct {
	slot, nparams int
	explicit      bool
}

// A scope is a loop variable, linked to the enclosing ones.
type scope struct {
	name string
	slot int
	up   *scope
}

func (sc *scope) lookup(name string) (int, bool) {
	for ; sc != nil; sc = sc.up {
		if sc.name == name {
			return sc.slot, true
		}
	}
	return 0, false
}

// fail stops the parse with an error at offset off of the tag's source.
func (p *parser) fail(off int, format string, args ...any) {
	panic(parseError{errorAt(p.name, p.tmpl, p.seg.srcOffset(off), fmt.Sprintf(format, args...))})
}

// unsupported stops the parse with an "unsupported Ruby" error.
func (p *parser) unsupported(off int, what, hint string) {
	p.fail(off, "unsupported Ruby: %s (%s)", what, hint)
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) peekAt(k int) byte {
	if p.i+k < len(p.s) {
		return p.s[p.i+k]
	}
	return 0
}

// skipSpace skips blanks and backslash-newline continuations, but not a
// newline, which ends a Ruby expression.
func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			p.i++
		case c == '\\' && p.peekAt(1) == '\n':
			p.i += 2
		default:
			return
		}
	}
}

// skipSpaceNL skips blanks and newlines, where Ruby lets an expression go
// on (after an operator, an opening parenthesis, a comma).
func (p *parser) skipSpaceNL() {
	for {
		p.skipSpace()
		if p.peek() != '\n' {
			return
		}
		p.i++
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// word returns the identifier at the cursor without consuming it.
func (p *parser) word() string {
	j := p.i
	if j >= len(p.s) || !isIdentStart(p.s[j]) {
		return ""
	}
	for j < len(p.s) && isIdentChar(p.s[j]) {
		j++
	}
	return p.s[p.i:j]
}

// keyword consumes word w when it stands at the cursor as a whole word.
func (p *parser) keyword(w string) bool {
	if p.word() == w {
		p.i += len(w)
		return true
	}
	return false
}

func (p *parser) node(op opcode, start int, args ...*expr) *expr {
	return &expr{op: op, pos: p.seg.srcOffset(start), src: p.s[start:p.i], args: args}
}

func (p *parser) enter(off int) {
	p.depth++
	if p.depth > maxDepth {
		p.fail(off, "expression nested too deeply (more than %d levels)", maxDepth)
	}
}

// leave consumes closer, which ends the level enter began: at the end of
// the source the error is missing, reported at offset at; anything else
// there is unexpected.
func (p *parser) leave(closer byte, at int, missing string) {
	p.skipSpaceNL()
	if p.peek() != closer {
		if p.i == len(p.s) {
			p.fail(at, "%s", missing)
		}
		p.unexpected()
	}
	p.i++
	p.depth--
}

func (p *parser) recoverError(err *error) {
	if r := recover(); r != nil {
		pe, ok := r.(parseError)
		if !ok {
			panic(r)
		}
		*err = pe.err
	}
}

func isSpaceOrEnd(c byte) bool {
	return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
