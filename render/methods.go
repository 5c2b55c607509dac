package render

import (
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// This file holds the methods entry implements, with Ruby's semantics.

func (st *state) evalArgs(xs []*expr) ([]value, error) {
	if len(xs) == 0 {
		return nil, nil
	}
	args := make([]value, len(xs))
	for i, a := range xs {
		v, err := st.eval(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	return args, nil
}

// recvArgs evaluates the receiver and then the arguments of a call or
// an index, in Ruby's order.
func (st *state) recvArgs(x *expr) (value, []value, error) {
	recv, err := st.eval(x.args[0])
	if err != nil {
		return value{}, nil, err
	}
	args, err := st.evalArgs(x.args[1:])
	return recv, args, err
}

// call evaluates a method call without a block.
func (st *state) call(x *expr) (value, error) {
	recv, args, err := st.recvArgs(x)
	if err != nil {
		return value{}, err
	}
	return st.method(x, recv, args)
}

// method calls a built-in method and pays for what it made: no method
// can make a String past maxOutput, and a big result costs as much as
// touching it would.
func (st *state) method(x *expr, recv value, args []value) (_ value, err error) {
	defer st.catchTooDeep(x.pos, &err)
	if recv.k == kDuration {
		return st.durationMethod(x, recv, args)
	}
	v, err := st.builtin(x, recv, args)
	if err != nil || sameValue(v, recv) || x.method == mSplit { // split paid first
		return v, err
	}
	return st.made(x, v)
}

// sameValue reports whether a method returned its receiver itself, which
// it did not make.
func sameValue(a, b value) bool {
	switch {
	case a.k != b.k:
		return false
	case a.k == kStr:
		return len(a.s) == len(b.s) && unsafe.StringData(a.s) == unsafe.StringData(b.s)
	case a.k == kArr:
		return len(a.a) == len(b.a) && (len(a.a) == 0 || &a.a[0] == &b.a[0])
	}
	return a.k != kHash || a.h == b.h
}

func (st *state) builtin(x *expr, recv value, args []value) (value, error) {
	work := sizeOf(recv)
	if x.method == mUniq || x.method == mCount && len(args) > 0 {
		work = len(recv.a) * len(recv.a) / 64 // quadratic
	}
	if err := st.charge(x.pos, work); err != nil {
		return value{}, err
	}
	if recv.k == kRange && x.method != mToS && x.method != mInspect && x.method != mToJson {
		// A Range's other methods are its elements' Array's.
		recv = value{k: kArr, a: recv.a}
	}
	var arg value
	if len(args) > 0 {
		arg = args[0]
	}
	argX := func(i int) *expr { return x.args[1+i] }
	switch x.method {
	case mNilP:
		return boolValue(recv.k == kNil), nil
	case mBlankP:
		return boolValue(blank(recv)), nil
	case mPresentP:
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
		return strValue(recv.toS()), nil
	case mInspect:
		return strValue(inspect(recv)), nil
	case mToJson:
		s, problem := toJSON(recv)
		if problem == jsonTooLong {
			return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
		}
		if problem != "" {
			return value{}, st.errorf(x.pos, "%s: %s (Ruby's JSON raises here)", x.src, problem)
		}
		return strValue(s), nil
	case mToI:
		switch recv.k {
		case kNil:
			return intOf(0), nil
		case kInt:
			return recv, nil
		case kStr:
			return value{k: kInt, s: stringToI(recv.s)}, nil
		case kFloat:
			return st.floatToI(x, recv.f)
		}
	case mToF:
		switch recv.k {
		case kNil:
			return value{k: kFloat}, nil
		case kInt, kFloat:
			return value{k: kFloat, f: floatOf(recv)}, nil
		case kStr:
			return value{k: kFloat, f: stringToF(recv.s)}, nil
		}
	case mToSym:
		if recv.k == kStr || recv.k == kSym {
			return value{k: kSym, s: recv.s}, nil
		}
	case mToA:
		switch recv.k {
		case kNil:
			return value{k: kArr}, nil
		case kArr:
			return recv, nil
		case kHash:
			return value{k: kArr, a: pairs(recv.h)}, nil
		}
	case mEmptyP:
		switch recv.k {
		case kStr:
			return boolValue(recv.s == ""), nil
		case kArr:
			return boolValue(len(recv.a) == 0), nil
		case kHash:
			return boolValue(len(recv.h.keys) == 0), nil
		}
	case mIncludeP:
		switch recv.k {
		case kStr:
			if arg.k != kStr {
				return value{}, st.typeError(argX(0), arg, "String")
			}
			return boolValue(strings.Contains(recv.s, arg.s)), nil
		case kArr:
			for _, e := range recv.a {
				if equal(e, arg) {
					return value{k: kTrue}, nil
				}
			}
			return value{k: kFalse}, nil
		case kHash:
			_, ok := recv.h.get(arg)
			return boolValue(ok), nil
		}
	case mKeyP:
		if recv.k == kHash {
			_, ok := recv.h.get(arg)
			return boolValue(ok), nil
		}
	case mStrip, mLstrip, mRstrip, mUpcase, mDowncase, mCapitalize, mChomp:
		if recv.k != kStr {
			break
		}
		switch x.method {
		case mStrip:
			return strValue(strip(recv.s)), nil
		case mLstrip:
			return strValue(strings.TrimLeft(recv.s, "\x00\t\n\v\f\r ")[0:]), nil
		case mRstrip:
			return strValue(strings.TrimRight(recv.s, "\x00\t\n\v\f\r ")), nil
		case mUpcase:
			return strValue(upcase(recv.s)), nil
		case mDowncase:
			return strValue(downcase(recv.s)), nil
		case mCapitalize:
			if recv.s == "" {
				return recv, nil
			}
			r, n := utf8.DecodeRuneInString(recv.s)
			return strValue(upcase(string(r)) + downcase(recv.s[n:])), nil
		}
		if len(args) == 0 {
			return strValue(chomp(recv.s)), nil
		}
		if arg.k != kStr {
			return value{}, st.typeError(argX(0), arg, "String")
		}
		if arg.s == "" {
			return strValue(strings.TrimRight(chompEmpty(recv.s), "")), nil
		}
		return strValue(strings.TrimSuffix(recv.s, arg.s)), nil
	case mStartWithP, mEndWithP:
		if recv.k != kStr {
			break
		}
		for i, a := range args {
			if a.k != kStr {
				return value{}, st.typeError(argX(i), a, "String")
			}
			if x.method == mStartWithP && strings.HasPrefix(recv.s, a.s) || x.method == mEndWithP && strings.HasSuffix(recv.s, a.s) {
				return value{k: kTrue}, nil
			}
		}
		return value{k: kFalse}, nil
	case mGsub, mSub:
		if recv.k != kStr {
			break
		}
		if arg.k != kStr {
			return value{}, st.errorf(argX(0).pos, "wrong argument type %s (expected Regexp) (Ruby raises TypeError here)", arg.rubyClass())
		}
		if args[1].k != kStr {
			return value{}, st.typeError(argX(1), args[1], "String")
		}
		out, ok := substitute(recv.s, arg.s, args[1].s, x.method == mGsub)
		if !ok {
			return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
		}
		return strValue(out), st.charge(x.pos, len(out)>>8)
	case mSplit:
		if recv.k == kStr {
			// Pay for the pieces before making them: a 10 MB string
			// split into characters is 10 million values.
			if err := st.charge(x.pos, splitCount(recv.s, arg)); err != nil {
				return value{}, err
			}
			if len(args) == 0 || arg.k == kNil {
				return value{k: kArr, a: splitAwk(recv.s)}, nil
			}
			if arg.k != kStr {
				return value{}, st.errorf(argX(0).pos, "wrong argument type %s (expected Regexp) (Ruby raises TypeError here)", arg.rubyClass())
			}
			return value{k: kArr, a: splitString(recv.s, arg.s)}, nil
		}
	case mLength, mSize, mCount:
		switch recv.k {
		case kStr:
			if x.method != mCount {
				return intOf(utf8.RuneCountInString(recv.s)), nil
			}
		case kArr:
			if len(args) == 0 {
				return intOf(len(recv.a)), nil
			}
			n := 0
			for _, e := range recv.a {
				if equal(e, arg) {
					n++
				}
			}
			return intOf(n), nil
		case kHash:
			if len(args) == 0 {
				return intOf(len(recv.h.keys)), nil
			}
		}
	case mFirst, mLast:
		if recv.k != kArr {
			break
		}
		a := recv.a
		if len(args) == 0 {
			if len(a) == 0 {
				return value{}, nil
			}
			if x.method == mFirst {
				return a[0], nil
			}
			return a[len(a)-1], nil
		}
		n, err := st.longArg(argX(0), arg)
		if err != nil {
			return value{}, err
		}
		if n < 0 {
			return value{}, st.errorf(x.pos, "negative array size (Ruby raises ArgumentError here)")
		}
		n = min(n, len(a))
		if x.method == mFirst {
			return value{k: kArr, a: a[:n:n]}, nil
		}
		return value{k: kArr, a: a[len(a)-n:]}, nil
	case mJoin:
		if recv.k == kPath {
			parts := make([]string, len(args))
			for i, a := range args {
				if a.k != kStr && a.k != kPath {
					return value{}, st.typeError(argX(i), a, "String")
				}
				parts[i] = a.s
			}
			return value{k: kPath, s: pathnameJoin(recv.s, parts)}, nil
		}
		if recv.k != kArr {
			break
		}
		if len(args) > 1 {
			return value{}, st.errorf(x.pos, "wrong number of arguments (given %d, expected 0..1) (Ruby raises ArgumentError here)", len(args))
		}
		sep := ""
		if len(args) > 0 && arg.k != kNil {
			if arg.k != kStr {
				return value{}, st.typeError(argX(0), arg, "String")
			}
			sep = arg.s
		}
		return st.join(x, recv.a, sep)
	case mCompact:
		switch recv.k {
		case kArr:
			var out []value
			for _, e := range recv.a {
				if e.k != kNil {
					out = append(out, e)
				}
			}
			return value{k: kArr, a: out}, nil
		case kHash:
			h := &hash{}
			for i, k := range recv.h.keys {
				if recv.h.vals[i].k != kNil {
					h.set(k, recv.h.vals[i])
				}
			}
			return value{k: kHash, h: h}, nil
		}
	case mUniq:
		if recv.k == kArr {
			var out []value
			for _, e := range recv.a {
				if !containsEql(out, e) {
					out = append(out, e)
				}
			}
			return value{k: kArr, a: out}, nil
		}
	case mReverse:
		switch recv.k {
		case kArr:
			out := make([]value, len(recv.a))
			for i, e := range recv.a {
				out[len(out)-1-i] = e
			}
			return value{k: kArr, a: out}, nil
		case kStr:
			r := []rune(recv.s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return strValue(string(r)), nil
		}
	case mFlatten:
		if recv.k == kArr {
			return st.flattenCharged(x, recv.a)
		}
	case mSort, mMax, mMin:
		if recv.k != kArr {
			break
		}
		sorted, err := st.sortValues(x, recv.a, nil)
		if err != nil {
			return value{}, err
		}
		switch x.method {
		case mSort:
			return value{k: kArr, a: sorted}, nil
		case mMax:
			if len(sorted) == 0 {
				return value{}, nil
			}
			return sorted[len(sorted)-1], nil
		}
		if len(sorted) == 0 {
			return value{}, nil
		}
		return sorted[0], nil
	case mSum:
		if recv.k == kArr {
			return st.sum(x, recv.a)
		}
	case mAbs:
		switch recv.k {
		case kInt:
			return value{k: kInt, s: strings.TrimPrefix(recv.s, "-")}, nil
		case kFloat:
			return value{k: kFloat, f: math.Abs(recv.f)}, nil
		}
	case mZeroP:
		if isNum(recv) {
			return boolValue(numCmp(recv, intOf(0)) == 0), nil
		}
	case mOddP, mEvenP, mPositiveP, mNegativeP:
		switch {
		case recv.k == kInt && (x.method == mOddP || x.method == mEvenP):
			odd := bigOf(recv).Bit(0) == 1
			return boolValue(odd == (x.method == mOddP)), nil
		case isNum(recv) && (x.method == mPositiveP || x.method == mNegativeP):
			c := numCmp(recv, intOf(0))
			return boolValue(x.method == mPositiveP && c == 1 || x.method == mNegativeP && c == -1), nil
		}
	case mRound, mFloor, mCeil:
		switch recv.k {
		case kInt:
			return recv, nil
		case kFloat:
			f := map[method]func(float64) float64{mRound: math.Round, mFloor: math.Floor, mCeil: math.Ceil}[x.method](recv.f)
			return st.floatToI(x, f)
		}
	case mFreeze, mDup:
		return recv, nil
	case mLjust, mRjust:
		if recv.k != kStr {
			break
		}
		n, err := st.longArg(argX(0), arg)
		if err != nil {
			return value{}, err
		}
		pad := " "
		if len(args) > 1 {
			if args[1].k != kStr {
				return value{}, st.typeError(argX(1), args[1], "String")
			}
			if pad = args[1].s; pad == "" {
				return value{}, st.errorf(x.pos, "zero width padding (Ruby raises ArgumentError here)")
			}
		}
		if n > maxOutput || justifiedLen(recv.s, n, pad) > maxOutput {
			return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
		}
		if err := st.charge(x.pos, n>>8); err != nil {
			return value{}, err
		}
		return strValue(justify(recv.s, n, pad, x.method == mLjust)), nil
	case mKeys, mValues:
		if recv.k == kHash {
			if x.method == mKeys {
				return value{k: kArr, a: append([]value(nil), recv.h.keys...)}, nil
			}
			return value{k: kArr, a: append([]value(nil), recv.h.vals...)}, nil
		}
	case mToH:
		switch recv.k {
		case kHash:
			return recv, nil
		case kArr:
			h := &hash{}
			for _, e := range recv.a {
				if e.k != kArr || len(e.a) != 2 {
					return value{}, st.errorf(x.pos, "wrong element type %s (expected array of 2 elements) (Ruby raises TypeError here)", e.rubyClass())
				}
				h.set(e.a[0], e.a[1])
			}
			return value{k: kHash, h: h}, nil
		}
	case mDig:
		v := recv
		for i, k := range args {
			if v.k == kNil {
				return v, nil
			}
			var err error
			if v, err = st.index(argX(i), v, []value{k}); err != nil {
				return value{}, err
			}
		}
		return v, nil
	case mFetch:
		var v value
		var ok bool
		switch recv.k {
		case kHash:
			v, ok = recv.h.get(arg)
		case kArr:
			n, err := st.longArg(argX(0), arg)
			if err != nil {
				return value{}, err
			}
			i := n
			if i < 0 {
				i += len(recv.a)
			}
			if ok = i >= 0 && i < len(recv.a); ok {
				v = recv.a[i]
			} else if len(args) < 2 {
				return value{}, st.errorf(x.pos, "index %d outside of array bounds: %d...%d (Ruby raises IndexError here; give a default: .fetch(index, default))", n, -len(recv.a), len(recv.a))
			}
		default:
			return value{}, st.noMethod(x.args[0], "fetch", recv)
		}
		if ok {
			return v, nil
		}
		if len(args) > 1 {
			return args[1], nil
		}
		return value{}, st.errorf(x.pos, "key not found: %s (Ruby raises KeyError here; give a default: .fetch(key, default))", inspect(arg))
	}
	return value{}, st.noMethod(x.args[0], methodNames[x.method], recv)
}

// splitCount is how many pieces String#split(sep) makes of s, at most:
// counted without making them.
func splitCount(s string, sep value) int {
	switch {
	case sep.k != kStr || sep.s == " ":
		return strings.Count(s, " ") + strings.Count(s, "\n") + strings.Count(s, "\t") + 1
	case sep.s == "":
		return utf8.RuneCountInString(s)
	}
	return strings.Count(s, sep.s) + 1
}

func pairs(h *hash) []value {
	out := make([]value, len(h.keys))
	for i, k := range h.keys {
		out[i] = value{k: kArr, a: []value{k, h.vals[i]}}
	}
	return out
}

// A walk bounds the elements flatten and join visit and make to what the
// budget can still pay for: nested Arrays that share elements
// (a = [a, a] in a loop) are exponentially many. Visiting or making an
// element costs a step.
type walk struct{ visits, limit int }

func (st *state) newWalk() *walk { return &walk{limit: max(0, maxSteps-st.steps) + 1} }

// more counts one element visited, and reports whether the walk may go on
// with made elements made so far.
func (w *walk) more(made int) bool {
	w.visits++
	return w.visits+made <= w.limit
}

// flatten is Array#flatten, stopping where w runs out. As Ruby's, it
// has no depth limit: the Arrays being walked are a stack of its own.
func flatten(a []value, w *walk) []value {
	var out []value
	stack := [][]value{a}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(*top) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		e := (*top)[0]
		*top = (*top)[1:]
		if !w.more(len(out)) {
			break
		}
		if e.k == kArr {
			stack = append(stack, e.a)
		} else {
			out = append(out, e)
		}
	}
	return out
}

// join is Array#join: nested arrays are joined with the same separator.
// It pays for the elements it visits and the string it makes, and fails
// past the string cap.
func (st *state) join(x *expr, a []value, sep string) (value, error) {
	var b strings.Builder
	w := st.newWalk()
	st.joinTo(&b, a, sep, 0, w)
	if err := st.charge(x.pos, w.visits); err != nil {
		return value{}, err
	}
	return st.made(x, strValue(b.String()))
}

func (st *state) joinTo(b *strings.Builder, a []value, sep string, depth int, w *walk) {
	for i, e := range a {
		if !w.more(b.Len()>>8) || b.Len() > maxOutput {
			return
		}
		if i > 0 {
			b.WriteString(sep)
		}
		if e.k == kArr {
			checkDepth(depth)
			st.joinTo(b, e.a, sep, depth+1, w)
		} else {
			b.WriteString(e.toS())
		}
	}
}

// flattenCharged is flatten, paid for.
func (st *state) flattenCharged(x *expr, a []value) (value, error) {
	w := st.newWalk()
	out := flatten(a, w)
	if err := st.charge(x.pos, w.visits); err != nil {
		return value{}, err
	}
	return st.made(x, value{k: kArr, a: out})
}

// made checks and pays for a value a built-in method made: a String
// longer than maxOutput is refused; a String costs a step per 256 bytes,
// an Array or Hash a step per element.
func (st *state) made(x *expr, v value) (value, error) {
	cost := 0
	switch v.k {
	case kStr, kPath:
		if len(v.s) > maxOutput {
			return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
		}
		cost = len(v.s) >> 8
	case kArr:
		cost = len(v.a)
	case kHash:
		cost = len(v.h.keys)
	}
	if err := st.charge(x.pos, cost); err != nil {
		return value{}, err
	}
	return v, nil
}

// compare is Ruby's <=> for sorting: numbers with numbers, strings with
// strings, arrays element by element.
func compare(a, b value) (int, bool) { return compareAt(a, b, 0) }

func compareAt(a, b value, depth int) (int, bool) {
	switch {
	case isNum(a) && isNum(b):
		c := numCmp(a, b)
		return c, c != 2
	case a.k == kStr && b.k == kStr:
		return strings.Compare(a.s, b.s), true
	case a.k == kArr && b.k == kArr:
		checkDepth(depth)
		for i := 0; i < len(a.a) && i < len(b.a); i++ {
			if c, ok := compareAt(a.a[i], b.a[i], depth+1); !ok || c != 0 {
				return c, ok
			}
		}
		return compareInt(len(a.a), len(b.a)), true
	}
	return 0, false
}

func compareInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortValues sorts list (by keys when given) stably, failing as Ruby does
// on values that do not compare.
func (st *state) sortValues(x *expr, list, keys []value) ([]value, error) {
	if keys == nil {
		keys = list
	}
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	var bad error
	sort.SliceStable(idx, func(i, j int) bool {
		c, ok := compare(keys[idx[i]], keys[idx[j]])
		if !ok && bad == nil {
			a, b := keys[min(idx[i], idx[j])], keys[max(idx[i], idx[j])]
			bad = st.errorf(x.pos, "comparison of %s with %s failed (Ruby raises ArgumentError here)", a.rubyClass(), inspectShort(b))
		}
		return c < 0
	})
	if bad != nil {
		return nil, bad
	}
	out := make([]value, len(list))
	for i, k := range idx {
		out[i] = list[k]
	}
	return out, nil
}

func (st *state) sum(x *expr, a []value) (value, error) {
	acc := intOf(0)
	if len(a) > 0 && a[0].k == kDuration { // ActiveSupport's sum: inject(:+)
		acc, a = a[0], a[1:]
	}
	for _, e := range a {
		if !isNum(e) && e.k != kDuration {
			if e.k == kStr {
				return value{}, st.errorf(x.pos, "String can't be coerced into Integer (Ruby raises TypeError here; use .join)")
			}
			return value{}, st.errorf(x.pos, "%s can't be coerced into Integer (Ruby raises TypeError here)", e.rubyClass())
		}
		var err error
		if acc, err = st.binary(&expr{bop: bAdd, pos: x.pos, args: x.args}, acc, e); err != nil {
			return value{}, err
		}
	}
	return acc, nil
}

func (st *state) floatToI(x *expr, f float64) (value, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return value{}, st.errorf(x.pos, "%s (Ruby raises FloatDomainError here)", formatFloat(f))
	}
	n, _ := big.NewFloat(math.Trunc(f)).Int(nil)
	return intValue(n), nil
}

// chomp is String#chomp: one trailing \r\n, \n or \r.
func chomp(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "\n"), strings.HasSuffix(s, "\r"):
		return s[:len(s)-1]
	}
	return s
}

