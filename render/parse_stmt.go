package render

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

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
		st.x = p.parseStatement()
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
			st.x = p.parseStatement()
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
	} else if w == "require" {
		p.unsupported(p.i, "require inside <%= %>", "Ruby prints true or false for it; write <% require \"json\" %>")
	}
	x = p.parseStatement()
	if p.each != nil {
		p.fail(p.each.pos-p.seg.contentPos, ".%s must begin its own tag: <%% LIST.%s do |x| %%> ... <%% end %%>", p.each.src, p.each.src)
	}
	x = p.sequence(0, p.modifiers(x)) // <%= a; b %> prints b, as in Ruby
	markGuarded(x, false)
	p.endOfTag()
	return x, nil
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
	case "while", "until", "for", "loop", "begin", "rescue", "ensure", "return", "yield", "break", "next", "class", "module", "puts", "print":
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
		p.unsupported(p.i, "; here", "statements are separated by ; in a tag, in ( ) and in a { } block, not inside an expression")
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
	// Each modifier wraps the statement one level deeper.
	links := 0
	for {
		save := p.i
		p.skipSpace()
		w := p.word()
		if w != "if" && w != "unless" {
			p.i = save
			p.depth -= links
			return x
		}
		at := p.i
		p.enter(at)
		links++
		p.i += len(w)
		p.skipSpaceNL()
		if p.i == len(p.s) {
			p.fail(at, "modifier %s without a condition", w)
		}
		c := p.parseStatement()
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

// orAll is a || b || ... for the values of a when without case's value:
// one node, however many values (see parseLogical).
func orAll(vals []*expr) *expr {
	if len(vals) == 1 {
		return vals[0]
	}
	return &expr{op: opOr, pos: vals[0].pos, src: vals[0].src, args: vals}
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
	x := p.modifiers(p.parseStatement())
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
		seq.args = append(seq.args, p.modifiers(p.parseStatement()))
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
	p.cmdAt = p.i
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
			p.scope.push(n, slot)
		}
		x.slots = append(x.slots, slot)
	}
	x.args = []*expr{rhs}
	x.src = p.s[start:p.i]
	return x
}
