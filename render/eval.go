package render

import (
	"fmt"
	"strings"
)

// Bounds on one rendering, so that a hostile template (loops nested over
// long lists) cannot hang the start-up pipeline. Without loops a template
// evaluates each expression at most once, so its size bounds the work and
// only loops need a limit: maxSteps counts loop iterations and block calls;
// maxLoopWork bounds the expressions evaluated beyond one per byte of the
// template, for a few iterations of a huge loop body.
const (
	maxSteps    = 1_000_000
	maxLoopWork = 20_000_000
	maxOutput   = 64 << 20
)

// A kind is the Ruby class of a value.
type kind uint8

const (
	kNil kind = iota
	kFalse
	kTrue
	kInt // s holds the canonical decimal form, so Integers have no size limit
	kStr
	kArr // a holds the elements: entry's arrays come from String#split
)

// A value is a Ruby value of the supported subset.
type value struct {
	k kind
	s string
	a []string
}

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
	case kInt, kStr:
		return v.s
	}
	return inspectArray(v.a)
}

func equal(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kInt, kStr:
		return a.s == b.s
	case kArr:
		if len(a.a) != len(b.a) {
			return false
		}
		for i := range a.a {
			if a.a[i] != b.a[i] {
				return false
			}
		}
	}
	return true
}

// state is one rendering in progress.
type state struct {
	t      *Template
	env    func(string) (string, bool)
	strict bool
	vars   []value
	steps  int // loop iterations and block calls so far
	work   int // expressions evaluated so far
	out    []byte
}

func (st *state) errorf(pos int, format string, args ...any) error {
	return errorAt(st.t.name, st.t.src, pos, fmt.Sprintf(format, args...))
}

// step counts one loop iteration or block call.
func (st *state) step(pos int) error {
	st.steps++
	if st.steps > maxSteps {
		return st.errorf(pos, "template too expensive: more than %d loop iterations and block calls", maxSteps)
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
			v, err := st.eval(n.x)
			if err != nil {
				return err
			}
			st.out = append(st.out, v.toS()...)
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
			if v.k != kArr {
				return st.noMethod(n.x, "each", v)
			}
			for _, s := range v.a {
				if err := st.step(n.x.pos); err != nil {
					return err
				}
				st.vars[n.slot] = value{k: kStr, s: s}
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
			b.WriteString(v.toS())
		}
		return value{k: kStr, s: b.String()}, nil
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
		return boolValue(equal(a, b) == (x.op == opEq)), nil
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
	}
	return value{}, st.errorf(x.pos, "internal error: unknown expression")
}

func (st *state) call(x *expr) (value, error) {
	recv, err := st.eval(x.args[0])
	if err != nil {
		return value{}, err
	}
	var arg value
	if len(x.args) > 1 {
		if arg, err = st.eval(x.args[1]); err != nil {
			return value{}, err
		}
	}
	switch x.method {
	case mNil:
		return boolValue(recv.k == kNil), nil
	case mBlank:
		return boolValue(blank(recv)), nil
	case mPresent:
		return boolValue(!blank(recv)), nil
	case mPresence:
		if blank(recv) {
			return value{}, nil
		}
		return recv, nil
	case mToS:
		if recv.k == kStr {
			return recv, nil
		}
		return value{k: kStr, s: recv.toS()}, nil
	case mToJSON:
		s, ok := toJSON(recv)
		if !ok {
			return value{}, st.errorf(x.pos, "%s: source sequence is illegal/malformed utf-8 (Ruby's JSON raises here)", x.src)
		}
		return value{k: kStr, s: s}, nil
	case mToI:
		switch recv.k {
		case kNil:
			return value{k: kInt, s: "0"}, nil
		case kInt:
			return recv, nil
		case kStr:
			return value{k: kInt, s: stringToI(recv.s)}, nil
		}
	case mEmpty:
		switch recv.k {
		case kStr:
			return boolValue(recv.s == ""), nil
		case kArr:
			return boolValue(len(recv.a) == 0), nil
		}
	case mInclude:
		switch recv.k {
		case kStr:
			if arg.k != kStr {
				return value{}, st.typeError(x.args[1], arg, "String")
			}
			return boolValue(strings.Contains(recv.s, arg.s)), nil
		case kArr:
			for _, e := range recv.a {
				if arg.k == kStr && arg.s == e {
					return value{k: kTrue}, nil
				}
			}
			return value{k: kFalse}, nil
		}
	case mStrip:
		if recv.k == kStr {
			return value{k: kStr, s: strip(recv.s)}, nil
		}
	case mUpcase:
		if recv.k == kStr {
			return value{k: kStr, s: upcase(recv.s)}, nil
		}
	case mDowncase:
		if recv.k == kStr {
			return value{k: kStr, s: downcase(recv.s)}, nil
		}
	case mSplit:
		if recv.k == kStr {
			if len(x.args) == 1 || arg.k == kNil {
				return value{k: kArr, a: splitAwk(recv.s)}, nil
			}
			if arg.k != kStr {
				return value{}, st.errorf(x.args[1].pos, "wrong argument type %s (expected Regexp) (Ruby raises TypeError here)", arg.rubyClass())
			}
			return value{k: kArr, a: splitString(recv.s, arg.s)}, nil
		}
	}
	return value{}, st.noMethod(x.args[0], methodNames[x.method], recv)
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
