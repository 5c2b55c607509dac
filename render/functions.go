package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"syscall"

	"unicode/utf8"

	"github.com/entryhq/entry/internal/readcap"
)

// This file holds the Kernel functions (Integer(), Float(), String(),
// format) and the pure reads (File.read, File.exist?, JSON.parse) and
// Rails.env / Rails.root.

func (st *state) function(x *expr) (value, error) {
	switch x.fn {
	case fRailsEnv:
		for _, k := range []string{"RAILS_ENV", "RACK_ENV"} {
			if v, ok := st.env(k); ok && !blankString(v) {
				return strValue(v), nil
			}
		}
		return strValue("development"), nil
	case fRailsRoot:
		return value{k: kPath, s: st.root()}, nil
	case fRailsCredentials:
		return st.credentials(x)
	case fNprocessors:
		return nprocessors(), nil
	case fHostname:
		name, err := os.Hostname()
		if err != nil {
			return value{}, st.errorf(x.pos, "%s: %v", x.src, err)
		}
		return strValue(name), nil
	case fCredentialBang:
		recv, err := st.eval(x.args[0])
		if err != nil {
			return value{}, err
		}
		return st.credentialBang(x, recv, x.args[1].val)
	}
	args, err := st.evalArgs(x.args)
	if err != nil {
		return value{}, err
	}
	switch x.fn {
	case fInteger:
		return st.toInteger(x, args[0])
	case fFloat:
		return st.toFloat(x, args[0])
	case fString:
		return strValue(args[0].toS()), nil
	case fShell:
		return st.shell(x, args[0])
	case fRaise:
		return st.raise(x, args)
	case fFileFile, fFileDirectory, fFileExtname, fFileExpandPath:
		return st.fileOp(x, args)
	case fFormat:
		if args[0].k != kStr {
			return value{}, st.typeError(x.args[0], args[0], "String")
		}
		return st.format(x, args[0].s, args[1:])
	case fFileJoin:
		var parts []string
		flat, err := st.flattenCharged(x, args)
		if err != nil {
			return value{}, err
		}
		for i, a := range flat.a {
			if a.k != kStr && a.k != kPath {
				return value{}, st.typeError(x.args[min(i, len(x.args)-1)], a, "String")
			}
			parts = append(parts, a.s)
		}
		return strValue(fileJoin(parts)), nil
	case fFileBasename, fFileDirname:
		for i, a := range args {
			if a.k != kStr && a.k != kPath {
				return value{}, st.typeError(x.args[i], a, "String")
			}
		}
		if x.fn == fFileDirname {
			return strValue(fileDirname(args[0].s)), nil
		}
		suffix := ""
		if len(args) > 1 {
			suffix = args[1].s
		}
		return strValue(fileBasename(args[0].s, suffix)), nil
	case fFileRead, fFileExist:
		path, err := st.pathArg(x, args[0])
		if err != nil {
			return value{}, err
		}
		if x.fn == fFileExist {
			_, err := os.Stat(path)
			return boolValue(err == nil), nil
		}
		data, err := readCapped(path)
		if err != nil {
			return value{}, st.errorf(x.pos, "%s: %v (Ruby raises here; check the path, relative to the directory entry runs in)", x.src, err)
		}
		contents := string(data)
		st.remember(contents, origin{file: x.src})
		return strValue(contents), nil
	case fJSONParse:
		if args[0].k != kStr {
			return value{}, st.typeError(x.args[0], args[0], "String")
		}
		v, err := parseJSON(args[0].s)
		if err != nil {
			return value{}, st.errorf(x.pos, "JSON.parse: %v (Ruby raises JSON::ParserError here)", err)
		}
		return v, nil
	}
	return value{}, st.errorf(x.pos, "internal error: unknown function")
}

// root is Rails.root: the directory entry runs in, which is the
// application's root in a Rails image (its WORKDIR). It is the kernel's
// path, symlinks resolved, as Ruby's Dir.pwd gives it: os.Getwd would
// answer $PWD, a symlink's path, when it names the same directory.
func (st *state) root() string {
	if st.rootDir == "" {
		st.rootDir, _ = syscall.Getwd()
	}
	return st.rootDir
}

