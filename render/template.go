package render

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// A Template is a parsed ERB template. It is safe for concurrent use by
// several goroutines.
type Template struct {
	name   string
	src    string
	nodes  []*node
	nslots int
}

// Options changes how a template is rendered.
type Options struct {
	// Strict makes ENV['X'] on an unset variable an error where its value
	// is used (output, interpolation, a method other than .nil?, .presence,
	// .blank?, .present? and .to_s). Tests of it stay allowed: conditions,
	// !, ==, !=, and the left side of || and &&. Ruby renders "".
	Strict bool
	// Environ is the environment of the commands a template runs
	// (`cmd`, %x(cmd)), as KEY=VALUE strings: the same variables env
	// answers for ENV[...]. Nil means the process's own (os.Environ).
	Environ []string
	// CommandTimeout bounds each command a template runs; zero means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
}

// Name returns the name the template was parsed under.
func (t *Template) Name() string { return t.name }

// Parse parses an ERB template in Ruby's trim_mode "-"; name is used in
// errors. Everything entry cannot render is refused here, before anything
// is rendered: Ruby outside the supported subset (see docs/render.md),
// unbalanced tags, an end without if, an unterminated string. Errors are
// *Error, formatted "name:line:col: message".
func Parse(name string, src []byte) (*Template, error) {
	s := string(src)
	t := &Template{name: name, src: s}
	type frame struct {
		kind     stmtKind // stmtIf, stmtUnless, stmtEach or stmtCase
		n        *node
		body     *[]*node
		pos      int
		seenElse bool
		scope    int  // the scopes' mark where the block began
		subject  int  // stmtCase: the slot holding the case's value, or -1
		pending  bool // stmtCase: no when yet
	}
	var stack []frame
	body := &t.nodes
	sc := newScopes()
	var pending []*node // what stands between case and its first when
	// Output tags seen, by their Ruby and scope, whose parsed expression
	// later identical tags share: a template of a million tags repeats a
	// few expressions, and parsing and keeping each copy would cost
	// hundreds of bytes a tag.
	memo := make(map[memoKey]memoEntry)
	for seg, err := range segments(name, s) {
		if err != nil {
			return nil, err
		}
		switch seg.kind {
		case segText:
			*body = append(*body, &node{kind: nText, text: seg.text})
		case segComment:
		case segOutput:
			// The text just before the tag goes in its node.
			var n *node
			if k := len(*body) - 1; k >= 0 && (*body)[k].kind == nText {
				n = (*body)[k]
				n.kind = nOutput
			} else {
				n = &node{kind: nOutput}
				*body = append(*body, n)
			}
			key := memoKey{sc.id(), seg.text}
			if m, ok := memo[key]; ok {
				n.x, n.shift = m.x, int32(seg.contentPos-m.contentPos)
			} else {
				p := &parser{name: name, tmpl: s, seg: seg, s: seg.text, scope: sc, nslots: &t.nslots}
				nslots, scopeID := t.nslots, sc.id()
				x, err := p.parseOutput()
				if err != nil {
					return nil, unbalanced(name, s, seg, err)
				}
				if sc.id() == scopeID && t.nslots == nslots && len(seg.text) <= maxMemoText && len(s) < maxShift && memoizable(x) {
					memo[key] = memoEntry{x, seg.contentPos}
				}
				n.x = x
			}
		case segCode:
			p := &parser{name: name, tmpl: s, seg: seg, s: seg.text, scope: sc, nslots: &t.nslots}
			st, err := p.parseStmt()
			if err != nil {
				return nil, unbalanced(name, s, seg, err)
			}
			if len(stack) > 0 && stack[len(stack)-1].pending && st.kind != stmtWhen && st.kind != stmtNone {
				return nil, errorAt(name, s, st.pos, "case needs a when first (Ruby allows nothing between case and its first when)")
			}
			switch st.kind {
			case stmtIf, stmtUnless, stmtCase, stmtEach:
				// Rendering descends one level of Go's stack for each.
				if len(stack) >= maxNesting {
					return nil, errorAt(name, s, st.pos, fmt.Sprintf("nesting too deep: more than %d blocks (if, unless, case, .each) open at once", maxNesting))
				}
			}
			switch st.kind {
			case stmtNone:
			case stmtExpr:
				*body = append(*body, &node{kind: nExpr, x: st.x})
			case stmtIf, stmtUnless:
				n := &node{kind: nIf, ctl: &ctl{branches: []branch{{cond: st.x, negate: st.kind == stmtUnless}}}}
				*body = append(*body, n)
				stack = append(stack, frame{kind: st.kind, n: n, body: body, pos: seg.pos, scope: sc.mark()})
				body = &n.branches[0].body
			case stmtCase:
				// case x: evaluate x once into a slot, then an if whose
				// branches are the whens.
				subject := -1
				if st.x != nil {
					subject = t.nslots
					t.nslots++
					*body = append(*body, &node{kind: nExpr, x: &expr{op: opAssign, slot: subject, pos: st.x.pos, src: st.x.src, args: []*expr{st.x}}})
				}
				n := &node{kind: nIf, ctl: &ctl{}}
				*body = append(*body, n)
				stack = append(stack, frame{kind: stmtCase, n: n, body: body, pos: seg.pos, scope: sc.mark(), subject: subject, pending: true})
				pending = nil
				body = &pending
				if st.vals == nil {
					break
				}
				// case x; when a: the first when is in the case's tag.
				fallthrough
			case stmtWhen:
				if len(stack) == 0 || stack[len(stack)-1].kind != stmtCase {
					return nil, errorAt(name, s, st.pos, "when without case")
				}
				f := &stack[len(stack)-1]
				if f.seenElse {
					return nil, errorAt(name, s, st.pos, "when after else")
				}
				if f.pending && len(pending) > 0 {
					return nil, errorAt(name, s, st.pos, "text between case and its first when: Ruby rejects it (close the case tag with -%>, or put case and when in one tag)")
				}
				f.pending = false
				cond := orAll(st.vals)
				if f.subject >= 0 {
					subj := &expr{op: opVar, slot: f.subject, pos: cond.pos, src: "case"}
					cond = &expr{op: opCaseEq, pos: st.x.pos, src: st.x.src, args: append([]*expr{subj}, st.vals...)}
				}
				f.n.branches = append(f.n.branches, branch{cond: cond})
				body = &f.n.branches[len(f.n.branches)-1].body
			case stmtElsif, stmtElse:
				word := map[stmtKind]string{stmtElsif: "elsif", stmtElse: "else"}[st.kind]
				if len(stack) == 0 {
					return nil, errorAt(name, s, st.pos, word+" without if")
				}
				f := &stack[len(stack)-1]
				switch {
				case f.kind == stmtEach:
					return nil, errorAt(name, s, st.pos, word+" inside ."+f.n.text+" (close the loop with <% end %> first)")
				case f.kind == stmtUnless && st.kind == stmtElsif:
					return nil, errorAt(name, s, st.pos, "elsif inside unless is a syntax error in Ruby; use if")
				case f.kind == stmtCase && st.kind == stmtElsif:
					return nil, errorAt(name, s, st.pos, "elsif inside case; use when")
				case f.seenElse:
					return nil, errorAt(name, s, st.pos, word+" after else")
				}
				f.seenElse = st.kind == stmtElse
				f.n.branches = append(f.n.branches, branch{cond: st.x})
				body = &f.n.branches[len(f.n.branches)-1].body
			case stmtEnd:
				if len(stack) == 0 {
					return nil, errorAt(name, s, st.pos, "end without if, unless, case or .each")
				}
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				body = f.body
				if f.kind == stmtEach {
					// The loop's variables, and those first assigned in
					// its body, end with it.
					sc.pop(f.scope)
					f.n.slotEnd = t.nslots
				}
			case stmtEach:
				n := &node{kind: nEach, x: st.x, text: st.method, ctl: &ctl{slot: t.nslots, nvars: len(st.names)}}
				t.nslots += len(st.names)
				*body = append(*body, n)
				stack = append(stack, frame{kind: stmtEach, n: n, body: body, pos: seg.pos, scope: sc.mark()})
				for k, v := range st.names {
					sc.push(v, n.slot+k)
				}
				body = &n.body
			}
		}
	}
	if len(stack) > 0 {
		f := stack[len(stack)-1]
		what := map[stmtKind]string{stmtIf: "if", stmtUnless: "unless", stmtEach: "." + f.n.text, stmtCase: "case"}[f.kind]
		return nil, errorAt(name, s, f.pos, what+" without end (add <% end %>)")
	}
	// Slices of the if branches were appended to while their bodies were
	// being filled through pointers; nothing else to fix up.
	return t, nil
}

