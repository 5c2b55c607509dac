package render

import (
	"runtime"
	"slices"
	"strings"
)

// This file holds ActiveSupport's durations (5.minutes, 2.hours + 30.minutes),
// which Rails config templates use for timeouts, as ActiveSupport 6.1 to
// 8.0 define them: a number of seconds (printed by to_s and <%= %>) and
// the parts it was made of (printed by inspect), and the processor count
// (Etc.nprocessors, Concurrent.processor_count).

// durationUnits are the units in the order inspect lists them, with their
// length in seconds (ActiveSupport::Duration's SECONDS_PER_*: a month is a
// twelfth of a Gregorian year).
var durationUnits = []struct {
	name    string
	seconds int64
}{
	{"years", 31556952}, {"months", 2629746}, {"weeks", 604800}, {"days", 86400},
	{"hours", 3600}, {"minutes", 60}, {"seconds", 1},
}

// durationMethods maps the Numeric methods that make a duration to its
// unit and how many of it one is (a fortnight is 2 weeks), and the
// Duration methods that convert it (in_minutes...) to "in".
var durationMethods = map[string]struct {
	unit string
	n    int64
}{
	"second": {"seconds", 1}, "seconds": {"seconds", 1}, "minute": {"minutes", 1}, "minutes": {"minutes", 1},
	"hour": {"hours", 1}, "hours": {"hours", 1}, "day": {"days", 1}, "days": {"days", 1},
	"week": {"weeks", 1}, "weeks": {"weeks", 1}, "fortnight": {"weeks", 2}, "fortnights": {"weeks", 2},
	"month": {"months", 1}, "months": {"months", 1}, "year": {"years", 1}, "years": {"years", 1},
	"in_milliseconds": {"in", 0}, "in_seconds": {"in", 1}, "in_minutes": {"in", 60}, "in_hours": {"in", 3600},
	"in_days": {"in", 86400}, "in_weeks": {"in", 604800}, "in_months": {"in", 2629746}, "in_years": {"in", 31556952},
}

// unitSeconds returns the length of a unit in seconds.
func unitSeconds(unit string) int64 { return durationUnits[unitOrder(unit)].seconds }

// unitOrder returns the place of unit in durationUnits.
func unitOrder(unit string) int {
	for i, u := range durationUnits {
		if u.name == unit {
			return i
		}
	}
	return len(durationUnits) - 1
}

// parseDuration makes the call of a duration method name on recv, at
// nameAt: opUnit, its name in src.
func (p *parser) parseDuration(start, nameAt int, recv *expr, name string) *expr {
	if p.peek() == '(' {
		p.fail(nameAt, ".%s takes no arguments", name)
	}
	return &expr{op: opUnit, pos: p.seg.srcOffset(nameAt), src: p.s[start:p.i], val: value{k: kSym, s: name}, args: []*expr{recv}}
}

// newDuration is a duration of total seconds made of parts (a Hash of unit
// Symbols to numbers). Unless the total is zero, parts of zero are
// dropped, as ActiveSupport's initializer does (1.minute + 0.seconds is
// "1 minute", 1.hour - 1.hour "0 hours").
func newDuration(total value, parts *hash) value {
	if !equal(total, intOf(0)) {
		kept := &hash{}
		for i, k := range parts.keys {
			if !equal(parts.vals[i], intOf(0)) {
				kept.set(k, parts.vals[i])
			}
		}
		parts = kept
	}
	return value{k: kDuration, a: []value{total}, h: parts}
}

// durationValue is the number of seconds of duration d.
func durationValue(d value) value { return d.a[0] }

// duration evaluates a duration method: 5.minutes, 1.5.hours,
// 1.hour.in_minutes, 1.hour.seconds (a Duration passes other methods to
// its number of seconds, as ActiveSupport's method_missing does).
func (st *state) duration(x *expr) (value, error) {
	recv, err := st.eval(x.args[0])
	if err != nil {
		return value{}, err
	}
	name := x.val.s
	m := durationMethods[name]
	if m.unit == "in" {
		if recv.k != kDuration {
			return value{}, st.noMethodValue(x, name, recv)
		}
		v := durationValue(recv)
		switch name {
		case "in_milliseconds": // ActiveSupport 6.1: value * 1000
			return st.arith(x, bMul, v, intOf(1000))
		case "in_seconds": // to_i
			return st.method(&expr{op: opCall, method: mToI, pos: x.pos, src: x.src, args: x.args}, v, nil)
		}
		i, err := st.method(&expr{op: opCall, method: mToI, pos: x.pos, src: x.src, args: x.args}, v, nil)
		if err != nil {
			return value{}, err
		}
		return value{k: kFloat, f: floatOf(i) / float64(m.n)}, nil
	}
	if recv.k == kDuration {
		recv = durationValue(recv)
	}
	if !isNum(recv) {
		return value{}, st.noMethodValue(x, name, recv)
	}
	n := recv
	if m.n != 1 {
		if n, err = st.arith(x, bMul, recv, intOf(int(m.n))); err != nil {
			return value{}, err
		}
	}
	total, err := st.arith(x, bMul, n, intOf(int(unitSeconds(m.unit))))
	if err != nil {
		return value{}, err
	}
	parts := &hash{}
	parts.set(value{k: kSym, s: m.unit}, n)
	return newDuration(total, parts), nil
}