func (st *state) pathArg(x *expr, v value) (string, error) {
	switch v.k {
	case kStr, kPath:
		if strings.IndexByte(v.s, 0) >= 0 {
			return "", st.errorf(x.pos, "string contains null byte (Ruby raises ArgumentError here)")
		}
		return v.s, nil
	}
	return "", st.typeError(x.args[0], v, "String")
}

// readCapped reads a file for File.read: a regular file of at most
// readcap.Template bytes; a FIFO or device is refused without waiting.
func readCapped(path string) ([]byte, error) {
	data, err := readcap.ReadFile(path, "file read by a template", readcap.Template)
	var pe *os.PathError
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, readcap.ErrNotRegular):
		return nil, readcap.ErrNotRegular
	case errors.Is(err, readcap.ErrTooLarge):
		return nil, fmt.Errorf("larger than %s", readcap.Size(readcap.Template))
	case errors.As(err, &pe):
		return nil, pe.Err
	}
	return nil, err
}

// toInteger is Kernel#Integer: strict, with 0x, 0b, 0o and 0 (octal)
// prefixes and underscores between digits.
func (st *state) toInteger(x *expr, v value) (value, error) {
	switch v.k {
	case kInt:
		return v, nil
	case kFloat:
		return st.floatToI(x, v.f)
	case kNil:
		return value{}, st.errorf(x.pos, "can't convert nil into Integer (Ruby raises TypeError here; use .to_i, which gives 0)")
	case kStr:
		if n, ok := parseRubyInteger(v.s); ok {
			return intValue(n), nil
		}
		return value{}, st.errorf(x.pos, "invalid value for Integer(): %s (Ruby raises ArgumentError here)", inspect(v))
	}
	return value{}, st.errorf(x.pos, "can't convert %s into Integer (Ruby raises TypeError here)", v.rubyClass())
}

