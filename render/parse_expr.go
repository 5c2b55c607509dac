package render

import (
	"fmt"
	"strings"
)

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

func (p *parser) parseOr() *expr { return p.parseLogical('|', opOr, p.parseAnd) }

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
	// Each operator nests the chain one level deeper: a + b + c is
	// (a + b) + c.
	links := 0
	for {
		save := p.i
		p.skipSpace()
		op, n := p.binaryAt(level)
		if n == 0 {
			p.i = save
			p.depth -= links
			return x
		}
		at := p.i
		p.i += n
		p.skipSpaceNL()
		p.enter(at)
		links++
		y := operand()
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
	case p.peek() == '-' && p.peekAt(1) == '>':
		p.unsupported(p.i, "lambda ->", "entry has no lambdas or procs; compute the value in a local variable, or use a { |x| ... } block on a list")
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
	// Each call or index nests the chain one level deeper.
	links := 0
	defer func() { p.depth -= links }()
	for {
		if p.peek() == '[' {
			at := p.i
			p.enter(at)
			links++
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
		p.enter(nameAt)
		links++
		p.i += len(name)
		if (p.peek() == '?' || p.peek() == '!') && p.peekAt(1) != '=' {
			name += string(p.peek())
			p.i++
		}
		m, ok := methods[name]
		if !ok && x.options && safe == nil {
			x = p.optionsAccess(start, nameAt, x, name)
			continue
		}
		_, isDuration := durationMethods[name]
		if _, isBytes := byteMethods[name]; !ok && (isDuration || isBytes) {
			x = p.parseDuration(start, nameAt, x, name)
			if safe != nil {
				safe.args = append(safe.args, x)
				safe.src = x.src
				x = safe
			}
			continue
		}
		if !ok {
			p.unsupported(nameAt, "."+name, unknownMethodHint(name))
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
		} else if c := strings.TrimLeft(p.s[p.i:], " \t"); p.signedArg() && (m.max == 0 || c[0] == '*') {
			p.fail(nameAt, "ambiguous .%s %c: Ruby reads a %c stuck to what follows a space as an argument of .%s; write .%s(...), or put spaces around the operator", name, c[0], c[0], name, name)
		} else if m.max > 0 && m.block != needsBlock && p.argStart() {
			call.args = append(call.args, p.commandArgs(start, nameAt, "."+name)...)
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
	outer := p.scope.mark()
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
		p.scope.push(n, ctx.slot+k)
	}
	p.blocks = append(p.blocks, ctx)
	p.skipSpaceNL()
	body := &expr{op: opLit, pos: p.seg.srcOffset(p.i), src: "nil"}
	if p.peek() != '}' {
		body = p.sequence(p.i, p.modifiers(p.parseStatement()))
	}
	p.blocks = p.blocks[:len(p.blocks)-1]
	p.scope.pop(outer)
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
		x := p.sequence(p.i, p.modifiers(p.parseStatement()))
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
		return p.parseCommand(start, '`')
	case c == '%' && p.peekAt(1) == 'x':
		p.i += 2
		return p.parseCommand(start, p.peek())
	case c == '@':
		p.unsupported(p.i, "instance variable "+p.s[p.i:p.i+1]+p.wordAt(p.i+1), "use ENV[...]")
	case c == '$' && p.peekAt(1) == '?':
		p.unsupported(p.i, "$?", "entry keeps no exit status of a command; print it in the command's output: `cmd; echo $?`")
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
		return p.parseRequire(start, w)
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
			hint = "entry knows Rails.env, Rails.root and Rails.application.credentials; use ENV[...]"
		case "File":
			hint = "entry supports File.read, File.exist?, File.file?, File.directory?, File.join, File.basename, File.dirname, File.extname and File.expand_path"
		case "JSON":
			hint = "entry supports JSON.parse(string)"
		case "Etc", "Concurrent":
			hint = "entry knows Etc.nprocessors and Concurrent.processor_count"
		case "Socket":
			hint = "entry knows Socket.gethostname"
		case "Dir", "IO", "Process", "Kernel", "Open3":
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
	case "raise":
		return p.parseRaise(start)
	case "lambda", "proc":
		p.unsupported(start, w, "entry has no lambdas or procs; compute the value in a local variable, or use a { |x| ... } block on a list")
	case "puts", "print", "p", "pp", "exit", "abort", "system", "exec", "spawn", "open", "sleep", "rand", "srand", "eval":
		p.unsupported(start, w, "entry renders the template's text and <%= %> values only")
	}
	p.unsupported(start, w, unknownNameHint(w))
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
		p.scope.push(w, slot)
	}
	p.skipSpaceNL()
	p.enter(start)
	p.cmdAt = p.i
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
	case "Etc", "Concurrent", "Socket":
		m := member()
		fn, ok := map[string]function{"Etc.nprocessors": fNprocessors, "Concurrent.processor_count": fNprocessors, "Socket.gethostname": fHostname}[w+"."+m]
		if !ok {
			return nil
		}
		p.i += len(w) + 1 + len(m)
		return &expr{op: opFunc, fn: fn, pos: p.seg.srcOffset(start), src: p.s[start:p.i]}
	case "File", "JSON", "Rails":
		m := member()
		fns := map[string]function{"File.read": fFileRead, "File.exist?": fFileExist, "JSON.parse": fJSONParse, "Rails.env": fRailsEnv, "Rails.root": fRailsRoot,
			"File.join": fFileJoin, "File.basename": fFileBasename, "File.dirname": fFileDirname,
			"File.file?": fFileFile, "File.directory?": fFileDirectory, "File.extname": fFileExtname, "File.expand_path": fFileExpandPath}
		if w == "Rails" && (m == "application" || m == "app") {
			return p.parseCredentials(start, m)
		}
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
		case fFileBasename, fFileExpandPath:
			return p.parseFunction(start, w+"."+m, fn, 1, 2)
		}
		return p.parseFunction(start, w+"."+m, fn, 1, 1)
	}
	return nil
}

// parseFunction parses the parenthesised arguments of a function.
func (p *parser) parseFunction(start int, name string, fn function, min, max int) *expr {
	var args []*expr
	switch {
	case p.peek() == '(':
		args = p.parseCall(')')
	case p.argStart():
		args = p.commandArgs(start, start, name)
	case min == 0:
		x := p.node(opFunc, start)
		x.fn = fn
		return x
	default:
		p.fail(start, "write %s(...) with parentheses", name)
	}
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
			args := p.envArgs(start, nameAt, "ENV.key?", `ENV.key?("NAME")`)
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

// envArgs reads the arguments of ENV.fetch or ENV.key? (named what), in
// parentheses or as a command call; without either it asks for usage.
func (p *parser) envArgs(start, nameAt int, what, usage string) []*expr {
	switch {
	case p.peek() == '(':
		return p.parseCall(')')
	case p.argStart():
		return p.commandArgs(start, nameAt, what)
	}
	p.fail(nameAt, "write %s with parentheses", usage)
	return nil
}

func (p *parser) parseFetch(start, nameAt int) *expr {
	args := p.envArgs(start, nameAt, "ENV.fetch", `ENV.fetch("NAME", default)`)
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
		d = p.parseStatement()
	}
	p.leave('}', save, "missing } of the ENV.fetch block")
	x.args = append(x.args, d)
	x.fetch = fetchBlock
	x.src = p.s[start:p.i]
	return x
}
