package render

import (
	"fmt"
	"math/big"
	"strings"
)

// Bounds on one rendering, so that a hostile template (loops nested over
// long lists) cannot hang the start-up pipeline. Without loops a template
// evaluates each expression at most once, so its size bounds the work and
// only loops need a limit: maxSteps counts loop iterations and block calls
// (and work on big values, see charge);
// maxLoopWork bounds the expressions evaluated beyond one per byte of the
// template, for a few iterations of a huge loop body.
const (
	maxSteps    = 1_000_000
	maxLoopWork = 20_000_000
)

// maxOutput caps the output and every String a template makes; a
// variable only so that tests can reach it without making 64 MiB.
var maxOutput = 64 << 20

// A kind is the Ruby class of a value.
type kind uint8

const (
	kNil kind = iota
	kFalse
	kTrue
	kInt // s holds the canonical decimal form, so Integers have no size limit
	kStr
	kArr   // a holds the elements
	kFloat // f
	kSym   // s holds the name
	kHash  // h
	kPath  // a Pathname (Rails.root): s holds the path
	kRange // an Integer Range: s its inspect, a its elements
	// kDuration is an ActiveSupport::Duration: a[0] its seconds (an
	// Integer or Float), h its parts (unit Symbol => number); durations.go.
	kDuration
)

// A value is a Ruby value of the supported subset.
type value struct {
	k kind
	s string
	f float64
	a []value
	h *hash
}

// A hash is a Ruby Hash: keys in insertion order.
type hash struct {
	keys, vals []value
}

func (h *hash) get(k value) (value, bool) { return h.getAt(k, 0) }

// getAt is get inside a walk depth levels deep.
func (h *hash) getAt(k value, depth int) (value, bool) {
	for i := range h.keys {
		if h.keys[i].k == k.k && equalAt(h.keys[i], k, depth) {
			return h.vals[i], true
		}
	}
	return value{}, false
}

// set stores k => v; a key already present keeps its place, as in Ruby.
func (h *hash) set(k, v value) {
	for i := range h.keys {
		if eql(h.keys[i], k) {
			h.vals[i] = v
			return
		}
	}
	h.keys = append(h.keys, k)
	h.vals = append(h.vals, v)
}

func strValue(s string) value { return value{k: kStr, s: s} }

func (v value) truthy() bool { return v.k != kNil && v.k != kFalse }

func boolValue(b bool) value {
	if b {
		return value{k: kTrue}
	}
	return value{k: kFalse}
}

// className names v's type as Ruby's NoMethodError does: "nil",
// "an Integer", "a String".
func (v value) className() string {
	switch c := v.rubyClass(); c {
	case "nil", "false", "true":
		return c
	case "Integer", "Array":
		return "an " + c
	default:
		return "a " + c
	}
}

func (v value) rubyClass() string {
	switch v.k {
	case kNil:
		return "nil"
	case kFalse:
		return "false"
	case kTrue:
		return "true"
	case kInt:
		return "Integer"
	case kStr:
		return "String"
	case kFloat:
		return "Float"
	case kSym:
		return "Symbol"
	case kHash:
		return "Hash"
	case kPath:
		return "Pathname"
	case kRange:
		return "Range"
	case kDuration:
		return "ActiveSupport::Duration"
	}
	return "Array"
}

// toS is Ruby's to_s.
func (v value) toS() string {
	switch v.k {
	case kNil:
		return ""
	case kFalse:
		return "false"
	case kTrue:
		return "true"
	case kInt, kStr, kSym, kPath, kRange:
		return v.s
	case kFloat:
		return formatFloat(v.f)
	case kDuration:
		return durationValue(v).toS()
	}
	return inspect(v)
}

// equal is Ruby's ==: numbers compare by value across Integer and Float.
func equal(a, b value) bool { return equalAt(a, b, 0) }

