package render

// This file holds ActiveSupport's byte sizes (256.megabytes, 1.gigabyte),
// which Rails 8's generated config/cache.yml uses for Solid Cache's
// max_size, as ActiveSupport 6.1 to 8.0 define them (Numeric#bytes and
// the rest): the number times 1024 to a power, an Integer staying an
// Integer and a Float a Float.

// byteMethods maps ActiveSupport's byte-size methods to the power of
// 1024 they multiply by.
var byteMethods = map[string]int{
	"byte": 0, "bytes": 0, "kilobyte": 1, "kilobytes": 1, "megabyte": 2, "megabytes": 2,
	"gigabyte": 3, "gigabytes": 3, "terabyte": 4, "terabytes": 4, "petabyte": 5, "petabytes": 5,
	"exabyte": 6, "exabytes": 6,
}

// byteSize evaluates a byte-size method: 256.megabytes, 1.5.kilobytes.
// Integers are Ruby's, of any size (8.exabytes is 2**63), within the
// limit every Integer product has; a Duration passes the method to its
// number of seconds, as ActiveSupport's method_missing does.
func (st *state) byteSize(x *expr) (value, error) {
	recv, err := st.eval(x.args[0])
	if err != nil {
		return value{}, err
	}
	name := x.val.s
	if recv.k == kDuration {
		recv = durationValue(recv)
	}
	if recv.k == kStr && name == "bytes" {
		return value{}, st.errorf(x.pos, "unsupported Ruby: String#bytes (entry's .bytes is ActiveSupport's byte size, on numbers: 256.bytes)")
	}
	if !isNum(recv) {
		return value{}, st.noMethodValue(x, name, recv)
	}
	if byteMethods[name] == 0 {
		return recv, nil // Numeric#bytes is self
	}
	return st.arith(x, bMul, recv, intOf(1<<(10*byteMethods[name])))
}
