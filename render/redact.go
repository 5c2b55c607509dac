package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A value a template reads from the environment (ENV[...], ENV.fetch,
// Rails.env) or from a file (File.read) may be a secret: a DATABASE_URL
// with its password, a value the secrets step exported from a vault, a key
// file. Ruby repeats such values in its errors (invalid value for
// Integer(): "postgres://u:pw@h/db"), and the error ends up in the
// container's log. entry names where the value came from and its length
// instead.

// minRawSecret is the length from which a value read is hidden even where
// a message shows it unquoted; shorter ones ("1", "web") are hidden only as
// a printed String ("web"), so that they do not blank out ordinary words.
const minRawSecret = 8

// An origin is where a value read came from: an environment variable or a
// file read by File.read (its source text).
type origin struct {
	env, file string
}

func (o origin) String() string {
	if o.env != "" {
		return "ENV[" + strconv.Quote(o.env) + "]"
	}
	return o.file
}

// recordingEnv wraps env so that every value it returns is remembered.
func (st *state) recordingEnv(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env(name)
		if ok {
			st.remember(v, origin{env: name})
		}
		return v, ok
	}
}

// remember notes that value v came from o; the first origin of a value is
// the one named.
func (st *state) remember(v string, o origin) {
	if v == "" {
		return
	}
	if st.secrets == nil {
		st.secrets = map[string]origin{}
	}
	if _, ok := st.secrets[v]; !ok {
		st.secrets[v] = o
	}
}

// redact replaces in msg every value read from the environment or a file
// by its origin and length.
func (st *state) redact(msg string) string {
	if len(st.secrets) == 0 {
		return msg
	}
	vals := make([]string, 0, len(st.secrets))
	for v := range st.secrets {
		vals = append(vals, v)
	}
	// The longest first, so that a value holding another is hidden whole.
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	for _, v := range vals {
		unit := "bytes"
		if len(v) == 1 {
			unit = "byte"
		}
		shown := fmt.Sprintf("%s (%d %s, not shown)", st.secrets[v], len(v), unit)
		msg = strings.ReplaceAll(msg, inspect(strValue(v)), shown)
		if len(v) >= minRawSecret {
			msg = strings.ReplaceAll(msg, v, shown)
		}
	}
	return msg
}