func equalAt(a, b value, depth int) bool {
	if a.k == kDuration || b.k == kDuration { // compared by seconds, either side
		if a.k == kDuration {
			a = durationValue(a)
		}
		if b.k == kDuration {
			b = durationValue(b)
		}
		return isNum(a) && isNum(b) && numCmp(a, b) == 0
	}
	if a.k != b.k {
		if isNum(a) && isNum(b) {
			return numCmp(a, b) == 0
		}
		return false
	}
	switch a.k {
	case kInt, kStr, kSym, kPath, kRange:
		return a.s == b.s
	case kFloat:
		return a.f == b.f
	case kArr:
		if len(a.a) != len(b.a) {
			return false
		}
		checkDepth(depth)
		for i := range a.a {
			if !equalAt(a.a[i], b.a[i], depth+1) {
				return false
			}
		}
	case kHash:
		if len(a.h.keys) != len(b.h.keys) {
			return false
		}
		checkDepth(depth)
		for i, k := range a.h.keys {
			w, ok := b.h.getAt(k, depth+1)
			if !ok || !equalAt(a.h.vals[i], w, depth+1) {
				return false
			}
		}
	}
	return true
}

// eql is Ruby's eql?, which Hash keys use: 1 and 1.0 are different keys.
func eql(a, b value) bool {
	if a.k != b.k {
		return false
	}
	return equal(a, b)
}

// state is one rendering in progress.
type state struct {
	t      *Template
	env    func(string) (string, bool)
	strict bool
	opts   Options
	vars   []value
	steps  int // loop iterations and block calls so far
	work   int // expressions evaluated so far
	shift  int // added to positions in messages: see node.shift
	out    []byte
	// rootDir is Rails.root, found on first use.
	rootDir string
	// secrets are the values read from the environment or files, which
	// errors never show (see redact.go).
	secrets map[string]origin
	// creds is Rails.application.credentials, read on first use.
	creds *value
}

func (st *state) errorf(pos int, format string, args ...any) error {
	return errorAt(st.t.name, st.t.src, pos+st.shift, st.redact(fmt.Sprintf(format, args...)))
}

// step counts one loop iteration or block call.
func (st *state) step(pos int) error {
	st.steps++
	if st.steps > maxSteps {
		return st.errorf(pos, "template too expensive: more than %d evaluation steps (loop passes, block calls, work on big values)", maxSteps)
	}
	if len(st.out) > maxOutput {
		return st.errorf(pos, "output larger than %d MiB", maxOutput>>20)
	}
	return nil
}

// tick counts one evaluated expression: the template's size in bytes is
// free, loops may add maxLoopWork.
func (st *state) tick(pos int) error {
	st.work++
	if st.work > len(st.t.src)+maxLoopWork {
		return st.errorf(pos, "template too expensive: its loops evaluate more than %d expressions", maxLoopWork)
	}
	return nil
}