// unbalanced explains a parse error in a tag that contains "<%": the tag's
// %> is most likely missing, so ERB ran it into the next tag.
func unbalanced(name, src string, seg *segment, err error) error {
	j := strings.Index(seg.text, "<%")
	var perr *Error
	if j < 0 || !errors.As(err, &perr) {
		return err
	}
	at := seg.srcOffset(j)
	return errorAt(name, src, at, "unbalanced tags: <% inside a tag (is the %> of the tag opened at "+lineColString(src, seg.pos)+" missing?)")
}

// Execute renders t with variables from env (ENV[...] lookups) and writes
// the result to w. Nothing is written when rendering fails: the output is
// built in memory first.
func (t *Template) Execute(w io.Writer, env func(name string) (string, bool), opts Options) error {
	st := &state{t: t, env: env, strict: opts.Strict, opts: opts, out: make([]byte, 0, len(t.src)+len(t.src)/4)}
	st.env = st.recordingEnv(env)
	if t.nslots > 0 {
		st.vars = make([]value, t.nslots)
	}
	if err := st.runAll(t.nodes); err != nil {
		return err
	}
	_, err := w.Write(st.out)
	return err
}

// validUTF8 reports whether s is valid UTF-8, as JSON requires.
func validUTF8(s string) bool { return utf8.ValidString(s) }

type memoKey struct {
	sc   int // the scopes' id
	text string
}

type memoEntry struct {
	x          *expr
	contentPos int // where the Ruby of the tag parsed first starts
}

// Bounds on sharing: the key is hashed once per tag, and a node's shift
// must fit in an int32.
const (
	maxMemoText = 256
	maxShift    = 1 << 31
)

// memoizable reports whether x can be shared between output tags: it
// declares no variable and reads none (those depend on the place), and
// takes no block.
func memoizable(x *expr) bool {
	if x == nil {
		return true
	}
	switch x.op {
	case opLit, opStr, opEnv, opFetch, opKey, opNot, opAnd, opOr, opEq, opNe, opCond, opCall,
		opArr, opHash, opIndex, opBin, opNeg, opModIf, opFunc, opUnit:
	default:
		return false
	}
	if x.blk != nil || len(x.arms) > 0 {
		return false
	}
	for _, a := range x.args {
		if !memoizable(a) {
			return false
		}
	}
	return true
}