func parseRubyInteger(s string) (*big.Int, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) > 1 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base, s = 16, s[2:]
		case 'b', 'B':
			base, s = 2, s[2:]
		case 'o', 'O':
			base, s = 8, s[2:]
		case 'd', 'D':
			s = s[2:]
		default:
			base, s = 8, strings.TrimPrefix(s[1:], "_")
		}
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return nil, false
	}
	n, ok := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), base)
	if !ok {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

// toFloat is Kernel#Float: strict.
func (st *state) toFloat(x *expr, v value) (value, error) {
	switch v.k {
	case kInt, kFloat:
		return value{k: kFloat, f: floatOf(v)}, nil
	case kNil:
		return value{}, st.errorf(x.pos, "can't convert nil into Float (Ruby raises TypeError here; use .to_f, which gives 0.0)")
	case kStr:
		t := strings.Trim(v.s, " \t\n\v\f\r")
		if n, ok := parseRubyInteger(t); ok && (strings.Contains(t, "0x") || strings.Contains(t, "0X")) {
			return value{k: kFloat, f: floatOf(intValue(n))}, nil
		}
		if validFloat(t) {
			f, _ := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
			return value{k: kFloat, f: f}, nil
		}
		return value{}, st.errorf(x.pos, "invalid value for Float(): %s (Ruby raises ArgumentError here)", inspect(v))
	}
	return value{}, st.errorf(x.pos, "can't convert %s into Float (Ruby raises TypeError here)", v.rubyClass())
}

// validFloat reports whether s is a decimal number Float() accepts:
// digits with single underscores between them, an optional fraction and
// exponent.
func validFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && (isDigit(s[i]) || s[i] == '_' && i > start && i+1 < len(s) && isDigit(s[i+1])) {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// format is Kernel#format (sprintf) and String#%: the directives
// %s %d %i %f %e %g %x %o %b %c %% with flags, width and precision.
func (st *state) format(x *expr, f string, args []value) (value, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ 0#", f[j]) >= 0 {
			j++
		}
		for j < len(f) && isDigit(f[j]) {
			j++
		}
		if j < len(f) && f[j] == '.' {
			j++
			for j < len(f) && isDigit(f[j]) {
				j++
			}
		}
		if j >= len(f) {
			return value{}, st.errorf(x.pos, "incomplete format specifier; use '%%%%' (double %%) instead (Ruby raises ArgumentError here)")
		}
		spec, verb := f[i+1:j], f[j]
		i = j
		if w, prec, _ := strings.Cut(strings.TrimLeft(spec, "-+ 0#"), "."); len(w) > 4 || len(prec) > 4 {
			return value{}, st.errorf(x.pos, "format width or precision too large in %%%s%c", spec, verb)
		}
		if verb == '%' && spec == "" {
			b.WriteByte('%')
			continue
		}
		if strings.IndexByte("sdifeEgGxXobc", verb) < 0 {
			return value{}, st.errorf(x.pos, "format directive %%%s%c is not supported (entry supports %%s %%d %%i %%f %%e %%g %%x %%o %%b %%c and %%%%)", spec, verb)
		}
		if next >= len(args) {
			return value{}, st.errorf(x.pos, "too few arguments (Ruby raises ArgumentError here)")
		}
		if b.Len() > maxOutput {
			return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
		}
		a := args[next]
		next++
		switch verb {
		case 's', 'c':
			s := a.toS()
			if verb == 'c' {
				var err error
				if s, err = st.formatChar(x, a); err != nil {
					return value{}, err
				}
			}
			padText(&b, s, spec, verb == 's')
		case 'd', 'i', 'x', 'X', 'o', 'b':
			n, err := st.toInteger(x, a)
			if err != nil {
				return value{}, err
			}
			if verb == 'i' {
				verb = 'd'
			}
			bi := bigOf(n)
			if bi.Sign() < 0 && verb != 'd' {
				// Ruby writes ..f01 for a negative without a sign flag.
				if !strings.ContainsAny(spec, "+ ") {
					return value{}, st.errorf(x.pos, "format %%%c of a negative number is not supported (Ruby writes it as a two's complement; use %%+%c)", verb, verb)
				}
			}
			fmt.Fprintf(&b, "%"+spec+string(verb), bi)
		default:
			n, err := st.toFloat(x, a)
			if err != nil {
				return value{}, err
			}
			if math.IsInf(n.f, 0) || math.IsNaN(n.f) {
				s := "Inf"
				if math.IsNaN(n.f) {
					s = "NaN"
				} else if n.f < 0 {
					s = "-Inf"
				}
				fmt.Fprintf(&b, "%"+strings.ReplaceAll(spec, "0", "")+"s", s)
				continue
			}
			if !strings.Contains(spec, ".") {
				spec += ".6"
			}
			fmt.Fprintf(&b, "%"+spec+string(verb), n.f)
		}
	}
	if b.Len() > maxOutput {
		return value{}, st.errorf(x.pos, "string longer than %d MiB", maxOutput>>20)
	}
	return strValue(b.String()), nil
}

// padText writes s as %s and %c do: cut to the precision (for %s),
// padded with spaces to the width, counted in characters; the 0 flag
// pads with spaces too, as in Ruby.
func padText(b *strings.Builder, s, spec string, cut bool) {
	left := strings.Contains(spec, "-")
	w, prec, hasPrec := strings.Cut(strings.TrimLeft(spec, "-+ 0#"), ".")
	if p, _ := strconv.Atoi(prec); cut && hasPrec {
		s = cutChars(s, p)
	}
	width, _ := strconv.Atoi(w)
	chars := 1 // %c: one character, even a surrogate's three bytes
	if cut {
		chars = utf8.RuneCountInString(s)
	}
	fill := strings.Repeat(" ", max(0, width-chars))
	if left {
		b.WriteString(s + fill)
	} else {
		b.WriteString(fill + s)
	}
}

