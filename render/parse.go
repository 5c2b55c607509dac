package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
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

// A stmtKind is what the Ruby in a code tag does.
type stmtKind uint8

const (
	stmtNone   stmtKind = iota // empty tag
	stmtExpr                   // an expression, evaluated and discarded
	stmtIf                     // if x
	stmtUnless                 // unless x
	stmtElsif                  // elsif x
	stmtElse                   // else
	stmtEnd                    // end
	stmtEach                   // x.each do |v|
	stmtCase                   // case x (the whens follow in later tags)
	stmtWhen                   // when a, b
)

// A stmt is the parsed content of a code tag.
type stmt struct {
	kind   stmtKind
	x      *expr
	pos    int      // offset in the template of the statement
	names  []string // stmtEach: the loop variables
	method string   // stmtEach: each or each_with_index
	vals   []*expr  // stmtWhen: the values (x is the first)
}

// parseStmt parses the content of a <% %> tag.
func (p *parser) parseStmt() (st stmt, err error) {
	defer p.recoverError(&err)
	p.skipSpaceNL()
	start := p.i
	st.pos = p.seg.srcOffset(start)
	if p.i == len(p.s) {
		return stmt{kind: stmtNone}, nil
	}
	if p.peek() == '=' {
		p.fail(p.i, "unexpected = (to output a value, write <%%= ... %%>; <%%- cannot output)")
	}
	if p.peek() == '#' {
		// <%- # comment -%> at the end of a line is a Ruby comment that
		// hides nothing; anywhere else Ruby's comment would swallow the
		// text after the tag.
		if !p.seg.cr || strings.IndexByte(p.s[p.i:], '\n') >= 0 {
			p.unsupported(p.i, "# comment inside <% %>", "use <%# comment %>; Ruby's comment would also hide what follows the tag")
		}
		return stmt{kind: stmtNone}, nil
	}
	switch w := p.word(); w {
	case "if", "unless", "elsif":
		p.i += len(w)
		if !isSpaceOrEnd(p.peek()) && p.peek() != '(' && p.peek() != '!' {
			p.fail(start, "unexpected %s", strconv.Quote(w+string(p.peek())))
		}
		p.skipSpaceNL()
		if p.i == len(p.s) {
			p.fail(start, "%s without a condition", w)
		}
		st.x = p.parseExpr()
		markGuarded(st.x, true)
		p.skipSpace()
		if p.keyword("then") {
			p.skipSpace()
		}
		st.kind = map[string]stmtKind{"if": stmtIf, "unless": stmtUnless, "elsif": stmtElsif}[w]
	case "case":
		x := p.parseCase(start)
		if x != nil {
			st.x, st.kind = p.modifiers(x), stmtExpr
			markGuarded(st.x, true)
			break
		}
		st.kind = stmtCase
		st.x = p.caseSubject
		st.vals = p.caseWhen
	case "when":
		p.i += len(w)
		st.kind = stmtWhen
		st.vals = p.parseWhenValues(start)
		st.x = st.vals[0]
		markGuarded(st.x, true)
	case "else":
		p.i += len(w)
		st.kind = stmtElse
	case "end":
		p.i += len(w)
		st.kind = stmtEnd
	default:
		p.checkStatementWord(w)
		if x := p.parseMultipleAssignment(start); x != nil {
			st.x = x
		} else {
			st.x = p.parseExpr()
		}
		st.kind = stmtExpr
		if p.each != nil {
			if p.each != st.x {
				p.fail(p.each.pos-p.seg.contentPos, ".%s must begin its own tag: <%% LIST.%s do |x| %%> ... <%% end %%>", p.each.src, p.each.src)
			}
			st.kind = stmtEach
			st.names = p.eachNames
			st.method = p.each.src
			st.x = p.each.args[0]
		} else {
			st.x = p.sequence(start, p.modifiers(st.x))
			markGuarded(st.x, true)
		}
	}
	p.endOfTag()
	return st, nil
}

