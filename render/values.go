package render

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file holds Ruby's semantics of numbers, inspect and the binary
// operators, each checked byte for byte against Ruby by the conformance
// tests.

func isNum(v value) bool { return v.k == kInt || v.k == kFloat }

func intValue(n *big.Int) value { return value{k: kInt, s: n.String()} }

func intOf(i int) value { return value{k: kInt, s: strconv.Itoa(i)} }

func bigOf(v value) *big.Int {
	n, ok := new(big.Int).SetString(v.s, 10)
	if !ok {
		return new(big.Int)
	}
	return n
}

// smallInt returns v as an int when it fits.
func smallInt(v value) (int, bool) {
	n, err := strconv.Atoi(v.s)
	return n, err == nil
}

// floatOf converts a number to a float64 as Ruby's Integer#to_f does.
func floatOf(v value) float64 {
	if v.k == kFloat {
		return v.f
	}
	f, _ := new(big.Float).SetInt(bigOf(v)).Float64()
	return f
}

// numCmp compares two numbers; NaN compares as 2 (unordered).
func numCmp(a, b value) int {
	if a.k == kInt && b.k == kInt {
		return bigOf(a).Cmp(bigOf(b))
	}
	x, y := floatOf(a), floatOf(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	}
	return 2
}

// formatFloat is Ruby's Float#to_s: the shortest digits that read back,
// fixed notation for 1e-4 <= |f| < 1e16, else d.ddde+XX.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := x + 1 // digits are 0.DIGITS * 10^decpt
	if decpt > -4 && decpt <= 15 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		}
		return sign + digits[:decpt] + "." + digits[decpt:]
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	es := strconv.Itoa(abs(decpt - 1))
	if len(es) < 2 {
		es = "0" + es
	}
	esign := "+"
	if decpt-1 < 0 {
		esign = "-"
	}
	return sign + digits[:1] + "." + frac + "e" + esign + es
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// inspect is Ruby's inspect (Ruby 3.1's forms: {"a"=>1}).
func inspect(v value) string {
	var b strings.Builder
	inspectTo(&b, v, 0)
	return b.String()
}

func inspectTo(b *strings.Builder, v value, depth int) {
	switch v.k {
	case kDuration:
		b.WriteString(durationInspect(v))
	case kNil:
		b.WriteString("nil")
	case kStr:
		inspectString(b, v.s)
	case kSym:
		b.WriteByte(':')
		if isPlainSymbol(v.s) {
			b.WriteString(v.s)
		} else {
			inspectString(b, v.s)
		}
	case kPath:
		b.WriteString("#<Pathname:" + v.s + ">")
	case kArr:
		checkDepth(depth)
		b.WriteByte('[')
		for i, e := range v.a {
			if b.Len() > maxOutput {
				return // shared elements can make it exponential: cut, the caller refuses it
			}
			if i > 0 {
				b.WriteString(", ")
			}
			inspectTo(b, e, depth+1)
		}
		b.WriteByte(']')
	case kHash:
		checkDepth(depth)
		b.WriteByte('{')
		for i, k := range v.h.keys {
			if b.Len() > maxOutput {
				return
			}
			if i > 0 {
				b.WriteString(", ")
			}
			inspectTo(b, k, depth+1)
			b.WriteString("=>")
			inspectTo(b, v.h.vals[i], depth+1)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.toS())
	}
}

// isPlainSymbol reports whether :name needs no quotes.
func isPlainSymbol(s string) bool {
	if s == "" || !isIdentStart(s[0]) || isDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) && !(i == len(s)-1 && (s[i] == '?' || s[i] == '!' || s[i] == '=')) {
			return false
		}
	}
	return true
}