// chompEmpty is String#chomp(""): all trailing \n and \r\n.
func chompEmpty(s string) string {
	for {
		switch {
		case strings.HasSuffix(s, "\r\n"):
			s = s[:len(s)-2]
		case strings.HasSuffix(s, "\n"):
			s = s[:len(s)-1]
		default:
			return s
		}
	}
}

// substitute is String#sub/gsub with a string pattern. The replacement's
// backslash sequences mean what they mean in Ruby: \0 and \& the match,
// \` and \' the text before and after it, \\ a backslash, \1-\9 and \k<>
// nothing (a string pattern has no groups).
func substitute(s, pat, repl string, global bool) (string, bool) {
	var b strings.Builder
	pos := 0
	for pos <= len(s) {
		if b.Len() > maxOutput {
			return "", false
		}
		i := strings.Index(s[pos:], pat)
		if i < 0 {
			break
		}
		i += pos
		b.WriteString(s[pos:i])
		expandRepl(&b, repl, s, i, i+len(pat))
		pos = i + len(pat)
		if pat == "" {
			if pos < len(s) {
				_, n := utf8.DecodeRuneInString(s[pos:])
				b.WriteString(s[pos : pos+n])
				pos += n
			} else {
				pos++
			}
		}
		if !global {
			break
		}
	}
	if pos < len(s) {
		b.WriteString(s[pos:])
	}
	return b.String(), b.Len() <= maxOutput
}