// noMethodValue is NoMethodError for a method called on v.
func (st *state) noMethodValue(x *expr, name string, v value) error {
	return st.errorf(x.pos, "undefined method '%s' for %s (Ruby raises NoMethodError here)", name, v.className())
}

// arith is a op b on numbers.
func (st *state) arith(x *expr, op binop, a, b value) (value, error) {
	return st.binary(&expr{op: opBin, bop: op, pos: x.pos, src: x.src, args: []*expr{x, x}}, a, b)
}

// durationMethod is a method called on a duration: inspect, to_json and
// what ActiveSupport's Object gives it (blank?, present?, presence, nil?);
// any other goes to its number of seconds, as Duration#method_missing
// does (to_i, to_s, zero?, ...).
func (st *state) durationMethod(x *expr, d value, args []value) (value, error) {
	switch x.method {
	case mInspect:
		return strValue(durationInspect(d)), nil
	case mToJson:
		v, err := st.method(&expr{op: opCall, method: mToI, pos: x.pos, src: x.src, args: x.args}, durationValue(d), nil)
		return strValue(v.toS()), err
	case mBlankP, mNilP:
		return value{k: kFalse}, nil
	case mPresentP:
		return value{k: kTrue}, nil
	case mPresence, mFreeze, mDup:
		return d, nil
	}
	return st.builtin(x, durationValue(d), args)
}

// durationInspect is Duration#inspect: "5 minutes", "1 hour and 30
// minutes", "1 day, 2 hours, and 3 minutes".
func durationInspect(d value) string {
	if len(d.h.keys) == 0 {
		return durationValue(d).toS() + " seconds"
	}
	type part struct {
		order int
		text  string
	}
	var parts []part
	for i, k := range d.h.keys {
		v := d.h.vals[i]
		unit := k.s
		if equal(v, intOf(1)) { // 1.0 too, as Ruby's val == 1
			unit = strings.TrimSuffix(unit, "s")
		}
		parts = append(parts, part{unitOrder(k.s), v.toS() + " " + unit})
	}
	slices.SortStableFunc(parts, func(a, b part) int { return a.order - b.order })
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.text
	}
	switch len(texts) {
	case 1:
		return texts[0]
	case 2:
		return texts[0] + " and " + texts[1]
	}
	return strings.Join(texts[:len(texts)-1], ", ") + ", and " + texts[len(texts)-1]
}

// durationBinary is arithmetic and comparison with a duration on either
// side, as ActiveSupport's: + and - merge the parts (a number counts as
// seconds), * scales them, / by a number gives seconds, / by a duration
// a number; comparisons compare the seconds.
func (st *state) durationBinary(x *expr, a, b value) (value, error) {
	num := func(v value) value {
		if v.k == kDuration {
			return durationValue(v)
		}
		return v
	}
	if !isNum(num(b)) { // a is the duration: Ruby's error is its number's
		if x.bop >= bLt {
			return value{}, st.errorf(x.pos, "comparison of %s with %s failed (Ruby raises ArgumentError here)", num(a).rubyClass(), inspectShort(b))
		}
		return value{}, st.errorf(x.pos, "%s can't be coerced into %s (Ruby raises TypeError here)", b.rubyClass(), num(a).rubyClass())
	}
	total, err := st.binary(x, num(a), num(b))
	if err != nil || x.bop >= bLt {
		return total, err
	}
	partsOf := func(v value) *hash {
		if v.k == kDuration {
			return v.h
		}
		h := &hash{}
		h.set(value{k: kSym, s: "seconds"}, v)
		return h
	}
	switch x.bop {
	case bAdd, bSub:
		// n - d is -d + n in ActiveSupport: the duration's parts negated.
		left, right := partsOf(a), partsOf(b)
		sign := intOf(1)
		if x.bop == bSub && a.k != kDuration {
			left, right = right, left
			neg := &hash{}
			for i, k := range left.keys {
				v, err := st.arith(x, bMul, left.vals[i], intOf(-1))
				if err != nil {
					return value{}, err
				}
				neg.set(k, v)
			}
			left = neg
		} else if x.bop == bSub {
			sign = intOf(-1)
		}
		parts := &hash{keys: slices.Clone(left.keys), vals: slices.Clone(left.vals)}
		for i, k := range right.keys {
			v, err := st.arith(x, bMul, right.vals[i], sign)
			if err != nil {
				return value{}, err
			}
			if old, ok := parts.get(k); ok {
				if v, err = st.arith(x, bAdd, old, v); err != nil {
					return value{}, err
				}
			}
			parts.set(k, v)
		}
		return newDuration(total, parts), nil
	case bMul:
		d, n := a, num(b)
		if a.k != kDuration {
			d, n = b, a
		}
		parts := &hash{}
		for i, k := range d.h.keys {
			v, err := st.arith(x, bMul, d.h.vals[i], n)
			if err != nil {
				return value{}, err
			}
			parts.set(k, v)
		}
		return newDuration(total, parts), nil
	case bDiv:
		if a.k == kDuration && b.k != kDuration {
			return newDuration(total, partsOf(total)), nil
		}
		return total, nil
	}
	return value{}, st.errorf(x.pos, "undefined method '%s' for an ActiveSupport::Duration (Ruby raises NoMethodError here)", binopNames[x.bop])
}

// nprocessors is Etc.nprocessors and Concurrent.processor_count: the CPUs
// this process may run on (its affinity mask, as Ruby's Etc.nprocessors
// and Go's runtime.NumCPU count them).
func nprocessors() value { return intOf(runtime.NumCPU()) }
