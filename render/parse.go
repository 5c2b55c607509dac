package render

import (
	"fmt"
	"strings"
)

// maxNesting bounds how deep an expression nests, and how many blocks
// (if, unless, case, .each) a template opens at once. Parsing descends one
// level of Go's stack for each parenthesis, string, block and assignment,
// and the parsed expression is a tree that rendering walks recursively, so
// every link of a left-leaning chain (a + b + c, x.to_s.to_s, x if a if b)
// counts as a level too: a hostile template is refused with its place
// instead of exhausting the stack. The deepest corpus template needs 11;
// Ruby's own parser stops at 10,000 ("nesting too deep").
const maxNesting = 1000

// maxDepth bounds the nesting of to_json's values and of JSON.parse's
// input, as Ruby's JSON does (max_nesting 100); see maxValueDepth for the
// other walks.
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
	scope      *scopes // the variables visible here
	nslots     *int    // slots allocated in the whole template
	each       *expr   // the .each parsed in this tag, if any
	eachNames  []string
	proc       string // &:name just parsed as the last argument
	cmdAt      int    // where a command call may begin (see parseStatement)
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

// scopes are the local, loop and block variables visible where the
// parser is: for each name the slots of its bindings, innermost last. A
// block or loop that ends undoes its bindings (pop), so a lookup costs the
// same however many variables a template has.
type scopes struct {
	slots map[string][]int
	names []string // the bindings, in the order made
	ids   []int    // ids[k] identifies the scope of the first k+1 bindings
	next  int      // the id of the next binding's scope
}

func newScopes() *scopes { return &scopes{slots: make(map[string][]int), next: 1} }

// mark returns the state that pop returns to.
func (sc *scopes) mark() int { return len(sc.names) }

// push binds name to slot, hiding any binding of the same name.
func (sc *scopes) push(name string, slot int) {
	sc.slots[name] = append(sc.slots[name], slot)
	sc.names = append(sc.names, name)
	sc.ids = append(sc.ids, sc.next)
	sc.next++
}

// pop undoes the bindings made since mark.
func (sc *scopes) pop(mark int) {
	for len(sc.names) > mark {
		name := sc.names[len(sc.names)-1]
		sc.names = sc.names[:len(sc.names)-1]
		sc.ids = sc.ids[:len(sc.ids)-1]
		if s := sc.slots[name]; len(s) > 1 {
			sc.slots[name] = s[:len(s)-1]
		} else {
			delete(sc.slots, name)
		}
	}
}

func (sc *scopes) lookup(name string) (int, bool) {
	s := sc.slots[name]
	if len(s) == 0 {
		return 0, false
	}
	return s[len(s)-1], true
}

// id identifies the bindings visible now: the same id, the same bindings.
func (sc *scopes) id() int {
	if len(sc.ids) == 0 {
		return 0
	}
	return sc.ids[len(sc.ids)-1]
}

// fail stops the parse with an error at offset off of the tag's source.
func (p *parser) fail(off int, format string, args ...any) {
	panic(parseError{errorAt(p.name, p.tmpl, p.seg.srcOffset(off), fmt.Sprintf(format, args...))})
}

// unsupported stops the parse with an "unsupported Ruby" error.
func (p *parser) unsupported(off int, what, hint string) {
	if p.inComment(off) {
		hint += "; this line is a YAML comment, but ERB runs the code in it all the same: delete the line, or write <%= as <%%= to keep it as text"
	}
	p.fail(off, "unsupported Ruby: %s (%s)", what, hint)
}

// inComment reports whether the tag at off stands on a line whose text
// starts with # (a YAML or shell comment), which ERB still evaluates.
func (p *parser) inComment(off int) bool {
	src := p.tmpl
	at := p.seg.srcOffset(off)
	if at > len(src) {
		return false
	}
	line := src[strings.LastIndexByte(src[:at], '\n')+1 : at]
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), "#")
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

// enter begins one more level of nesting at offset off: a parenthesis, a
// string, a block, or one more link of a chain (the caller then leaves
// the levels of the whole chain at once).
func (p *parser) enter(off int) {
	p.depth++
	if p.depth > maxNesting {
		p.fail(off, "%s", nestingTooDeep)
	}
}

// nestingTooDeep is the message for a template past maxNesting.
var nestingTooDeep = fmt.Sprintf("nesting too deep: more than %d levels (each parenthesis, block, operator and chained method call is one; split the expression with local variables)", maxNesting)

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