func (st *state) run(nodes []*node) error {
	for _, n := range nodes {
		switch n.kind {
		case nText:
			st.out = append(st.out, n.text...)
		case nOutput:
			st.out = append(st.out, n.text...)
			st.shift = int(n.shift)
			v, err := st.eval(n.x)
			st.shift = 0
			if err != nil {
				return err
			}
			s, err := st.outputString(n.x.pos, v)
			if err != nil {
				return err
			}
			st.out = append(st.out, s...)
			if len(st.out) > maxOutput {
				return st.errorf(n.x.pos, "output larger than %d MiB", maxOutput>>20)
			}
		case nExpr:
			if _, err := st.eval(n.x); err != nil {
				return err
			}
		case nIf:
			for i := range n.branches {
				b := &n.branches[i]
				if b.cond != nil {
					v, err := st.eval(b.cond)
					if err != nil {
						return err
					}
					if v.truthy() == b.negate {
						continue
					}
				}
				if err := st.run(b.body); err != nil {
					return err
				}
				break
			}
		case nEach:
			v, err := st.eval(n.x)
			if err != nil {
				return err
			}
			list, ok := elements(v)
			if n.text == "times" {
				// n.times do |i|: 0 to n-1.
				var err error
				if list, ok, err = st.times(n.x, v); err != nil {
					return err
				}
			}
			if !ok {
				return st.noMethod(n.x, n.text, v)
			}
			for i, e := range list {
				if err := st.step(n.x.pos); err != nil {
					return err
				}
				if n.text == "each_with_index" {
					st.bind(n.slot, n.nvars, n.slotEnd, e, intOf(i))
				} else {
					st.bind(n.slot, n.nvars, n.slotEnd, e)
				}
				if err := st.run(n.body); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// noMethod is Ruby's NoMethodError, with a hint when the receiver is an
// unset variable.
func (st *state) noMethod(recv *expr, name string, v value) error {
	msg := fmt.Sprintf("undefined method '%s' for %s", name, v.className())
	if v.k == kNil && recv.op == opEnv {
		msg += fmt.Sprintf(" (%s is not set; give a default with ENV.fetch(NAME, default) or .to_s)", recv.src)
	} else {
		msg += " (Ruby raises NoMethodError here)"
	}
	return st.errorf(recv.pos, "%s", msg)
}

func (st *state) typeError(x *expr, v value, want string) error {
	return st.errorf(x.pos, "no implicit conversion of %s into %s (Ruby raises TypeError here)", v.rubyClass(), want)
}

// envKey evaluates x, which must give a String naming a variable.
func (st *state) envKey(x *expr) (string, error) {
	k, err := st.eval(x)
	if err != nil {
		return "", err
	}
	if k.k != kStr {
		return "", st.typeError(x, k, "String")
	}
	if strings.IndexByte(k.s, 0) >= 0 {
		return "", st.errorf(x.pos, "bad environment variable name: contains null byte")
	}
	return k.s, nil
}

func (st *state) eval(x *expr) (value, error) {
	if err := st.tick(x.pos); err != nil {
		return value{}, err
	}
	switch x.op {
	case opLit:
		return x.val, nil
	case opVar:
		return st.vars[x.slot], nil
	case opStr:
		var b strings.Builder
		for _, part := range x.args {
			v, err := st.eval(part)
			if err != nil {
				return value{}, err
			}
			if _, err := st.walk(x, func() value { b.WriteString(v.toS()); return value{} }); err != nil {
				return value{}, err
			}
			if b.Len() > maxOutput {
				return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
			}
		}
		return st.made(x, value{k: kStr, s: b.String()})
	case opEnv:
		key, err := st.envKey(x.args[0])
		if err != nil {
			return value{}, err
		}
		if s, ok := st.env(key); ok {
			return value{k: kStr, s: s}, nil
		}
		if st.strict && !x.guarded {
			return value{}, st.errorf(x.pos, "%s: %s is not set (strict mode: set it, or give a default with ENV.fetch(%q, default))", x.src, key, key)
		}
		return value{}, nil
	case opKey:
		key, err := st.envKey(x.args[0])
		if err != nil {
			return value{}, err
		}
		_, ok := st.env(key)
		return boolValue(ok), nil
	case opFetch:
		key, err := st.envKey(x.args[0])
		if err != nil {
			return value{}, err
		}
		var def value
		if x.fetch == fetchArg { // Ruby evaluates arguments first
			if def, err = st.eval(x.args[1]); err != nil {
				return value{}, err
			}
		}
		if s, ok := st.env(key); ok {
			return value{k: kStr, s: s}, nil
		}
		switch x.fetch {
		case fetchArg:
			return def, nil
		case fetchBlock:
			return st.eval(x.args[1])
		}
		return value{}, st.errorf(x.pos, "%s: %s is not set (set it, or give a default: ENV.fetch(%q, default))", x.src, key, key)
	case opNot:
		v, err := st.eval(x.args[0])
		return boolValue(!v.truthy()), err
	case opAnd, opOr:
		// a || b || c: the first truthy operand, else the last (&&: the
		// first falsy one).
		last := len(x.args) - 1
		for _, a := range x.args[:last] {
			v, err := st.eval(a)
			if err != nil || v.truthy() == (x.op == opOr) {
				return v, err
			}
		}
		return st.eval(x.args[last])
	case opEq, opNe:
		a, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		b, err := st.eval(x.args[1])
		if err != nil {
			return value{}, err
		}
		return st.walk(x, func() value { return boolValue(equal(a, b) == (x.op == opEq)) })
	case opCond:
		c, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		if c.truthy() {
			return st.eval(x.args[1])
		}
		return st.eval(x.args[2])
	case opCall:
		return st.call(x)
	case opAssign:
		v, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		st.vars[x.slot] = v
		return v, nil
	case opArr:
		a, err := st.evalArgs(x.args)
		return value{k: kArr, a: a}, err
	case opHash:
		a, err := st.evalArgs(x.args)
		if err != nil {
			return value{}, err
		}
		return st.walk(x, func() value {
			h := &hash{}
			for i := 0; i+1 < len(a); i += 2 {
				h.set(a[i], a[i+1])
			}
			return value{k: kHash, h: h}
		})
	case opRange:
		ab, err := st.evalArgs(x.args)
		if err != nil {
			return value{}, err
		}
		return st.rangeValue(x, ab[0], ab[1])
	case opIndex:
		recv, args, err := st.recvArgs(x)
		if err != nil {
			return value{}, err
		}
		return st.walkErr(x, func() (value, error) { return st.index(x, recv, args) })
	case opBin:
		ab, err := st.evalArgs(x.args)
		if err != nil {
			return value{}, err
		}
		return st.walkErr(x, func() (value, error) { return st.binary(x, ab[0], ab[1]) })
	case opNeg:
		v, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		switch v.k {
		case kInt:
			return intValue(new(big.Int).Neg(bigOf(v))), nil
		case kFloat:
			return value{k: kFloat, f: -v.f}, nil
		}
		return value{}, st.noMethod(x.args[0], "-@", v)
	case opModIf:
		c, err := st.eval(x.args[0])
		if err != nil || c.truthy() == x.negate {
			return value{}, err
		}
		return st.eval(x.args[1])
	case opCaseEq:
		subj, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		for _, w := range x.args[1:] {
			v, err := st.eval(w)
			if err != nil {
				return value{}, err
			}
			if eq, err := st.walk(x, func() value { return boolValue(caseEq(v, subj)) }); err != nil || eq.truthy() {
				return eq, err
			}
		}
		return value{k: kFalse}, nil
	case opCase:
		if x.args[0] != nil {
			subj, err := st.eval(x.args[0])
			if err != nil {
				return value{}, err
			}
			st.vars[x.slot] = subj
		}
		for _, a := range x.arms {
			c, err := st.eval(a.when)
			if err != nil {
				return value{}, err
			}
			if c.truthy() {
				return st.eval(a.body)
			}
		}
		if len(x.args) > 1 {
			return st.eval(x.args[1])
		}
		return value{}, nil
	case opBlock:
		return st.walkErr(x, func() (value, error) { return st.callBlock(x) })
	case opFunc:
		v, err := st.walkErr(x, func() (value, error) { return st.function(x) })
		if err != nil {
			return value{}, err
		}
		return st.made(x, v)
	case opUnit:
		return st.duration(x)
	case opSafe:
		v, err := st.eval(x.args[0])
		if err != nil || v.k == kNil {
			return value{}, err
		}
		st.vars[x.slot] = v
		return st.eval(x.args[1])
	case opMassign:
		v, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		vals := []value{v}
		if v.k == kArr {
			vals = v.a
		}
		for i, slot := range x.slots {
			st.vars[slot] = value{}
			if i < len(vals) {
				st.vars[slot] = vals[i]
			}
		}
		return v, nil
	case opSeq:
		var v value
		for _, a := range x.args {
			var err error
			if v, err = st.eval(a); err != nil {
				return value{}, err
			}
		}
		return v, nil
	}
	return value{}, st.errorf(x.pos, "internal error: unknown expression")
}

// blank is ActiveSupport's Object#blank?.
func blank(v value) bool {
	switch v.k {
	case kNil, kFalse:
		return true
	case kStr:
		return blankString(v.s)
	case kArr:
		return len(v.a) == 0
	}
	return false
}