// binary applies an arithmetic or comparison operator as Ruby does.
func (st *state) binary(x *expr, a, b value) (value, error) {
	work := sizeOf(a) + sizeOf(b)
	if a.k == kArr && b.k == kArr && x.bop == bSub {
		work = len(a.a) * len(b.a) / 64 // quadratic
	}
	if err := st.charge(x.pos, work); err != nil {
		return value{}, err
	}
	if a.k == kDuration || b.k == kDuration && isNum(a) {
		return st.durationBinary(x, a, b)
	}
	op := x.bop
	name := binopNames[op]
	switch {
	case isNum(a) && isNum(b):
		if op >= bLt {
			c := numCmp(a, b)
			if c == 2 {
				return value{k: kFalse}, nil
			}
			switch op {
			case bLt:
				return boolValue(c < 0), nil
			case bGt:
				return boolValue(c > 0), nil
			case bLe:
				return boolValue(c <= 0), nil
			}
			return boolValue(c >= 0), nil
		}
		if a.k == kInt && b.k == kInt {
			return st.intArith(x, op, bigOf(a), bigOf(b))
		}
		return value{k: kFloat, f: floatArith(op, floatOf(a), floatOf(b))}, nil
	case isNum(a):
		if b.k == kNil || b.k == kTrue || b.k == kFalse || b.k == kStr || b.k == kArr || b.k == kHash || b.k == kSym {
			if op >= bLt {
				return value{}, st.errorf(x.pos, "comparison of %s with %s failed (Ruby raises ArgumentError here)", a.rubyClass(), inspectShort(b))
			}
			return value{}, st.errorf(x.pos, "%s can't be coerced into %s (Ruby raises TypeError here)", b.rubyClass(), a.rubyClass())
		}
	case a.k == kStr:
		switch op {
		case bAdd:
			if b.k != kStr {
				return value{}, st.typeError(x.args[1], b, "String")
			}
			if len(a.s)+len(b.s) > maxOutput {
				return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
			}
			return strValue(a.s + b.s), nil
		case bMul:
			n, err := st.longArg(x.args[1], b)
			if err != nil {
				return value{}, err
			}
			if n < 0 {
				return value{}, st.errorf(x.pos, "negative argument (Ruby raises ArgumentError here)")
			}
			if n > 0 && len(a.s) > maxOutput/n {
				return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
			}
			if err := st.charge(x.pos, len(a.s)*n>>8); err != nil {
				return value{}, err
			}
			return strValue(strings.Repeat(a.s, n)), nil
		case bMod:
			return st.format(x, a.s, formatArgs(b))
		case bLt, bGt, bLe, bGe:
			if b.k != kStr {
				return value{}, st.errorf(x.pos, "comparison of String with %s failed (Ruby raises ArgumentError here)", inspectShort(b))
			}
			c := strings.Compare(a.s, b.s)
			return boolValue(op == bLt && c < 0 || op == bGt && c > 0 || op == bLe && c <= 0 || op == bGe && c >= 0), nil
		}
	case a.k == kArr:
		switch op {
		case bAdd:
			if b.k != kArr {
				return value{}, st.typeError(x.args[1], b, "Array")
			}
			if len(a.a)+len(b.a) > maxSteps {
				return value{}, st.errorf(x.pos, "array longer than %d elements", maxSteps)
			}
			return value{k: kArr, a: append(append([]value(nil), a.a...), b.a...)}, nil
		case bSub:
			if b.k != kArr {
				return value{}, st.typeError(x.args[1], b, "Array")
			}
			var out []value
			for _, e := range a.a {
				if !containsEql(b.a, e) {
					out = append(out, e)
				}
			}
			return value{k: kArr, a: out}, nil
		case bMul:
			if b.k == kStr {
				return st.join(x, a.a, b.s)
			}
			return st.repeatArray(x, a.a, b)
		}
	}
	return value{}, st.noMethod(x.args[0], name, a)
}

// repeatArray is Array#* with a count: the elements n times, at most
// maxSteps of them.
func (st *state) repeatArray(x *expr, a []value, count value) (value, error) {
	n, err := st.longArg(x.args[1], count)
	switch {
	case err != nil:
		return value{}, err
	case n < 0:
		return value{}, st.errorf(x.pos, "negative argument (Ruby raises ArgumentError here)")
	case len(a) == 0 || n == 0:
		return value{k: kArr, a: []value{}}, nil
	case n > maxSteps/len(a):
		return value{}, st.errorf(x.pos, "array longer than %d elements", maxSteps)
	}
	if err := st.charge(x.pos, len(a)*n); err != nil {
		return value{}, err
	}
	out := make([]value, 0, len(a)*n)
	for range n {
		out = append(out, a...)
	}
	return value{k: kArr, a: out}, nil
}

// formatArgs is the argument list of String#%: an Array's elements, or
// the one value.
func formatArgs(v value) []value {
	if v.k == kArr {
		return v.a
	}
	return []value{v}
}

// inspectShort names a value in Ruby's ArgumentError of a comparison:
// the inspect of nil, true, false and numbers, else the class.
func inspectShort(v value) string {
	switch v.k {
	case kNil, kTrue, kFalse, kInt, kFloat:
		return inspect(v)
	}
	return v.rubyClass()
}

func containsEql(list []value, v value) bool {
	for _, e := range list {
		if eql(e, v) {
			return true
		}
	}
	return false
}

// intArith is Integer arithmetic: / and % floor, as Ruby's do.
func (st *state) intArith(x *expr, op binop, a, b *big.Int) (value, error) {
	r := new(big.Int)
	switch op {
	case bAdd:
		r.Add(a, b)
	case bSub:
		r.Sub(a, b)
	case bMul:
		if a.BitLen()+b.BitLen() > 1<<16 {
			return value{}, st.errorf(x.pos, "integer too large (more than %d bits)", 1<<16)
		}
		r.Mul(a, b)
	case bDiv, bMod:
		if b.Sign() == 0 {
			return value{}, st.errorf(x.pos, "divided by 0 (Ruby raises ZeroDivisionError here)")
		}
		q, m := new(big.Int).QuoRem(a, b, new(big.Int))
		if m.Sign() != 0 && m.Sign() != b.Sign() {
			q.Sub(q, big.NewInt(1))
			m.Add(m, b)
		}
		if op == bDiv {
			r = q
		} else {
			r = m
		}
	}
	return intValue(r), nil
}

func floatArith(op binop, a, b float64) float64 {
	switch op {
	case bAdd:
		return a + b
	case bSub:
		return a - b
	case bMul:
		return a * b
	case bDiv:
		return a / b
	}
	// Ruby's Float#% takes the sign of the divisor.
	m := math.Mod(a, b)
	if m != 0 && (m < 0) != (b < 0) {
		m += b
	}
	return m
}
