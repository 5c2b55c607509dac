package render

import (
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// TestByteSizesLikeActiveSupport renders byte sizes with Ruby's ERB and
// ActiveSupport (Debian's ruby-activesupport) and with entry, each method
// on Integers, Floats, negatives and zero, past 2**63 and in arithmetic.
func TestByteSizesLikeActiveSupport(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	var exprs []string
	for name := range byteMethods {
		for _, n := range []string{"1", "256", "0", "-3", "1.5", "0.25", "-0.5", "4611686018427387904", "-9223372036854775808", "1e300"} {
			exprs = append(exprs, n+"."+name)
		}
	}
	exprs = append(exprs,
		"8.exabytes", "8.exabytes - 1", "7.exabytes + 1.exabyte", "16.exabytes.to_s", "256.megabytes.to_i", "256.megabytes.to_f",
		"256.megabytes / 1.megabyte", "2 * 1.gigabyte", "1.megabyte + 512.kilobytes", "1.gigabyte > 512.megabytes",
		"ENV.fetch('CACHE_MB', 256).to_i.megabytes", "ENV['CACHE_MB'].to_i.megabytes", "Integer(ENV['CACHE_MB']).kilobytes",
		"256.megabytes.to_json", "[1.kilobyte, 2.kilobytes].sum", "{ max_size: 256.megabytes }.to_json", "\"#{256.megabytes}\"",
		"1.hour.megabytes", "1.5.hours.kilobytes", "256.megabytes.presence", "1.megabyte.zero?", "0.bytes.zero?",
		"nil.megabytes", "'1'.megabytes", "[1].kilobytes", "true.gigabytes", "nil&.megabytes", "1&.megabyte",
		"123456789012345678901234567890.exabytes", "1.0e308.exabytes", "-1.0e308.exabytes", "(0.0/0).megabytes",
	)
	var srcs []string
	for _, e := range exprs {
		srcs = append(srcs, "<%= "+e+" %>|<%= ("+e+").inspect %>")
	}
	compareWithRuby(t, rubyBin, `require "active_support"; require "active_support/core_ext/numeric/bytes"; require "active_support/core_ext/numeric/time"; require "active_support/core_ext/object/blank";`, srcs, map[string]string{"CACHE_MB": "64"}, nil)
}

// TestByteSizeMessages: .bytes on a String is Ruby's String#bytes, which
// entry does not have: it says so rather than claim Ruby would raise;
// arguments are refused at load time as durations' are.
func TestByteSizeMessages(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"<%= 'abc'.bytes %>", "t.erb:1:11: unsupported Ruby: String#bytes (entry's .bytes is ActiveSupport's byte size, on numbers: 256.bytes)"},
		{"<%= 'abc'.megabytes %>", "t.erb:1:11: undefined method 'megabytes' for a String (Ruby raises NoMethodError here)"},
		{"<%= 1.megabytes(2) %>", "t.erb:1:7: .megabytes takes no arguments"},
		{"<%= 1.megabites %>", "t.erb:1:7: unsupported Ruby: .megabites (did you mean .megabytes? entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes))"},
		// Past the limit every Integer product has (Ruby's Bignum has none).
		{"<%= Integer(ENV['N']).exabytes %>", "t.erb:1:23: integer too large (more than 65536 bits)"},
	} {
		_, err := renderWith(t, c.src, map[string]string{"N": strings.Repeat("9", 19710)}, Options{})
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v\nwant %s", c.src, err, c.want)
		}
	}
}