// parseJSON is JSON.parse: objects become Hashes with keys in order,
// integers Integers, other numbers Floats.
//
// Where Ruby's JSON (2.6, Ruby 3.1's) would make a String that is not
// valid UTF-8, from invalid bytes or from half a surrogate pair, Go's
// decoder would write U+FFFD: entry refuses instead of printing what
// Ruby does not.
func parseJSON(s string) (value, error) {
	if !utf8.ValidString(s) {
		return value{}, fmt.Errorf("the text is not valid UTF-8 (Ruby's JSON keeps the invalid bytes in its strings; entry refuses them)")
	}
	if esc := loneSurrogate(s); esc != "" {
		return value{}, fmt.Errorf("%s is half of a UTF-16 surrogate pair (Ruby's JSON makes an invalid string of it, or fails; entry refuses it)", esc)
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	v, err := jsonValue(d, 0)
	if err != nil {
		return value{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return value{}, fmt.Errorf("unexpected content after the JSON value")
	}
	return v, nil
}

// loneSurrogate returns the first \uXXXX escape of s that is half of a
// surrogate pair without its other half, or "".
func loneSurrogate(s string) string {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++ // the escaped character: \\ is not the start of an escape
		r, ok := hexEscape(s, i)
		if !ok || r < 0xD800 || r > 0xDFFF {
			continue
		}
		if r <= 0xDBFF && i+6 < len(s) && s[i+5] == '\\' {
			if low, ok := hexEscape(s, i+6); ok && low >= 0xDC00 && low <= 0xDFFF {
				i += 10 // a pair
				continue
			}
		}
		return s[i-1 : i+5]
	}
	return ""
}

// hexEscape reads the uXXXX at s[i:].
func hexEscape(s string, i int) (rune, bool) {
	if i+5 > len(s) || s[i] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
	return rune(n), err == nil
}

func jsonValue(d *json.Decoder, depth int) (value, error) {
	if depth > maxDepth {
		return value{}, fmt.Errorf("nesting of %d is too deep", depth)
	}
	t, err := d.Token()
	if err != nil {
		return value{}, jsonError(err)
	}
	switch t := t.(type) {
	case nil:
		return value{}, nil
	case bool:
		return boolValue(t), nil
	case string:
		return strValue(t), nil
	case json.Number:
		if n, ok := new(big.Int).SetString(t.String(), 10); ok {
			return intValue(n), nil
		}
		f, _ := strconv.ParseFloat(t.String(), 64)
		return value{k: kFloat, f: f}, nil
	case json.Delim:
		switch t {
		case '[':
			var a []value
			for d.More() {
				v, err := jsonValue(d, depth+1)
				if err != nil {
					return value{}, err
				}
				a = append(a, v)
			}
			if _, err := d.Token(); err != nil {
				return value{}, jsonError(err)
			}
			if a == nil {
				a = []value{}
			}
			return value{k: kArr, a: a}, nil
		case '{':
			h := &hash{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return value{}, err
				}
				v, err := jsonValue(d, depth+1)
				if err != nil {
					return value{}, err
				}
				h.set(strValue(k.(string)), v)
			}
			if _, err := d.Token(); err != nil {
				return value{}, jsonError(err)
			}
			return value{k: kHash, h: h}, nil
		}
	}
	return value{}, fmt.Errorf("unexpected %v", t)
}

func jsonError(err error) error {
	if err == io.EOF {
		return fmt.Errorf("unexpected end of input")
	}
	return err
}

// fileJoin is File.join (file.c's rb_file_join): a part that starts with
// "/" replaces the slashes that end what comes before it; a part that
// does not gets one "/" unless what comes before ends with one.
func fileJoin(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	out := parts[0]
	for _, p := range parts[1:] {
		switch {
		case strings.HasPrefix(p, "/"):
			out = strings.TrimRight(out, "/") + p
		case strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

// fileBasename is File.basename(path[, suffix]); suffix ".*" drops any
// extension.
func fileBasename(path, suffix string) string {
	trimmed := strings.TrimRight(path, "/")
	if trimmed == "" {
		if path == "" {
			return ""
		}
		return "/"
	}
	base := trimmed[strings.LastIndexByte(trimmed, '/')+1:]
	switch {
	case suffix == ".*":
		base = base[:len(base)-len(fileExtname(base))]
	case suffix != "" && base != suffix:
		base = strings.TrimSuffix(base, suffix)
	}
	return base
}

// fileDirname is File.dirname.
func fileDirname(path string) string {
	trimmed := strings.TrimRight(path, "/")
	if trimmed == "" {
		if path == "" {
			return "."
		}
		return "/"
	}
	i := strings.LastIndexByte(trimmed, '/')
	if i < 0 {
		return "."
	}
	dir := strings.TrimRight(trimmed[:i], "/")
	if dir == "" {
		return "/"
	}
	if strings.HasPrefix(dir, "//") {
		dir = "/" + strings.TrimLeft(dir, "/")
	}
	return dir
}