// parseOutput parses the content of a <%= %> tag.
func (p *parser) parseOutput() (x *expr, err error) {
	defer p.recoverError(&err)
	p.skipSpaceNL()
	if p.i == len(p.s) {
		p.fail(0, "empty <%%= %%> tag")
	}
	if w := p.word(); w == "if" || w == "unless" || w == "begin" {
		p.unsupported(p.i, w+" inside <%= %>", "use <% if ... %> ... <% end %>, or cond ? a : b")
	}
	x = p.parseExpr()
	if p.each != nil {
		p.fail(p.each.pos-p.seg.contentPos, ".%s must begin its own tag: <%% LIST.%s do |x| %%> ... <%% end %%>", p.each.src, p.each.src)
	}
	x = p.modifiers(x)
	markGuarded(x, false)
	p.endOfTag()
	return x, nil
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

// endOfTag checks that nothing but blanks follows the statement.
func (p *parser) endOfTag() {
	p.skipSpace()
	if p.peek() == '\n' {
		nl := p.i
		p.skipSpaceNL()
		if p.i < len(p.s) {
			p.fail(nl, "line break inside an expression: Ruby ends the statement here (put the operator at the end of the line, or use one line)")
		}
	}
	if p.i < len(p.s) {
		p.unexpected()
	}
}

// checkStatementWord refuses Ruby statements entry does not support.
func (p *parser) checkStatementWord(w string) {
	switch w {
	case "while", "until", "for", "loop", "begin", "rescue", "ensure", "return", "yield", "break", "next", "class", "module", "puts", "print", "raise":
		p.unsupported(p.i, w, "entry supports if/elsif/else/end, unless, case/when and LIST.each do |x|")
	case "elseif", "elif", "else_if":
		p.unsupported(p.i, w, "Ruby writes elsif")
	}
}

// unexpected fails on whatever stands at the cursor, naming what Ruby
// construct it starts.
func (p *parser) unexpected() {
	c := p.peek()
	switch {
	case p.i >= len(p.s):
		p.fail(p.i, "unexpected end of tag")
	case c == ';':
		p.unsupported(p.i, ";", "one statement per tag")
	case c == '#':
		p.unsupported(p.i, "# comment inside a tag", "use <%# comment %>")
	case c == '=' && p.peekAt(1) == '~':
		p.unsupported(p.i, "=~", "entry has no regular expressions; use .include?")
	case c == '=' && p.peekAt(1) == '=' && p.peekAt(2) == '=':
		p.unsupported(p.i, "===", "use ==")
	case c == '=' && p.peekAt(1) == '>':
		p.unsupported(p.i, "=> outside a Hash literal", "write { key => value }")
	case c == '=' && p.peekAt(1) != '=':
		p.unsupported(p.i, "assignment to this", "assign to a local variable: x = ...")
	case c == '&' && p.peekAt(1) == '.':
		p.unsupported(p.i, "&.", "use x && x.method, or .presence / .to_s")
	case c == '<' && p.peekAt(1) == '<':
		p.unsupported(p.i, "operator <<", "use + to join strings or arrays")
	case c == '<' && p.peekAt(1) == '=' && p.peekAt(2) == '>':
		p.unsupported(p.i, "operator <=>", "use <, > or ==")
	case c == '>' && p.peekAt(1) == '>':
		p.unsupported(p.i, "operator >>", "entry has no bit shifts")
	case c == '*' && p.peekAt(1) == '*':
		p.unsupported(p.i, "operator **", "multiply with *")
	case (c == '+' || c == '-' || c == '*' || c == '/' || c == '%') && p.peekAt(1) == '=':
		p.unsupported(p.i, "operator "+p.operatorAt(), "only a local variable can be assigned: x "+string(c)+"= ...")
	case c == '|' || c == '&' || c == '^':
		p.unsupported(p.i, "operator "+p.operatorAt(), "use || or &&")
	case c == ':' && p.peekAt(1) == ':':
		p.unsupported(p.i, "::", "entry knows no nested constants")
	case c == '{':
		p.unsupported(p.i, "block { ... }", "blocks go after a method that takes one: .map { |x| ... }, ENV.fetch('X') { default }")
	case c == '.' && p.peekAt(1) == '.':
		p.unsupported(p.i, "range here", "put the range in parentheses: (a..b)")
	}
	if w := p.word(); w != "" {
		switch w {
		case "if", "unless":
			p.unsupported(p.i, "modifier "+w+" here", "a modifier ends a statement: put it last in the tag, or use cond ? a : b")
		case "while", "until", "rescue":
			p.unsupported(p.i, "modifier "+w, "use <% if ... %> ... <% end %>, or cond ? a : b")
		case "and", "or", "not":
			p.unsupported(p.i, w, "use &&, || or !")
		case "do":
			p.unsupported(p.i, "do block", "LIST.each do |x| and each_with_index do |x, i| span tags; other blocks use { |x| ... }")
		case "then":
			p.fail(p.i, "unexpected then")
		}
		p.fail(p.i, "unexpected %s (arguments need parentheses: m(a, b))", strconv.Quote(w))
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	p.fail(p.i, "unexpected %s", strconv.QuoteRune(r))
}

// operatorAt returns the operator characters at the cursor.
func (p *parser) operatorAt() string {
	j := p.i
	for j < len(p.s) && j < p.i+3 && strings.IndexByte("<>=+-*/%|&^!", p.s[j]) >= 0 {
		j++
	}
	return p.s[p.i:j]
}

// parseExpr parses a Ruby expression: cond ? a : b at the lowest
// precedence, then ||, &&, == and !=, !, method calls, primaries.
func (p *parser) parseExpr() *expr {
	p.enter(p.i)
	defer func() { p.depth-- }()
	start := p.i
	cond := p.parseOr()
	save := p.i
	p.skipSpace()
	if p.peek() == '.' && p.peekAt(1) == '.' {
		// a..b, a...b: lower than ||, higher than ? :.
		at := p.i
		excl := p.peekAt(2) == '.'
		p.i += 2
		if excl {
			p.i++
		}
		p.skipSpace()
		if p.i == len(p.s) || p.peek() == ')' || p.peek() == ']' {
			p.unsupported(at, "endless range", "give the range an end: a..b")
		}
		end := p.parseOr()
		cond = p.node(opRange, start, cond, end)
		cond.negate = excl
		save = p.i
		p.skipSpace()
	}
	if p.peek() != '?' {
		p.i = save
		return cond
	}
	if c := p.peekAt(1); c != ' ' && c != '\t' && c != '\n' {
		p.unsupported(p.i, "?"+string(c)+" character literal", "write cond ? a : b with spaces")
	}
	p.i++
	p.skipSpaceNL()
	a := p.parseExpr()
	p.skipSpaceNL()
	if p.peek() != ':' {
		if p.i < len(p.s) {
			p.unexpected()
		}
		p.fail(p.i, "expected : of cond ? a : b")
	}
	if c := p.peekAt(1); c != ' ' && c != '\t' && c != '\n' {
		p.fail(p.i, "write cond ? a : b with a space after the colon (Ruby reads :%c as a Symbol)", c)
	}
	p.i++
	p.skipSpaceNL()
	b := p.parseExpr()
	return p.node(opCond, start, cond, a, b)
}

func (p *parser) parseOr() *expr  { return p.parseLogical('|', opOr, p.parseAnd) }
func (p *parser) parseAnd() *expr { return p.parseLogical('&', opAnd, p.parseEq) }

// parseLogical parses operand (cc operand)* for Ruby's || (c is '|') or
// && (c is '&'); ||= and &&= are not operators here. A chain is one node
// with every operand in args, evaluated in a loop: left-associative
// a || b || c means the same, and 200,000 operands nest no deeper than 2.
func (p *parser) parseLogical(c byte, op opcode, operand func() *expr) *expr {
	start := p.i
	x := operand()
	var chain *expr
	for {
		save := p.i
		p.skipSpace()
		if p.peek() != c || p.peekAt(1) != c || p.peekAt(2) == '=' {
			p.i = save
			return x
		}
		p.i += 2
		p.skipSpaceNL()
		y := operand()
		if chain == nil {
			chain = p.node(op, start, x, y)
			x = chain
			continue
		}
		chain.args = append(chain.args, y)
		chain.src = p.s[start:p.i]
	}
}

func (p *parser) parseEq() *expr {
	start := p.i
	x := p.parseBinary(0)
	save := p.i
	p.skipSpace()
	op := opEq
	switch {
	case p.peek() == '=' && p.peekAt(1) == '=' && p.peekAt(2) != '=':
	case p.peek() == '!' && p.peekAt(1) == '=':
		op = opNe
	default:
		p.i = save
		return x
	}
	p.i += 2
	p.skipSpaceNL()
	y := p.parseBinary(0)
	x = p.node(op, start, x, y)
	save = p.i
	p.skipSpace()
	if (p.peek() == '=' || p.peek() == '!') && p.peekAt(1) == '=' {
		p.fail(p.i, "a == b == c is a syntax error in Ruby; use parentheses or &&")
	}
	p.i = save
	return x
}

// binaryAt returns the operator of precedence level (0: < > <= >=, 1: +
// -, 2: * / %) at the cursor and its length, or 0.
func (p *parser) binaryAt(level int) (binop, int) {
	c, d := p.peek(), p.peekAt(1)
	switch level {
	case 0:
		switch {
		case c == '<' && d == '=' && p.peekAt(2) != '>':
			return bLe, 2
		case c == '>' && d == '=':
			return bGe, 2
		case c == '<' && d != '<' && d != '=':
			return bLt, 1
		case c == '>' && d != '>' && d != '=':
			return bGt, 1
		}
	case 1:
		switch {
		case c == '+' && d != '=':
			return bAdd, 1
		case c == '-' && d != '=':
			return bSub, 1
		}
	case 2:
		switch {
		case c == '*' && d != '*' && d != '=':
			return bMul, 1
		case c == '/' && d != '=':
			return bDiv, 1
		case c == '%' && d != '=':
			return bMod, 1
		}
	}
	return 0, 0
}

// parseBinary parses the left-associative operators of a precedence
// level and those above it.
func (p *parser) parseBinary(level int) *expr {
	operand := p.parseUnary
	if level < 2 {
		operand = func() *expr { return p.parseBinary(level + 1) }
	}
	start := p.i
	x := operand()
	for {
		save := p.i
		p.skipSpace()
		op, n := p.binaryAt(level)
		if n == 0 {
			p.i = save
			return x
		}
		at := p.i
		p.i += n
		p.skipSpaceNL()
		p.enter(at)
		y := operand()
		p.depth--
		x = p.node(opBin, start, x, y)
		x.bop, x.pos = op, p.seg.srcOffset(at)
	}
}

func (p *parser) parseUnary() *expr {
	start := p.i
	switch {
	case p.peek() == '!' && p.peekAt(1) != '=':
		p.enter(p.i)
		p.i++
		p.skipSpaceNL()
		x := p.parseUnary()
		p.depth--
		return p.node(opNot, start, x)
	case p.peek() == '-' && isDigit(p.peekAt(1)):
		return p.parsePostfix()
	case p.word() == "not":
		p.unsupported(p.i, "not", "use !")
	case p.peek() == '-':
		p.enter(p.i)
		p.i++
		x := p.parseUnary()
		p.depth--
		return p.node(opNeg, start, x)
	case p.peek() == '+':
		p.unsupported(p.i, "unary +", "write the number without +")
	}
	return p.parsePostfix()
}

// parsePostfix parses a primary followed by method calls and indexing.
func (p *parser) parsePostfix() *expr {
	start := p.i
	x := p.parsePrimary()
	for {
		if p.peek() == '[' {
			at := p.i
			args := p.parseCall(']')
			if len(args) == 0 {
				p.fail(at, "empty index []")
			}
			x = p.node(opIndex, start, append([]*expr{x}, args...)...)
			x.pos = p.seg.srcOffset(at)
			continue
		}
		save := p.i
		p.skipSpaceNL() // Ruby continues a line that starts with .method
		// x&.m is nil when x is nil (the arguments unevaluated); the
		// rest of the chain still runs, as in Ruby. x is held in a slot.
		var safe *expr
		if p.peek() == '&' && p.peekAt(1) == '.' {
			slot := *p.nslots
			*p.nslots++
			safe = &expr{op: opSafe, slot: slot, pos: x.pos, args: []*expr{x}}
			x = &expr{op: opVar, slot: slot, pos: x.pos, src: x.src}
			p.i++
		} else if p.peek() != '.' || p.peekAt(1) == '.' {
			p.i = save
			if p.peek() == ':' && p.peekAt(1) == ':' {
				p.unexpected()
			}
			return x
		}
		p.i++
		p.skipSpaceNL()
		nameAt := p.i
		name := p.word()
		if name == "" {
			p.fail(p.i, "expected a method name after .")
		}
		p.i += len(name)
		if (p.peek() == '?' || p.peek() == '!') && p.peekAt(1) != '=' {
			name += string(p.peek())
			p.i++
		}
		m, ok := methods[name]
		if !ok {
			p.unsupported(nameAt, "."+name, "entry supports "+methodList)
		}
		if safe != nil && (m.m == mEach || m.m == mEachWithIndex || m.m == mTimes) {
			p.unsupported(nameAt, "&."+name, "write LIST."+name+" do |x|, with LIST.to_a for a list that may be nil")
		}
		if m.m == mTimes {
			return p.parseEach(start, nameAt, x, name)
		}
		if m.m == mEach || m.m == mEachWithIndex {
			if save := p.i; true {
				p.skipSpace()
				isDo := p.word() == "do"
				p.i = save
				if isDo || m.m == mEach {
					return p.parseEach(start, nameAt, x, name)
				}
			}
		}
		call := &expr{op: opCall, method: m.m, args: []*expr{x}}
		p.proc = ""
		procAt := 0
		if p.peek() == '(' {
			procAt = p.i
			call.args = append(call.args, p.parseCall(')')...)
		} else if m.min > 0 {
			p.fail(nameAt, ".%s needs an argument in parentheses: .%s(x)", name, name)
		}
		if n := len(call.args) - 1; n < m.min || n > m.max {
			p.fail(nameAt, ".%s takes %s", name, argCount(m.min, m.max))
		}
		if m.m == mSplit && len(call.args) == 2 && call.args[1].op == opLit && call.args[1].val.k == kInt {
			p.fail(nameAt, ".split takes a separator string")
		}
		call.pos = p.seg.srcOffset(nameAt)
		p.parseBlock(call, name, m.block, procAt)
		call.src = p.s[start:p.i]
		x = call
		if safe != nil {
			safe.args = append(safe.args, call)
			safe.src = call.src
			x = safe
		}
	}
}

// parseBlock parses the block of a call, if any: { |x| ... } or
// (&:method); one without a block keeps opCall.
func (p *parser) parseBlock(call *expr, name string, block, procAt int) {
	proc := p.proc
	p.proc = ""
	save := p.i
	p.skipSpace()
	hasBrace := p.peek() == '{'
	if !hasBrace {
		if p.word() == "do" {
			p.unsupported(p.i, "."+name+" do ... end", "write ."+name+" { |x| ... } in one tag")
		}
		p.i = save
	}
	if (hasBrace || proc != "") && block == noBlock {
		p.unsupported(p.i, "a block after ."+name, "."+name+" takes no block")
	}
	if !hasBrace && proc == "" {
		switch {
		case block == needsBlock:
			p.fail(call.pos-p.seg.contentPos, ".%s needs a block: .%s { |x| ... }", name, name)
		case call.method == mAnyP || call.method == mAllP || call.method == mNoneP:
			// Without a block they test the elements themselves.
			call.op, call.slot, call.nparams = opBlock, *p.nslots, 1
			*p.nslots++
			call.slotEnd = *p.nslots
			call.blk = &expr{op: opVar, slot: call.slot, pos: call.pos}
		}
		return
	}
	call.op = opBlock
	if proc != "" {
		// &:name is { |x| x.name }.
		if hasBrace {
			p.fail(p.i, "give .%s a block or &:%s, not both", name, proc)
		}
		m, ok := methods[proc]
		if !ok || m.min > 0 || m.block == needsBlock || m.m == mEach {
			p.unsupported(procAt, "&:"+proc, "entry supports &: with "+methodList)
		}
		call.slot, call.nparams = *p.nslots, 1
		*p.nslots++
		call.slotEnd = *p.nslots
		v := &expr{op: opVar, slot: call.slot, pos: call.pos, src: "&:" + proc}
		call.blk = &expr{op: opCall, method: m.m, pos: call.pos, src: "&:" + proc, args: []*expr{v}}
		return
	}
	open := p.i
	p.enter(open)
	p.i++
	p.skipSpaceNL()
	outer := p.scope
	ctx := &blockCtx{}
	var names []string
	if p.peek() == '|' {
		names = p.parseParams("{ |x| ... }")
		ctx.explicit = true
		ctx.nparams = len(names)
	}
	ctx.slot = *p.nslots
	*p.nslots += max(2, len(names))
	for k, n := range names {
		p.scope = &scope{name: n, slot: ctx.slot + k, up: p.scope}
	}
	p.blocks = append(p.blocks, ctx)
	p.skipSpaceNL()
	body := &expr{op: opLit, pos: p.seg.srcOffset(p.i), src: "nil"}
	if p.peek() != '}' {
		body = p.sequence(p.i, p.modifiers(p.parseExpr()))
	}
	p.blocks = p.blocks[:len(p.blocks)-1]
	p.scope = outer
	p.leave('}', open, "missing } of the block")
	call.blk, call.slot, call.nparams, call.slotEnd = body, ctx.slot, ctx.nparams, *p.nslots
}

// parseParams parses |a| or |a, b| at the cursor.
func (p *parser) parseParams(form string) []string {
	p.i++
	var names []string
	for {
		p.skipSpace()
		name := p.word()
		if name == "" || !(name[0] == '_' || name[0] >= 'a' && name[0] <= 'z') || isKeyword(name) {
			p.fail(p.i, "expected a variable name in %s", form)
		}
		p.i += len(name)
		names = append(names, name)
		p.skipSpace()
		if p.peek() == ',' && len(names) < 9 {
			p.i++
			continue
		}
		if p.peek() == ',' {
			p.unsupported(p.i, "more than nine block variables", "use fewer")
		}
		if p.peek() != '|' {
			p.fail(p.i, "expected | after the variables of %s", form)
		}
		p.i++
		return names
	}
}

func argCount(min, max int) string {
	switch {
	case max == 0:
		return "no arguments"
	case min == max && min == 1:
		return "exactly one argument"
	case min == max:
		return fmt.Sprintf("exactly %d arguments", min)
	case max == 1:
		return "at most one argument"
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

// parseEach parses "do |x|" after LIST.each (or |x, i| after
// each_with_index, |k, v| for a Hash); the body follows in later tags.
func (p *parser) parseEach(start, nameAt int, list *expr, method string) *expr {
	if p.peek() == '(' {
		p.fail(p.i, ".%s takes no arguments", method)
	}
	p.skipSpace()
	if p.peek() == '{' {
		p.unsupported(p.i, method+" { |x| ... }", "write LIST."+method+" do |x| %> ... <% end")
	}
	if !p.keyword("do") {
		p.fail(nameAt, ".%s needs a block: <%% LIST.%s do |x| %%> ... <%% end %%>", method, method)
	}
	p.skipSpace()
	if p.peek() != '|' {
		p.fail(p.i, ".%s needs a variable: do |x|", method)
	}
	names := p.parseParams("do |x|")
	e := &expr{op: opEach, pos: p.seg.srcOffset(nameAt), src: method, args: []*expr{list}}
	if p.each != nil {
		p.fail(nameAt, "one .each per tag")
	}
	p.each = e
	p.eachNames = names
	return e
}

// parseCall parses the arguments of a call or an index at the opening
// bracket, as one more nesting level: "(a, b)" or "[a]".
func (p *parser) parseCall(close byte) []*expr {
	p.enter(p.i)
	p.i++
	args := p.parseArgs(close)
	p.depth--
	return args
}

// parseArgs parses a comma-separated argument list up to close; the
// opening bracket has been consumed.
func (p *parser) parseArgs(close byte) []*expr {
	var args []*expr
	p.skipSpaceNL()
	if p.peek() == close {
		p.i++
		return nil
	}
	for {
		if p.peek() == '&' && p.peekAt(1) == ':' && close == ')' {
			at := p.i
			name := p.wordAt(p.i + 2)
			p.i += 2 + len(name)
			if c := p.peek(); name != "" && (c == '?' || c == '!') {
				name += string(c)
				p.i++
			}
			p.skipSpaceNL()
			if name == "" || p.peek() != ')' {
				p.fail(at, "write &:name as the last argument")
			}
			p.proc = name
			p.i++
			return args
		}
		args = append(args, p.parseExpr())
		p.skipSpaceNL()
		switch p.peek() {
		case close:
			p.i++
			return args
		case ',':
			p.i++
			p.skipSpaceNL()
		case 0:
			p.fail(p.i, "missing %c", close)
		default:
			p.unexpected()
		}
	}
}

func isKeyword(w string) bool {
	switch w {
	case "if", "unless", "elsif", "else", "end", "then", "do", "nil", "true", "false", "and", "or", "not",
		"while", "until", "for", "in", "case", "when", "begin", "rescue", "ensure", "def", "class", "module",
		"return", "yield", "self", "super", "defined?", "alias", "undef", "redo", "retry", "break", "next",
		"__FILE__", "__LINE__", "__dir__", "BEGIN", "END":
		return true
	}
	return false
}

// parsePrimary parses a literal, ENV access, loop variable or
// parenthesised expression.
func (p *parser) parsePrimary() *expr {
	start := p.i
	c := p.peek()
	switch {
	case c == '(':
		p.enter(p.i)
		p.i++
		p.skipSpaceNL()
		if p.peek() == ')' {
			p.fail(start, "empty parentheses")
		}
		x := p.parseExpr()
		p.leave(')', start, "missing ) for this (")
		return x
	case c == '\'':
		return p.parseSingleQuoted()
	case c == '"':
		p.enter(p.i)
		x := p.parseDoubleQuoted()
		p.depth--
		return x
	case isDigit(c) || c == '-':
		return p.parseInt()
	case c == '`':
		hint := "entry runs no commands; pass the value in an environment variable"
		if end := strings.IndexByte(p.s[p.i+1:], '`'); end >= 0 && strings.TrimSpace(p.s[p.i+1:p.i+1+end]) == "hostname" {
			hint = "entry runs no commands; use ENV.fetch(\"HOSTNAME\")"
		}
		p.unsupported(p.i, "backticks", hint)
	case c == '@':
		p.unsupported(p.i, "instance variable "+p.s[p.i:p.i+1]+p.wordAt(p.i+1), "use ENV[...]")
	case c == '$':
		p.unsupported(p.i, "global variable", "use ENV[...]")
	case c == ':' && p.peekAt(1) == ':':
		p.unexpected()
	case c == ':':
		name := p.wordAt(p.i + 1)
		if name == "" {
			p.unsupported(p.i, "this Symbol", "write :name, or use a string")
		}
		p.i += 1 + len(name)
		if c := p.peek(); (c == '?' || c == '!') && p.peekAt(1) != '=' {
			name += string(c)
			p.i++
		}
		return &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i], val: value{k: kSym, s: name}}
	case c == '[':
		args := p.parseCall(']')
		return p.node(opArr, start, args...)
	case c == '{':
		return p.parseHash()
	case c == '%' && (p.peekAt(1) == 'w' || p.peekAt(1) == 'i' || p.peekAt(1) == 'W' || p.peekAt(1) == 'I'):
		return p.parseWordList()
	case c == '%':
		p.unsupported(p.i, "%-literal", "use a quoted string, or %w[a b] for a list of words")
	case c == '?':
		p.unsupported(p.i, "character literal", "use a quoted string")
	case c == '<' && p.peekAt(1) == '<':
		p.unsupported(p.i, "heredoc", "use a quoted string")
	case c == '#':
		p.unexpected()
	case c == 0:
		p.fail(p.i, "unexpected end of tag: expected a value")
	case !isIdentStart(c):
		p.unexpected()
	}
	w := p.word()
	switch w {
	case "nil":
		p.i += 3
		return &expr{op: opLit, src: w, pos: p.seg.srcOffset(start)}
	case "true", "false":
		p.i += len(w)
		v := value{k: kFalse}
		if w == "true" {
			v.k = kTrue
		}
		return &expr{op: opLit, src: w, pos: p.seg.srcOffset(start), val: v}
	case "ENV":
		p.i += 3
		return p.parseEnv(start)
	case "require", "require_relative", "load":
		p.unsupported(p.i, w, "entry renders without Ruby libraries; File.read, JSON.parse and Rails.env need no require")
	case "def":
		p.unsupported(p.i, "method definition", "entry renders without Ruby; compute values in environment variables")
	case "and", "or", "not":
		p.unsupported(p.i, w, "use &&, || or !")
	case "self", "binding", "__FILE__", "__dir__", "__LINE__":
		p.unsupported(p.i, w, "entry knows ENV, local variables and block variables")
	case "case":
		p.enter(start)
		x := p.parseCase(start)
		p.depth--
		if x == nil {
			p.fail(start, "case without end (in one tag: case x when a then b end; or put case x alone in its tag and each when in its own)")
		}
		return x
	case "if", "unless", "elsif", "else", "end", "then", "do", "while", "until", "when", "begin", "return":
		p.fail(p.i, "unexpected %s", w)
	}
	if c >= 'A' && c <= 'Z' {
		if x := p.parseConstant(start, w); x != nil {
			return x
		}
		what := w
		j := p.i + len(w)
		for j < len(p.s) && (p.s[j] == '.' || p.s[j] == ':') && len(what) < 80 {
			k := j + 1
			if p.s[j] == ':' {
				if k >= len(p.s) || p.s[k] != ':' {
					break
				}
				k++
			}
			n := p.wordAt(k)
			if n == "" {
				break
			}
			what += p.s[j:k] + n
			j = k + len(n)
			if j < len(p.s) && (p.s[j] == '?' || p.s[j] == '!') {
				what += p.s[j : j+1]
				j++
			}
		}
		hint := "entry knows no constant but ENV, File, JSON and Rails; use ENV[...]"
		switch w {
		case "Rails":
			hint = "entry knows Rails.env and Rails.root only; use ENV[...]"
		case "File":
			hint = "entry supports File.read, File.exist?, File.join, File.basename and File.dirname"
		case "JSON":
			hint = "entry supports JSON.parse(string)"
		case "Dir", "IO", "Socket", "Process", "Kernel", "Open3", "Etc":
			hint = "entry renders without running code; use ENV[...]"
		}
		p.unsupported(start, what, hint)
	}
	// A lowercase name: a variable, a function entry knows, or something
	// Ruby would call.
	p.i += len(w)
	if x := p.parseVariable(start, w); x != nil {
		return x
	}
	switch w {
	case "format", "sprintf":
		return p.parseFunction(start, w, fFormat, 1, 1<<10)
	case "puts", "print", "p", "pp", "raise", "exit", "abort", "system", "exec", "spawn", "open", "sleep", "rand", "srand", "eval", "lambda", "proc":
		p.unsupported(start, w, "entry renders the template's text and <%= %> values only")
	}
	p.unsupported(start, w, "entry knows ENV, local variables, block variables, Integer(), Float(), String() and format()")
	return nil
}

// parseVariable parses what follows the name w of a local or block
// variable: a use, or an assignment (=, +=, -=, *=, ||=, &&=). It returns
// nil when w is neither a variable nor assigned.
func (p *parser) parseVariable(start int, w string) *expr {
	slot, ok := p.scope.lookup(w)
	if !ok {
		slot, ok = p.numberedParam(start, w)
	}
	save := p.i
	p.skipSpace()
	c, d := p.peek(), p.peekAt(1)
	var op string
	switch {
	case c == '=' && d != '=' && d != '~' && d != '>':
		op = "="
	case (c == '|' && d == '|' || c == '&' && d == '&') && p.peekAt(2) == '=':
		op = string(c) + string(d)
	case strings.IndexByte("+-*/%", c) >= 0 && d == '=':
		op = string(c)
	}
	if op == "" {
		p.i = save
		if !ok {
			return nil
		}
		return &expr{op: opVar, slot: slot, src: w, pos: p.seg.srcOffset(start)}
	}
	if isKeyword(w) || len(w) == 2 && w[0] == '_' && isDigit(w[1]) || w == "it" && len(p.blocks) > 0 && !ok {
		p.fail(start, "cannot assign to %s", w)
	}
	opAt := p.i
	if op == "=" {
		p.i++
	} else {
		p.i += len(op) + 1
		if len(op) == 1 {
			p.i = opAt + 2
		}
	}
	if !ok {
		// Ruby knows the variable from here on, even in its own value
		// (x = x is nil).
		slot = *p.nslots
		*p.nslots++
		p.scope = &scope{name: w, slot: slot, up: p.scope}
	}
	p.skipSpaceNL()
	p.enter(start)
	rhs := p.parseExpr()
	p.depth--
	v := &expr{op: opVar, slot: slot, src: w, pos: p.seg.srcOffset(start)}
	switch op {
	case "||":
		rhs = &expr{op: opOr, pos: v.pos, src: p.s[start:p.i], args: []*expr{v, &expr{op: opAssign, slot: slot, pos: v.pos, src: p.s[start:p.i], args: []*expr{rhs}}}}
		return rhs
	case "&&":
		return &expr{op: opAnd, pos: v.pos, src: p.s[start:p.i], args: []*expr{v, &expr{op: opAssign, slot: slot, pos: v.pos, src: p.s[start:p.i], args: []*expr{rhs}}}}
	case "=":
	default:
		bop := map[string]binop{"+": bAdd, "-": bSub, "*": bMul, "/": bDiv, "%": bMod}[op]
		rhs = &expr{op: opBin, bop: bop, pos: p.seg.srcOffset(opAt), src: p.s[start:p.i], args: []*expr{v, rhs}}
	}
	return &expr{op: opAssign, slot: slot, pos: v.pos, src: p.s[start:p.i], args: []*expr{rhs}}
}

// numberedParam resolves _1, _2 and it in a block without |params|.
func (p *parser) numberedParam(start int, w string) (int, bool) {
	n := 0
	switch w {
	case "_1", "it":
		n = 1
	case "_2":
		n = 2
	default:
		if len(w) == 2 && w[0] == '_' && isDigit(w[1]) {
			p.unsupported(start, w, "entry supports _1 and _2; name the block's variables: { |a, b, c| ... }")
		}
		return 0, false
	}
	if len(p.blocks) == 0 {
		if w == "it" {
			return 0, false
		}
		p.fail(start, "%s outside a block", w)
	}
	b := p.blocks[len(p.blocks)-1]
	if b.explicit {
		if w == "it" {
			return 0, false
		}
		p.fail(start, "%s in a block that names its variables", w)
	}
	b.nparams = max(b.nparams, n)
	return b.slot + n - 1, true
}

// parseConstant parses the constants entry knows: Integer(), Float(),
// String(), File.read, File.exist?, JSON.parse, Rails.env, Rails.root.
// It returns nil for any other.
func (p *parser) parseConstant(start int, w string) *expr {
	member := func() string {
		if p.peekAt(len(w)) != '.' {
			return ""
		}
		n := p.wordAt(p.i + len(w) + 1)
		if n == "" {
			return ""
		}
		if c := p.peekAt(len(w) + 1 + len(n)); c == '?' || c == '!' {
			n += string(c)
		}
		return n
	}
	switch w {
	case "Integer", "Float", "String":
		if p.peekAt(len(w)) != '(' {
			return nil
		}
		p.i += len(w)
		fn := map[string]function{"Integer": fInteger, "Float": fFloat, "String": fString}[w]
		x := p.parseFunction(start, w, fn, 1, 1)
		return x
	case "File", "JSON", "Rails":
		m := member()
		fns := map[string]function{"File.read": fFileRead, "File.exist?": fFileExist, "JSON.parse": fJSONParse, "Rails.env": fRailsEnv, "Rails.root": fRailsRoot,
			"File.join": fFileJoin, "File.basename": fFileBasename, "File.dirname": fFileDirname}
		fn, ok := fns[w+"."+m]
		if !ok {
			return nil
		}
		p.i += len(w) + 1 + len(m)
		if w == "Rails" {
			x := &expr{op: opFunc, fn: fn, pos: p.seg.srcOffset(start), src: p.s[start:p.i]}
			if fn == fRailsEnv && p.peek() == '.' {
				// Rails.env.production? is Rails.env == "production".
				name := p.wordAt(p.i + 1)
				if c := p.peekAt(1 + len(name)); name != "" && c == '?' {
					if _, known := methods[name+"?"]; !known {
						p.i += 2 + len(name)
						is := func(env string) *expr {
							return p.node(opEq, start, x, &expr{op: opLit, val: strValue(env), pos: x.pos, src: name})
						}
						if name == "local" {
							// Rails 7.1: development or test.
							return p.node(opOr, start, is("development"), is("test"))
						}
						return is(name)
					}
				}
			}
			return x
		}
		switch fn {
		case fFileJoin:
			return p.parseFunction(start, w+"."+m, fn, 0, 1<<10)
		case fFileBasename:
			return p.parseFunction(start, w+"."+m, fn, 1, 2)
		}
		return p.parseFunction(start, w+"."+m, fn, 1, 1)
	}
	return nil
}

// parseFunction parses the parenthesised arguments of a function.
func (p *parser) parseFunction(start int, name string, fn function, min, max int) *expr {
	if p.peek() != '(' && min == 0 {
		x := p.node(opFunc, start)
		x.fn = fn
		return x
	}
	if p.peek() != '(' {
		p.fail(start, "write %s(...) with parentheses", name)
	}
	args := p.parseCall(')')
	if p.proc != "" {
		p.unsupported(start, "&:"+p.proc, "only methods with blocks take &:name")
	}
	if len(args) < min || len(args) > max {
		p.fail(start, "%s takes %s", name, argCount(min, max))
	}
	x := p.node(opFunc, start, args...)
	x.fn = fn
	return x
}

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

// parseEnv parses what follows ENV: [key], .fetch(...), .key?(...).
func (p *parser) parseEnv(start int) *expr {
	switch {
	case p.peek() == '[':
		args := p.parseCall(']')
		if len(args) != 1 {
			p.fail(start, "ENV[...] takes one name")
		}
		return p.node(opEnv, start, args[0])
	case p.peek() == ' ' || p.peek() == '\t':
		save := p.i
		p.skipSpace()
		if p.peek() == '[' {
			p.fail(start, "write ENV[...] without a space before [")
		}
		p.i = save
	case p.peek() == ':' && p.peekAt(1) == ':':
		p.unsupported(start, "ENV::", "use ENV[...] or ENV.fetch(...)")
	case p.peek() == '.':
		p.i++
		nameAt := p.i
		name := p.word()
		p.i += len(name)
		if p.peek() == '?' || p.peek() == '!' {
			name += string(p.peek())
			p.i++
		}
		switch name {
		case "fetch":
			return p.parseFetch(start, nameAt)
		case "key?":
			if p.peek() != '(' {
				p.fail(nameAt, "write ENV.key?(\"NAME\") with parentheses")
			}
			args := p.parseCall(')')
			if len(args) != 1 {
				p.fail(nameAt, "ENV.key? takes one name")
			}
			return p.node(opKey, start, args[0])
		}
		p.unsupported(start, "ENV."+name, "entry supports ENV[...], ENV.fetch(...) and ENV.key?(...)")
	}
	p.unsupported(start, "ENV by itself", "use ENV[\"NAME\"]")
	return nil
}

func (p *parser) parseFetch(start, nameAt int) *expr {
	if p.peek() != '(' {
		p.fail(nameAt, "write ENV.fetch(\"NAME\", default) with parentheses")
	}
	args := p.parseCall(')')
	if len(args) < 1 || len(args) > 2 {
		p.fail(nameAt, "ENV.fetch takes a name and an optional default")
	}
	x := p.node(opFetch, start, args...)
	x.fetch = fetchNoDefault
	if len(args) == 2 {
		x.fetch = fetchArg
	}
	save := p.i
	p.skipSpace()
	if p.keyword("do") {
		p.unsupported(save, "ENV.fetch(...) do ... end", "write ENV.fetch(\"NAME\") { default }")
	}
	if p.peek() != '{' {
		p.i = save
		return x
	}
	if x.fetch == fetchArg {
		p.fail(p.i, "give ENV.fetch a default argument or a block, not both")
	}
	p.enter(p.i)
	p.i++
	p.skipSpaceNL()
	if p.peek() == '|' {
		p.unsupported(p.i, "block variable in ENV.fetch", "write ENV.fetch(\"NAME\") { default }")
	}
	d := &expr{op: opLit, pos: p.seg.srcOffset(p.i), src: "nil"} // an empty block is nil
	if p.peek() != '}' {
		d = p.parseExpr()
	}
	p.leave('}', save, "missing } of the ENV.fetch block")
	x.args = append(x.args, d)
	x.fetch = fetchBlock
	x.src = p.s[start:p.i]
	return x
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

func (p *parser) unterminated(start int) {
	if strings.Contains(p.tmpl[p.seg.srcOffset(len(p.s)):min(len(p.tmpl), p.seg.srcOffset(len(p.s))+3)], "%>") {
		p.fail(start, "unterminated string (a %%> inside a string ends the tag; write %%%%>)")
	}
	p.fail(start, "unterminated string")
}

// parseDoubleQuoted parses "..." with Ruby's escapes and #{...}.
func (p *parser) parseDoubleQuoted() *expr {
	start := p.i
	p.i++
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
		switch c {
		case '"':
			p.i++
			flush()
			x := &expr{op: opStr, pos: p.seg.srcOffset(start), src: p.s[start:p.i], args: parts}
			switch {
			case len(parts) == 0:
				return &expr{op: opLit, pos: x.pos, src: x.src, val: value{k: kStr}}
			case len(parts) == 1 && parts[0].op == opLit:
				parts[0].pos, parts[0].src = x.pos, x.src
				return parts[0]
			}
			save := p.i
			p.skipSpace()
			if p.peek() == '"' || p.peek() == '\'' {
				p.unsupported(p.i, "adjacent string literals", "write one string")
			}
			p.i = save
			return x
		case '\\':
			p.escape(&b)
		case '#':
			switch p.peekAt(1) {
			case '{':
				flush()
				open := p.i
				p.i += 2
				p.skipSpaceNL()
				if p.peek() == '}' {
					p.i++
					continue
				}
				x := p.parseExpr()
				p.skipSpaceNL()
				if p.peek() != '}' {
					if p.i >= len(p.s) {
						p.fail(open, "missing } of #{")
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

// markGuarded marks the ENV[...] lookups in x whose value is only tested
// (guarded true) rather than used: strict mode lets them be unset.
func markGuarded(x *expr, guarded bool) {
	switch x.op {
	case opEnv:
		x.guarded = guarded
		markGuarded(x.args[0], false)
	case opOr, opAnd:
		last := len(x.args) - 1
		for _, a := range x.args[:last] {
			markGuarded(a, true)
		}
		markGuarded(x.args[last], guarded)
	case opNot, opEq, opNe:
		for _, a := range x.args {
			markGuarded(a, true)
		}
	case opCond:
		markGuarded(x.args[0], true)
		markGuarded(x.args[1], guarded)
		markGuarded(x.args[2], guarded)
	case opCall:
		switch x.method {
		case mNilP, mPresence, mBlankP, mPresentP, mToS, mInspect:
			markGuarded(x.args[0], true)
		default:
			markGuarded(x.args[0], false)
		}
		for _, a := range x.args[1:] {
			markGuarded(a, false)
		}
	case opAssign:
		markGuarded(x.args[0], guarded)
	case opSafe:
		markGuarded(x.args[0], true)
		markGuarded(x.args[1], guarded)
	case opModIf:
		markGuarded(x.args[0], true)
		markGuarded(x.args[1], guarded)
	case opCaseEq:
		for _, a := range x.args {
			markGuarded(a, true)
		}
	case opCase:
		if x.args[0] != nil {
			markGuarded(x.args[0], true)
		}
		for _, a := range x.arms {
			markGuarded(a.when, true)
			markGuarded(a.body, guarded)
		}
		for _, a := range x.args[1:] {
			markGuarded(a, guarded)
		}
	case opBlock:
		for _, a := range x.args {
			markGuarded(a, false)
		}
		if x.blk != nil {
			markGuarded(x.blk, false)
		}
	case opFetch:
		markGuarded(x.args[0], false)
		if len(x.args) > 1 {
			markGuarded(x.args[1], guarded)
		}
	default:
		for _, a := range x.args {
			markGuarded(a, false)
		}
	}
}

// modifiers parses the modifiers if and unless after the statement x.
func (p *parser) modifiers(x *expr) *expr {
	for {
		save := p.i
		p.skipSpace()
		w := p.word()
		if w != "if" && w != "unless" {
			p.i = save
			return x
		}
		at := p.i
		p.i += len(w)
		p.skipSpaceNL()
		if p.i == len(p.s) {
			p.fail(at, "modifier %s without a condition", w)
		}
		c := p.parseExpr()
		markGuarded(c, true)
		x = &expr{op: opModIf, negate: w == "unless", pos: p.seg.srcOffset(at), src: p.s[at:p.i], args: []*expr{c, x}}
	}
}

// skipSeparators skips blanks, newlines and semicolons between the parts
// of a case.
func (p *parser) skipSeparators() {
	for {
		p.skipSpaceNL()
		if p.peek() != ';' {
			return
		}
		p.i++
	}
}

// parseCase parses a case at the cursor. When nothing follows its value
// in the tag, the whens come in later tags: it returns nil and leaves the
// value in p.caseSubject. Otherwise the tag holds the whole
// case ... when ... then ... else ... end, an expression.
func (p *parser) parseCase(start int) *expr {
	p.i += len("case")
	p.skipSpace()
	var subj *expr
	if p.i < len(p.s) && p.peek() != ';' && p.peek() != '\n' && p.word() != "when" {
		subj = p.parseExpr()
	}
	p.skipSeparators()
	if p.i == len(p.s) {
		p.caseSubject = subj
		return nil
	}
	x := &expr{op: opCase, pos: p.seg.srcOffset(start), args: []*expr{subj}}
	if subj != nil {
		x.slot = *p.nslots
		*p.nslots++
	}
	p.enter(start)
	defer func() { p.depth-- }()
	for {
		switch w := p.word(); w {
		case "when":
			if len(x.args) > 1 {
				p.fail(p.i, "when after else")
			}
			at := p.i
			p.i += len(w)
			vals := p.parseWhenValues(at)
			if save := p.i; len(x.arms) == 0 {
				// case x; when a: the body of this when follows in
				// later tags.
				p.skipSeparators()
				if p.i == len(p.s) {
					p.caseSubject, p.caseWhen = subj, vals
					return nil
				}
				p.i = save
			}
			var cond *expr
			if subj != nil {
				v := &expr{op: opVar, slot: x.slot, pos: subj.pos, src: subj.src}
				cond = &expr{op: opCaseEq, pos: p.seg.srcOffset(at), src: p.s[at:p.i], args: append([]*expr{v}, vals...)}
			} else {
				cond = orAll(vals)
			}
			x.arms = append(x.arms, arm{when: cond, body: p.caseBody()})
		case "else":
			if len(x.args) > 1 {
				p.fail(p.i, "else after else")
			}
			p.i += len(w)
			x.args = append(x.args, p.caseBody())
		case "end":
			if len(x.arms) == 0 {
				p.fail(p.i, "case needs a when")
			}
			p.i += len(w)
			x.src = p.s[start:p.i]
			return x
		default:
			if p.i == len(p.s) {
				p.fail(start, "case without end (in one tag: case x when a then b end; or put case x alone in its tag and each when in its own)")
			}
			p.unexpected()
		}
	}
}

// orAll is a || b || ... for the values of a when without case's value.
func orAll(vals []*expr) *expr {
	x := vals[0]
	for _, v := range vals[1:] {
		x = &expr{op: opOr, pos: x.pos, src: x.src, args: []*expr{x, v}}
	}
	return x
}

// caseBody parses the expression after when ... then (nil when there is
// none) and the separators after it.
func (p *parser) caseBody() *expr {
	p.skipSeparators()
	switch p.word() {
	case "when", "else", "end":
		return &expr{op: opLit, pos: p.seg.srcOffset(p.i), src: "nil"}
	}
	if p.i == len(p.s) {
		p.fail(p.i, "case without end")
	}
	x := p.modifiers(p.parseExpr())
	p.skipSeparators()
	return x
}

// parseWhenValues parses the values after when, and then if it follows.
func (p *parser) parseWhenValues(at int) []*expr {
	p.skipSpace()
	if p.i == len(p.s) || p.word() == "then" {
		p.fail(at, "when without a value")
	}
	var vals []*expr
	for {
		if p.peek() == '*' {
			p.unsupported(p.i, "splat in when", "list the values: when \"a\", \"b\"")
		}
		vals = append(vals, p.parseExpr())
		p.skipSpace()
		if p.peek() != ',' {
			break
		}
		p.i++
		p.skipSpaceNL()
	}
	for _, v := range vals {
		markGuarded(v, true)
	}
	p.keyword("then")
	return vals
}

// sequence parses the statements that follow x after semicolons, as in
// <% a = 1; b = 2 %> or { |x| y = x; y * 2 }.
func (p *parser) sequence(start int, x *expr) *expr {
	save := p.i
	p.skipSpace()
	if p.peek() != ';' {
		p.i = save
		return x
	}
	seq := &expr{op: opSeq, pos: x.pos, args: []*expr{x}}
	for p.peek() == ';' {
		p.i++
		p.skipSpaceNL()
		if p.i == len(p.s) || p.peek() == '}' || p.peek() == ';' {
			continue
		}
		if w := p.word(); isKeyword(w) && w != "nil" && w != "true" && w != "false" && w != "case" {
			p.unsupported(p.i, w+" after ;", "put each of if, unless, end ... in its own tag")
		}
		seq.args = append(seq.args, p.modifiers(p.parseExpr()))
		save = p.i
		p.skipSpace()
		if p.peek() != ';' {
			p.i = save
		}
	}
	seq.src = p.s[start:p.i]
	return seq
}

// parseMultipleAssignment parses a, b = value at the start of a statement;
// it returns nil, consuming nothing, when the statement is not one.
func (p *parser) parseMultipleAssignment(start int) *expr {
	var names []string
	j := p.i
	for {
		w := p.wordAt(j)
		if w == "" || !(w[0] == '_' || w[0] >= 'a' && w[0] <= 'z') || isKeyword(w) {
			return nil
		}
		names = append(names, w)
		j += len(w)
		for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
			j++
		}
		if j < len(p.s) && p.s[j] == ',' {
			j++
			for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
				j++
			}
			continue
		}
		if len(names) < 2 || j+1 >= len(p.s) || p.s[j] != '=' || strings.IndexByte("=~>", p.s[j+1]) >= 0 {
			return nil
		}
		break
	}
	p.i = j + 1
	x := &expr{op: opMassign, pos: p.seg.srcOffset(start)}
	p.skipSpaceNL()
	rhs := p.parseExpr()
	if save := p.i; true {
		p.skipSpace()
		if p.peek() == ',' {
			// a, b = 1, 2: the values make an Array.
			p.i = save
			items := []*expr{rhs}
			for p.skipSpace(); p.peek() == ','; p.skipSpace() {
				p.i++
				p.skipSpaceNL()
				items = append(items, p.parseExpr())
			}
			rhs = p.node(opArr, start, items...)
		} else {
			p.i = save
		}
	}
	// The variables exist from here on (after the value, which cannot see
	// them unless they existed before).
	for _, n := range names {
		slot, ok := p.scope.lookup(n)
		if !ok {
			slot = *p.nslots
			*p.nslots++
			p.scope = &scope{name: n, slot: slot, up: p.scope}
		}
		x.slots = append(x.slots, slot)
	}
	x.args = []*expr{rhs}
	x.src = p.s[start:p.i]
	return x
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
