package render

import (
	"math/big"
	"strings"
)

// This file holds the methods that take a block, indexing and case's ===.

// caseEq is pattern === v for the patterns entry allows after when:
// values, compared with ==.
func caseEq(pattern, v value) bool { return equal(pattern, v) }

// bind sets a block's parameters from the values yielded, as Ruby does
// for a block (not a lambda): one Array yielded to several parameters is
// spread over them; missing values are nil.
func (st *state) bind(slot, nparams, slotEnd int, yielded ...value) {
	clear(st.vars[slot:slotEnd])
	if nparams > 1 && len(yielded) == 1 && yielded[0].k == kArr {
		yielded = yielded[0].a
	}
	for i := 0; i < nparams && i < len(yielded); i++ {
		st.vars[slot+i] = yielded[i]
	}
}

// elements returns what each yields: an Array's elements, a Hash's
// [key, value] pairs.
func elements(v value) ([]value, bool) {
	switch v.k {
	case kArr, kRange:
		return v.a, true
	case kHash:
		return pairs(v.h), true
	}
	return nil, false
}

// callBlock evaluates recv.method(args) { |params| blk }.
func (st *state) callBlock(x *expr) (value, error) {
	recv, args, err := st.recvArgs(x)
	if err != nil {
		return value{}, err
	}
	if x.blk == nil {
		return st.method(x, recv, args)
	}
	list, ok := elements(recv)
	if !ok {
		return value{}, st.noMethod(x.args[0], methodNames[x.method], recv)
	}
	if recv.k == kHash && (x.method == mSelect || x.method == mFilter || x.method == mReject) {
		// Hash#select and #reject return a Hash.
		h := &hash{}
		for i, k := range recv.h.keys {
			r, err := st.yield(x, k, recv.h.vals[i])
			if err != nil {
				return value{}, err
			}
			if r.truthy() == (x.method != mReject) {
				h.set(k, recv.h.vals[i])
			}
		}
		return value{k: kHash, h: h}, nil
	}
	var out []value
	var keys []value
	count := 0
	for i, e := range list {
		var r value
		if x.method == mEachWithIndex {
			r, err = st.yield(x, e, intOf(i))
		} else {
			r, err = st.yield(x, e)
		}
		if err != nil {
			return value{}, err
		}
		switch x.method {
		case mMap, mCollect:
			out = append(out, r)
		case mFlatMap:
			if r.k == kArr {
				out = append(out, r.a...)
			} else {
				out = append(out, r)
			}
		case mFilterMap:
			if r.truthy() {
				out = append(out, r)
			}
		case mSelect, mFilter:
			if r.truthy() {
				out = append(out, e)
			}
		case mReject:
			if !r.truthy() {
				out = append(out, e)
			}
		case mFind, mDetect:
			if r.truthy() {
				return e, nil
			}
		case mAnyP:
			if r.truthy() {
				return value{k: kTrue}, nil
			}
		case mAllP:
			if !r.truthy() {
				return value{k: kFalse}, nil
			}
		case mNoneP:
			if r.truthy() {
				return value{k: kFalse}, nil
			}
		case mCount:
			if r.truthy() {
				count++
			}
		case mSum, mSortBy:
			keys = append(keys, r)
		case mToH:
			if r.k != kArr || len(r.a) != 2 {
				return value{}, st.errorf(x.pos, "wrong element type %s at %d (expected array) (Ruby raises TypeError here)", r.rubyClass(), i)
			}
			out = append(out, r)
		}
	}
	switch x.method {
	case mFind, mDetect:
		return value{}, nil
	case mAnyP:
		return value{k: kFalse}, nil
	case mAllP, mNoneP:
		return value{k: kTrue}, nil
	case mCount:
		return intOf(count), nil
	case mSum:
		return st.sum(x, keys)
	case mSortBy:
		sorted, err := st.sortValues(x, list, keys)
		return value{k: kArr, a: sorted}, err
	case mToH:
		return st.method(&expr{method: mToH, pos: x.pos, args: x.args[:1]}, value{k: kArr, a: out}, nil)
	case mEachWithIndex:
		return recv, nil
	}
	return value{k: kArr, a: out}, nil
}

// yield runs x's block with the values given.
func (st *state) yield(x *expr, vals ...value) (value, error) {
	if err := st.step(x.pos); err != nil {
		return value{}, err
	}
	st.bind(x.slot, x.nparams, x.slotEnd, vals...)
	return st.eval(x.blk)
}

