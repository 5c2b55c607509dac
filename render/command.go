package render

import (
	"strings"
)

// This file holds Ruby's command calls, a method called without
// parentheses (format "%s", x; File.exist? path; Rails.root.join 'log',
// 'x'; raise "message"), and the statement-level operators and, or and
// not, where such calls may stand.
//
// Ruby takes a command call only where a statement may begin: at the start
// of a statement, on the right of an assignment, inside ( ), and after
// and, or, not. Elsewhere (after ||, inside [ ]) it is a syntax error, and
// entry asks for parentheses.

// parseStatement parses an expression at the level of a statement:
// operands joined by and / or (equal precedence, left to right, lower than
// everything but the modifiers), each perhaps preceded by not, and each a
// place where a command call may stand.
func (p *parser) parseStatement() *expr {
	start := p.i
	// A statement inside ( ), a block or #{} leaves the command position
	// of the one around it as it was: (x).sub a, b.
	outer := p.cmdAt
	x := p.parseNot()
	links := 0
	defer func() { p.depth -= links; p.cmdAt = outer }()
	for {
		save := p.i
		p.skipSpace()
		w := p.word()
		if w != "and" && w != "or" {
			p.i = save
			return x
		}
		at := p.i
		p.enter(at)
		links++
		p.i += len(w)
		p.skipSpaceNL()
		y := p.parseNot()
		op := opOr
		if w == "and" {
			op = opAnd
		}
		x = p.node(op, start, x, y)
	}
}

// parseNot parses not x, or an expression at a command position.
func (p *parser) parseNot() *expr {
	start := p.i
	if p.word() == "not" {
		p.enter(p.i)
		p.i += 3
		p.skipSpace()
		x := p.parseNot()
		p.depth--
		return p.node(opNot, start, x)
	}
	p.cmdAt = p.i
	return p.parseExpr()
}

// argStart reports whether what follows the cursor, after at least one
// blank, begins the first argument of a command call, as Ruby's lexer
// decides after a method name and a space: a literal, a name, a unary
// minus or plus stuck to its operand (f -1 is f(-1), f - 1 a
// subtraction).
func (p *parser) argStart() bool {
	if c := p.peek(); c != ' ' && c != '\t' {
		return false
	}
	save := p.i
	defer func() { p.i = save }()
	p.skipSpace()
	c, d := p.peek(), p.peekAt(1)
	switch {
	case c == '"' || c == '\'' || c == '`' || c == '[' || c == '(' || isDigit(c):
		return true
	case c == ':':
		return d == '"' || d == '\'' || isIdentStart(d)
	case c == '-' || c == '+' || c == '!' || c == '%':
		return d != 0 && d != ' ' && d != '\t' && d != '=' && d != '\n'
	case isIdentStart(c):
		switch p.word() {
		case "if", "unless", "while", "until", "and", "or", "then", "do", "end", "rescue", "else", "elsif", "when", "in":
			return false
		}
		return true
	}
	return false
}

// commandArgs parses the arguments of a command call that name, at
// nameAt, takes: after argStart, up to the end of the statement. At a
// place where Ruby allows no command call it fails, asking for
// parentheses.
func (p *parser) commandArgs(chainStart, nameAt int, name string) []*expr {
	if chainStart != p.cmdAt {
		p.fail(nameAt, "write %s(...) with parentheses here (Ruby allows %s without them only at the start of a statement or after =)", name, name)
	}
	p.skipSpace()
	var args []*expr
	for {
		args = append(args, p.parseExpr())
		save := p.i
		p.skipSpace()
		if p.peek() != ',' {
			p.i = save
			return args
		}
		p.i++
		p.skipSpaceNL()
	}
}

// parseRaise parses raise, raise "message", raise Class, "message",
// raise Class, raise Class.new("message"), with or without parentheses:
// args[0] is the class's name (a literal), args[1] the message, if any.
func (p *parser) parseRaise(start int) *expr {
	x := &expr{op: opFunc, fn: fRaise, pos: p.seg.srcOffset(start)}
	class := &expr{op: opLit, val: strValue(""), pos: x.pos} // "": RuntimeError, not named
	x.args = []*expr{class}
	paren := p.peek() == '('
	if !paren && !p.argStart() {
		x.src = p.s[start:p.i]
		return x
	}
	if paren {
		p.enter(p.i)
		p.i++
		p.skipSpaceNL()
	} else {
		if start != p.cmdAt {
			p.fail(start, "write raise(...) with parentheses here (Ruby allows raise without them only at the start of a statement or after =, and, or)")
		}
		p.skipSpace()
	}
	if name := p.exceptionClass(); name != "" {
		class.val.s = name
		p.skipSpace()
		switch {
		case p.peek() == '.' && p.wordAt(p.i+1) == "new":
			p.i += 4
			if p.peek() == '(' {
				if args := p.parseCall(')'); len(args) > 0 {
					x.args = append(x.args, args[0])
				}
			}
		case p.peek() == ',':
			p.i++
			p.skipSpaceNL()
			x.args = append(x.args, p.parseExpr())
		}
	} else {
		x.args = append(x.args, p.parseExpr())
	}
	if paren {
		p.leave(')', start, "missing ) of raise(")
	}
	x.src = p.s[start:p.i]
	return x
}

// exceptionClass consumes the name of an exception class at the cursor
// (ArgumentError, Foo::BarError), returning "" when none stands there.
func (p *parser) exceptionClass() string {
	c := p.peek()
	if c < 'A' || c > 'Z' {
		return ""
	}
	start := p.i
	for {
		w := p.word()
		if w == "" || w[0] < 'A' || w[0] > 'Z' {
			p.i = start
			return ""
		}
		p.i += len(w)
		if p.peek() != ':' || p.peekAt(1) != ':' {
			break
		}
		p.i += 2
	}
	name := p.s[start:p.i]
	if !strings.HasSuffix(name, "Error") && !strings.HasSuffix(name, "Exception") {
		p.i = start
		p.unsupported(start, "raise "+name, "raise a String, or an exception class: raise ArgumentError, \"message\"")
	}
	return name
}

// raise is the template's raise: a render error with its message.
func (st *state) raise(x *expr, args []value) (value, error) {
	class, named := args[0].s, args[0].s != ""
	if !named {
		class = "RuntimeError"
	}
	msg := "raise without a message" // Ruby's is ""
	switch {
	case len(args) > 1 && args[1].k == kStr:
		msg = args[1].s
	case len(args) > 1 && (args[1].k != kNil || !named):
		return value{}, st.errorf(x.pos, "exception class/object expected (Ruby raises TypeError here)")
	case named:
		msg = class
	}
	return value{}, st.errorf(x.pos, "%s (Ruby raises %s here: the template's raise)", msg, class)
}

// signedArg reports whether, after blanks, a -, + or * stands stuck to
// what follows it (x.size -1, x.first *2), which Ruby reads as an
// argument, not an operator.
func (p *parser) signedArg() bool {
	j := p.i
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	if j == p.i || j+1 >= len(p.s) || strings.IndexByte("-+*", p.s[j]) < 0 {
		return false
	}
	next := p.s[j+1]
	return next != ' ' && next != '\t' && next != '=' && next != '\n' && !(p.s[j] == '*' && next == '*')
}
