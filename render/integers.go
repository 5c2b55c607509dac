package render

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the one conversion every method taking an Integer
// argument uses (a count, a width, an index), with Ruby's messages: an
// argument outside a C long is a RangeError in Ruby, not nil and not a
// TypeError, and a Float is truncated as Ruby's NUM2LONG does.

// longArg is Ruby's NUM2LONG for the argument v of a method, which x
// evaluated: an Integer that fits in 64 bits, a Float truncated, else
// Ruby's RangeError or TypeError.
func (st *state) longArg(x *expr, v value) (int, error) {
	switch v.k {
	case kInt:
		n, err := strconv.ParseInt(v.s, 10, 64)
		if err != nil {
			return 0, st.errorf(x.pos, "bignum too big to convert into `long' (Ruby raises RangeError here)")
		}
		return int(n), nil
	case kFloat:
		// Ruby: LONG_MIN - 1 < f < LONG_MAX + 1, then truncated.
		if !(v.f > -0x1p63-1 && v.f < 0x1p63) {
			return 0, st.errorf(x.pos, "float %s out of range of integer (Ruby raises RangeError here)", rubyFloatG(v.f))
		}
		return int(v.f), nil
	case kNil:
		return 0, st.errorf(x.pos, "no implicit conversion from nil to integer (Ruby raises TypeError here)")
	case kTrue, kFalse:
		return 0, st.errorf(x.pos, "no implicit conversion of %s into Integer (Ruby raises TypeError here)", v.rubyClass())
	}
	return 0, st.typeError(x, v, "Integer")
}

// int32Arg is Ruby's NUM2INT (format's %c): longArg, then the range of a
// C int.
func (st *state) int32Arg(x *expr, v value) (int, error) {
	n, err := st.longArg(x, v)
	switch {
	case err != nil:
		return 0, err
	case n > math.MaxInt32:
		return 0, st.errorf(x.pos, "integer %d too big to convert to `int' (Ruby raises RangeError here)", n)
	case n < math.MinInt32:
		return 0, st.errorf(x.pos, "integer %d too small to convert to `int' (Ruby raises RangeError here)", n)
	}
	return n, nil
}

// rubyFloatG is how Ruby's RangeError of a Float prints it: C's "%-.10g",
// and Inf, -Inf, NaN.
func rubyFloatG(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.10g", f)
}

// formatChar is format's %c: a one-character String, or an Integer code
// point written in UTF-8 as Ruby writes it, surrogates included (an
// invalid String, as in Ruby); -1 and -2 are the bytes 0xFF and 0xFE,
// which Ruby's UTF-8 encoder writes for them.
func (st *state) formatChar(x *expr, v value) (string, error) {
	if v.k == kStr {
		r, n := utf8.DecodeRuneInString(v.s)
		switch {
		case n == 0 || n < len(v.s):
			return "", st.errorf(x.pos, "%%c requires a character (Ruby raises ArgumentError here)")
		case r == utf8.RuneError && n == 1:
			return "", st.errorf(x.pos, "invalid byte sequence in UTF-8 (Ruby raises ArgumentError here)")
		}
		return v.s, nil
	}
	c, err := st.int32Arg(x, v)
	switch {
	case err != nil:
		return "", err
	case c == -1:
		return "\xFF", nil
	case c == -2:
		return "\xFE", nil
	case c < 0 || c > 0x10FFFF:
		return "", st.errorf(x.pos, "invalid character (Ruby raises ArgumentError here)")
	case c < 0x80:
		return string(rune(c)), nil
	case c < 0x800:
		return string([]byte{byte(0xC0 | c>>6), byte(0x80 | c&0x3F)}), nil
	case c < 0x10000:
		return string([]byte{byte(0xE0 | c>>12), byte(0x80 | c>>6&0x3F), byte(0x80 | c&0x3F)}), nil
	}
	return string([]byte{byte(0xF0 | c>>18), byte(0x80 | c>>12&0x3F), byte(0x80 | c>>6&0x3F), byte(0x80 | c&0x3F)}), nil
}