// index is recv[args]: an Array by position (negative from the end, or
// start and length), a String by character, a Hash by key.
func (st *state) index(x *expr, recv value, args []value) (value, error) {
	if err := st.charge(x.pos, sizeOf(recv)); err != nil {
		return value{}, err
	}
	switch recv.k {
	case kHash:
		if len(args) == 1 {
			v, _ := recv.h.get(args[0])
			return v, nil
		}
	case kStr:
		if len(args) == 1 && args[0].k == kStr {
			// "abc"["b"]: the String when it occurs.
			if strings.Contains(recv.s, args[0].s) {
				return args[0], nil
			}
			return value{}, nil
		}
		fallthrough
	case kArr:
		var n int
		if recv.k == kArr {
			n = len(recv.a)
		} else {
			n = len([]rune(recv.s))
		}
		if len(args) < 1 || len(args) > 2 {
			break
		}
		if len(args) == 1 && args[0].k == kRange {
			// a[from..to]: the ends count from the end when negative.
			from, to, excl, err := st.rangeEnds(x, args[0])
			if err != nil {
				return value{}, err
			}
			if from < 0 {
				from += n
			}
			if to < 0 {
				to += n
			}
			to = min(to, n) // past the end is the end, without overflowing below
			if excl {
				to--
			}
			args = []value{intOf(from), intOf(max(0, to-from+1))}
			if from < 0 {
				return value{}, nil
			}
		}
		idx := make([]int, len(args))
		for i, a := range args {
			v, err := st.longArg(x, a)
			if err != nil {
				return value{}, err
			}
			idx[i] = v
		}
		start := idx[0]
		if start < 0 {
			start += n
		}
		if len(idx) == 1 {
			if start < 0 || start >= n {
				return value{}, nil
			}
			if recv.k == kArr {
				return recv.a[start], nil
			}
			return strValue(string([]rune(recv.s)[start])), nil
		}
		length := idx[1]
		if start < 0 || start > n || length < 0 {
			return value{}, nil
		}
		end := start + min(n-start, length)
		if recv.k == kArr {
			return value{k: kArr, a: recv.a[start:end:end]}, nil
		}
		return strValue(string([]rune(recv.s)[start:end])), nil
	}
	if recv.k == kNil {
		return value{}, st.noMethod(x.args[0], "[]", recv)
	}
	return value{}, st.errorf(x.pos, "%s[...] with %d arguments is not supported (index an Array, a String or a Hash with one)", recv.rubyClass(), len(args))
}

// rangeValue is a..b of Integers of any size, kept with its elements (at
// most maxSteps of them, as a loop over it could take no more).
func (st *state) rangeValue(x *expr, a, b value) (value, error) {
	if a.k != kInt || b.k != kInt {
		return value{}, st.errorf(x.pos, "entry supports ranges of Integers only (%s..%s)", a.rubyClass(), b.rubyClass())
	}
	dots := ".."
	from, to := bigOf(a), bigOf(b)
	if x.negate {
		dots = "..."
		to.Sub(to, big.NewInt(1))
	}
	count := new(big.Int).Sub(to, from)
	if count.Cmp(big.NewInt(maxSteps)) >= 0 {
		return value{}, st.errorf(x.pos, "range of more than %d elements (entry makes a range's elements; Ruby would loop over them)", maxSteps)
	}
	n := int(max(-1, count.Int64())) + 1
	if err := st.charge(x.pos, n); err != nil {
		return value{}, err
	}
	elems := make([]value, n)
	for i := range elems {
		elems[i] = intValue(from)
		from.Add(from, big.NewInt(1))
	}
	return value{k: kRange, s: a.s + dots + b.s, a: elems}, nil
}

// rangeEnds reads the ends of an Integer Range back from its inspect, as
// Ruby's NUM2LONG converts them for indexing.
func (st *state) rangeEnds(x *expr, r value) (from, to int, excl bool, err error) {
	a, b, _ := strings.Cut(r.s, "..")
	if strings.HasPrefix(b, ".") {
		b, excl = b[1:], true
	}
	if from, err = st.longArg(x, value{k: kInt, s: a}); err != nil {
		return 0, 0, false, err
	}
	to, err = st.longArg(x, value{k: kInt, s: b})
	return from, to, excl, err
}

// times is what Integer#times yields: 0 to n-1.
func (st *state) times(x *expr, v value) ([]value, bool, error) {
	if v.k != kInt {
		return nil, false, nil
	}
	if v.s[0] == '-' {
		return nil, true, nil // Ruby loops zero times
	}
	n, ok := smallInt(v)
	if !ok || n > maxSteps {
		return nil, false, st.errorf(x.pos, "%s.times: more than %d passes", v.s, maxSteps)
	}
	if err := st.charge(x.pos, max(n, 0)); err != nil {
		return nil, false, err
	}
	list := make([]value, max(n, 0))
	for i := range list {
		list[i] = intOf(i)
	}
	return list, true, nil
}

// charge counts work that grows with the size of a value (n units: an
// element, or a KiB of string) as evaluation steps, so that a method on a
// big list inside a loop cannot run unbounded.
func (st *state) charge(pos, n int) error {
	st.steps += n
	return st.step(pos)
}

// sizeOf is the work unit count of touching v once: an eighth of its
// elements, or its KiB.
func sizeOf(v value) int {
	switch v.k {
	case kArr, kRange:
		return len(v.a) / 8
	case kHash:
		return len(v.h.keys) / 8
	case kStr:
		return len(v.s) >> 10
	}
	return 0
}
