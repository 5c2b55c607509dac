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
)

// A stmt is the parsed content of a code tag.
type stmt struct {
	kind stmtKind
	x    *expr
	pos  int    // offset in the template of the statement
	name string // stmtEach: the loop variable
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
	case "else":
		p.i += len(w)
		st.kind = stmtElse
	case "end":
		p.i += len(w)
		st.kind = stmtEnd
	default:
		p.checkStatementWord(w)
		st.x = p.parseExpr()
		st.kind = stmtExpr
		if p.each != nil {
			if p.each != st.x {
				p.fail(p.each.pos-p.seg.contentPos, ".each must begin its own tag: <%% LIST.each do |x| %%> ... <%% end %%>")
			}
			st.kind = stmtEach
			st.name = p.each.src
			st.x = p.each.args[0]
		} else {
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
	if w := p.word(); w == "if" || w == "unless" || w == "case" || w == "begin" {
		p.unsupported(p.i, w+" inside <%= %>", "use <% if ... %> ... <% end %>, or cond ? a : b")
	}
	x = p.parseExpr()
	if p.each != nil {
		p.fail(p.each.pos-p.seg.contentPos, ".each must begin its own tag: <%% LIST.each do |x| %%> ... <%% end %%>")
	}
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
	case "while", "until", "for", "loop", "case", "when", "begin", "rescue", "ensure", "return", "yield", "break", "next", "class", "module", "puts", "print", "raise":
		p.unsupported(p.i, w, "entry supports if/elsif/else/end, unless and LIST.each do |x|")
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
	case c == '=' && p.peekAt(1) != '=':
		p.unsupported(p.i, "assignment", "entry has no variables besides .each's; inline the expression")
	case c == '&' && p.peekAt(1) == '.':
		p.unsupported(p.i, "&.", "use x && x.method, or .presence / .to_s")
	case c == '<' || c == '>':
		p.unsupported(p.i, "comparison "+p.operatorAt(), "entry compares with == and != only")
	case c == '+' || c == '-' || c == '*' || c == '/' || c == '%':
		p.unsupported(p.i, "operator "+p.operatorAt(), "entry has no arithmetic or concatenation; use \"#{a}#{b}\" for strings")
	case c == '|' || c == '&' || c == '^':
		p.unsupported(p.i, "operator "+p.operatorAt(), "use || or &&")
	case c == '[':
		p.unsupported(p.i, "indexing with [...]", "only ENV[...] is supported")
	case c == ':' && p.peekAt(1) == ':':
		p.unsupported(p.i, "::", "entry knows no constants but ENV")
	case c == '{':
		p.unsupported(p.i, "block { ... }", "only ENV.fetch('X') { default } takes a block; loops use .each do |x|")
	case c == '.' && p.peekAt(1) == '.':
		p.unsupported(p.i, "range", "entry has no ranges")
	}
	if w := p.word(); w != "" {
		switch w {
		case "if", "unless", "while", "until", "rescue":
			p.unsupported(p.i, "modifier "+w, "use <% if ... %> ... <% end %>, or cond ? a : b")
		case "and", "or", "not":
			p.unsupported(p.i, w, "use &&, || or !")
		case "do":
			p.unsupported(p.i, "do block", "only LIST.each do |x| is supported")
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
	x := p.parseUnary()
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
	y := p.parseUnary()
	x = p.node(op, start, x, y)
	save = p.i
	p.skipSpace()
	if (p.peek() == '=' || p.peek() == '!') && p.peekAt(1) == '=' {
		p.fail(p.i, "a == b == c is a syntax error in Ruby; use parentheses or &&")
	}
	p.i = save
	return x
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
	case p.peek() == '-' || p.peek() == '+':
		p.unsupported(p.i, "unary "+string(p.peek()), "entry has no arithmetic")
	}
	return p.parsePostfix()
}

// parsePostfix parses a primary followed by method calls.
func (p *parser) parsePostfix() *expr {
	start := p.i
	x := p.parsePrimary()
	for {
		save := p.i
		p.skipSpaceNL() // Ruby continues a line that starts with .method
		if p.peek() == '&' && p.peekAt(1) == '.' {
			p.unexpected()
		}
		if p.peek() != '.' || p.peekAt(1) == '.' {
			p.i = save
			if p.peek() == '[' {
				p.unexpected()
			}
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
		if m.m == mEach {
			return p.parseEach(start, nameAt, x)
		}
		call := &expr{op: opCall, method: m.m, args: []*expr{x}}
		if p.peek() == '(' {
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
		call.src = p.s[start:p.i]
		x = call
	}
}

func argCount(min, max int) string {
	switch {
	case max == 0:
		return "no arguments"
	case min == max:
		return "exactly one argument"
	}
	return "at most one argument"
}

// parseEach parses "do |x|" after LIST.each; the body follows in later
// tags.
func (p *parser) parseEach(start, nameAt int, list *expr) *expr {
	if p.peek() == '(' {
		p.fail(p.i, ".each takes no arguments")
	}
	p.skipSpace()
	if p.peek() == '{' {
		p.unsupported(p.i, "each { |x| ... }", "write LIST.each do |x| %> ... <% end")
	}
	if !p.keyword("do") {
		p.fail(nameAt, ".each needs a block: <%% LIST.each do |x| %%> ... <%% end %%>")
	}
	p.skipSpace()
	if p.peek() != '|' {
		p.fail(p.i, ".each needs a variable: do |x|")
	}
	p.i++
	p.skipSpace()
	name := p.word()
	if name == "" || !(name[0] == '_' || name[0] >= 'a' && name[0] <= 'z') || isKeyword(name) {
		p.fail(p.i, "expected a variable name in do |x|")
	}
	p.i += len(name)
	p.skipSpace()
	if p.peek() == ',' {
		p.unsupported(p.i, "several block variables", "entry loops over a list of strings: do |x|")
	}
	if p.peek() != '|' {
		p.fail(p.i, "expected | after the variable of do |x|")
	}
	p.i++
	e := &expr{op: opEach, pos: p.seg.srcOffset(nameAt), src: name, args: []*expr{list}}
	if p.each != nil {
		p.fail(nameAt, "one .each per tag")
	}
	p.each = e
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
		p.unsupported(p.i, "backticks", "entry runs no commands; pass the value in an environment variable")
	case c == '@':
		p.unsupported(p.i, "instance variable "+p.s[p.i:p.i+1]+p.wordAt(p.i+1), "use ENV[...]")
	case c == '$':
		p.unsupported(p.i, "global variable", "use ENV[...]")
	case c == ':':
		p.unsupported(p.i, "Symbol", "use a string")
	case c == '[':
		p.unsupported(p.i, "array literal", "use \"a,b\".split(\",\")")
	case c == '{':
		p.unsupported(p.i, "hash literal", "entry has no hashes")
	case c == '%':
		p.unsupported(p.i, "%-literal", "use a quoted string")
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
		p.unsupported(p.i, w, "entry renders without Ruby libraries")
	case "def":
		p.unsupported(p.i, "method definition", "entry renders without Ruby; compute values in environment variables")
	case "and", "or", "not":
		p.unsupported(p.i, w, "use &&, || or !")
	case "self", "binding", "__FILE__", "__dir__", "__LINE__":
		p.unsupported(p.i, w, "entry knows ENV and .each variables only")
	case "if", "unless", "elsif", "else", "end", "then", "do", "while", "until", "case", "when", "begin", "return":
		p.fail(p.i, "unexpected %s", w)
	}
	if c >= 'A' && c <= 'Z' {
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
		}
		hint := "entry knows no constant but ENV; use ENV[...]"
		switch w {
		case "Rails":
			hint = "entry renders without Rails; use ENV[...]"
		case "File", "Dir", "IO", "Socket", "Process", "Kernel", "Open3", "Etc":
			hint = "entry renders without reading files or running code; use ENV[...]"
		}
		p.unsupported(start, what, hint)
	}
	// A lowercase name: a loop variable, or something Ruby would call.
	p.i += len(w)
	if slot, ok := p.scope.lookup(w); ok {
		return &expr{op: opVar, slot: slot, src: w, pos: p.seg.srcOffset(start)}
	}
	save := p.i
	p.skipSpace()
	if p.peek() == '=' && p.peekAt(1) != '=' && p.peekAt(1) != '~' {
		p.unsupported(start, "assignment to "+w, "entry has no variables besides .each's; inline the expression")
	}
	p.i = save
	p.unsupported(start, w, "entry knows ENV and the variables of .each loops; use ENV[...]")
	return nil
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
	if p.peek() == '}' {
		p.fail(p.i, "empty block: write ENV.fetch(\"NAME\") { default }")
	}
	d := p.parseExpr()
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
	if p.peek() == '.' && isDigit(p.peekAt(1)) || p.peek() == 'e' || p.peek() == 'E' {
		p.unsupported(start, "Float", "entry supports integers only; quote the value")
	}
	if isIdentChar(p.peek()) {
		p.fail(p.i, "unexpected %q after a number", p.peek())
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
		case mNil, mPresence, mBlank, mPresent, mToS:
			markGuarded(x.args[0], true)
		default:
			markGuarded(x.args[0], false)
		}
		for _, a := range x.args[1:] {
			markGuarded(a, false)
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