func expandRepl(b *strings.Builder, repl, s string, from, to int) {
	if strings.IndexByte(repl, '\\') < 0 {
		b.WriteString(repl)
		return
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 == len(repl) {
			b.WriteByte(c)
			continue
		}
		i++
		switch d := repl[i]; {
		case d == '0' || d == '&':
			b.WriteString(s[from:to])
		case d == '`':
			b.WriteString(s[:from])
		case d == '\'':
			b.WriteString(s[to:])
		case d == '\\':
			b.WriteByte('\\')
		case isDigit(d):
		case d == 'k' && i+1 < len(repl) && repl[i+1] == '<':
			if j := strings.IndexByte(repl[i:], '>'); j > 0 {
				i += j
			} else {
				b.WriteString(`\k`)
			}
		default:
			b.WriteByte('\\')
			b.WriteByte(d)
		}
	}
}

// stringToF is Ruby's String#to_f: the longest leading decimal number
// (underscores between digits), 0.0 when there is none.
func stringToF(s string) float64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	var b strings.Builder
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		b.WriteByte(s[i])
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) {
			if isDigit(s[i]) {
				b.WriteByte(s[i])
				i++
				n++
				continue
			}
			if s[i] == '_' && n > 0 && i+1 < len(s) && isDigit(s[i+1]) {
				i++
				continue
			}
			break
		}
		return n
	}
	if digits() == 0 && !(i+1 < len(s) && s[i] == '.' && isDigit(s[i+1])) {
		return 0
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		b.WriteByte('.')
		i++
		digits()
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		save, saveLen := i, b.Len()
		e := "e"
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			e += string(s[i])
			i++
		}
		b.WriteString(e)
		if digits() == 0 {
			i = save
			t := b.String()[:saveLen]
			b.Reset()
			b.WriteString(t)
		}
	}
	f, err := strconv.ParseFloat(b.String(), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0
	}
	return f
}

// justify is String#ljust (left) and #rjust: pad with pad's characters,
// repeated and cut, to n characters.
func justify(s string, n int, pad string, left bool) string {
	fill := padding(n-utf8.RuneCountInString(s), pad)
	if left {
		return s + fill
	}
	return fill + s
}

// padding is missing characters of pad, repeated and cut.
func padding(missing int, pad string) string {
	if missing <= 0 {
		return ""
	}
	chars := utf8.RuneCountInString(pad)
	return strings.Repeat(pad, missing/chars) + cutChars(pad, missing%chars)
}

// cutChars is the first n characters of s.
func cutChars(s string, n int) string {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// justifiedLen is the length in bytes of justify(s, n, pad), counted
// before it is made; n is at most maxOutput.
func justifiedLen(s string, n int, pad string) int {
	missing := n - utf8.RuneCountInString(s)
	if missing <= 0 {
		return len(s)
	}
	chars := utf8.RuneCountInString(pad)
	return len(s) + missing/chars*len(pad) + len(cutChars(pad, missing%chars))
}
