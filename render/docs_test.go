package render

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// docsPath is the user's reference for the Ruby subset.
const docsPath = "../docs/render.md"

// A docsRow is a row of the table of constructs in docs/render.md ("|
// construct | examples | notes |"), with its kind: the first cell, carried
// down over empty ones.
type docsRow struct {
	line     int
	kind     string
	examples string
	whole    string
}

// docsTable reads the table of constructs.
func docsTable(t *testing.T) []docsRow {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	var rows []docsRow
	in, kind := false, ""
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| construct | examples | notes |") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		if strings.HasPrefix(line, "|---") {
			continue
		}
		cells := splitCells(line)
		if len(cells) != 3 {
			t.Fatalf("%s:%d: a row of the construct table has %d cells, want 3", docsPath, i+1, len(cells))
		}
		if cells[0] != "" {
			kind = cells[0]
		}
		rows = append(rows, docsRow{line: i + 1, kind: kind, examples: cells[1], whole: line})
	}
	if len(rows) < 20 {
		t.Fatalf("%s: found %d rows in the table of constructs (| construct | examples | notes |): the table moved?", docsPath, len(rows))
	}
	return rows
}

// splitCells splits a Markdown table row on the | that are not escaped
// (\|) and not inside a code span.
func splitCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	code := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
			continue
		case c == '`':
			code = !code
		case c == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var codeSpan = regexp.MustCompile("`+([^`]+)`+")

// methodCalls returns the names of the method calls in code (5.minutes,
// x.strip, 1.day.in_hours): a dot not part of .. or ..., then a name (a
// letter: 1.5 is a number).
func methodCalls(code string) []string {
	var names []string
	for i := 0; i < len(code); i++ {
		if code[i] != '.' || i > 0 && code[i-1] == '.' {
			continue
		}
		if m := methodName.FindString(code[i+1:]); m != "" {
			names = append(names, m)
		}
	}
	return names
}

var methodName = regexp.MustCompile(`^[a-z_][a-z0-9_]*[?!]?`)

// A call of a constant's function: File.read, JSON.parse, Rails.env.
var constantCall = regexp.MustCompile(`\b([A-Z][A-Za-z]*)\.([a-z_][a-z0-9_]*[?!]?)`)

// A call of a function: Integer(x), format(f, ...).
var functionCall = regexp.MustCompile(`\b([A-Za-z]+)\(`)

// engineFunctions returns the names of the functions the parser knows
// (Integer, File.read, Rails.env, ...): the keys of every
// map[string]function in the package's source.
func engineFunctions(t *testing.T) map[string]string {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	names := map[string]string{} // name -> file:line
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			m, ok := lit.Type.(*ast.MapType)
			if !ok {
				return true
			}
			if k, ok := m.Key.(*ast.Ident); !ok || k.Name != "string" {
				return true
			}
			if v, ok := m.Value.(*ast.Ident); !ok || v.Name != "function" {
				return true
			}
			for _, e := range lit.Elts {
				kv := e.(*ast.KeyValueExpr)
				if k, ok := kv.Key.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(k.Value)
					names[s] = name + ":" + strconv.Itoa(fset.Position(kv.Pos()).Line)
				}
			}
			return true
		})
	}
	if len(names) < 8 {
		t.Fatalf("found %d functions in the parser's map[string]function tables; the search is broken", len(names))
	}
	return names
}

// Names the table shows in its examples that are not in the methods
// table: what the parser reads itself.
var docsNonMethods = map[string]string{
	"ENV.fetch":                  "parseEnv",
	"ENV.key?":                   "parseEnv",
	"Rails.application":          "parseCredentials",
	"Rails.app":                  "parseCredentials",
	"format":                     "parseIdentifier",
	"sprintf":                    "parseIdentifier",
	"production?":                "Rails.env.NAME? is Rails.env == NAME",
	"local?":                     "Rails.env.local?",
	"join":                       "Rails.root.join is Pathname#join; also Array#join in the methods table",
	"credentials":                "Rails.application.credentials",
	"method":                     "the lines row's `.method at a line start`",
	"Etc.nprocessors":            "parseIdentifier (fNprocessors)",
	"Concurrent.processor_count": "parseIdentifier (fNprocessors)",
	"Socket.gethostname":         "parseIdentifier (fHostname)",
	"new":                        "raise ArgumentError.new(\"m\"), read by parseRaise",
}

// stringLiteral is a quoted string in an example: its dots ("x.json") are
// no method calls.
var stringLiteral = regexp.MustCompile(`"[^"]*"|'[^']*'`)

// TestDocsListEveryConstruct: docs/render.md's table of constructs lists
// every method and function entry supports, and lists nothing else.
func TestDocsListEveryConstruct(t *testing.T) {
	rows := docsTable(t)
	var all strings.Builder
	for _, r := range rows {
		all.WriteString(r.whole + "\n")
	}
	inDocs := map[string]bool{}
	for _, span := range codeSpan.FindAllStringSubmatch(all.String(), -1) {
		for _, name := range methodCalls(span[1]) {
			inDocs[name] = true
		}
		for _, m := range constantCall.FindAllStringSubmatch(span[1], -1) {
			inDocs[m[1]+"."+m[2]] = true
		}
		for _, w := range functionCall.FindAllStringSubmatch(span[1], -1) {
			inDocs[w[1]] = true
		}
	}

	// Engine to docs.
	var missing []string
	for name := range methods {
		if !inDocs[name] {
			missing = append(missing, "method ."+name+" (render/ast.go, var methods): add `."+name+"` to the examples of the `methods` row of its kind in "+docsPath+"'s table of constructs")
		}
	}
	for name, at := range engineFunctions(t) {
		if !inDocs[name] {
			missing = append(missing, name+" (render/"+at+"): add `"+name+"(...)` to the examples of its row (`files`, `conversions` or `Rails`) in "+docsPath+"'s table of constructs")
		}
	}
	for name := range durationMethods {
		// "singular or plural": 1.day documents .days too.
		if !inDocs[name] && !inDocs[strings.TrimSuffix(name, "s")] && !inDocs[name+"s"] {
			missing = append(missing, "duration method ."+name+" (render/durations.go, var durationMethods): add `."+name+"` to the examples of the `durations` row in "+docsPath+"'s table of constructs")
		}
	}
	for lib := range requireOK {
		if !strings.Contains(all.String(), `"`+lib+`"`) && !strings.Contains(all.String(), `'`+lib+`'`) {
			missing = append(missing, "library "+lib+" (render/require.go, var requireOK): add `require \""+lib+"\"` to the examples of the `libraries` row in "+docsPath+"'s table of constructs")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}

	// Docs to engine: what the examples column shows is supported. The
	// credentials row shows credentials keys (.aws.region), not methods.
	functions := engineFunctions(t)
	for _, r := range rows {
		if strings.Contains(r.examples, "credentials.dig") {
			continue
		}
		for _, span := range codeSpan.FindAllStringSubmatch(r.examples, -1) {
			code := constantCall.ReplaceAllStringFunc(stringLiteral.ReplaceAllString(span[1], `"S"`), func(call string) string {
				m := constantCall.FindStringSubmatch(call)
				if !engineConstants[m[1]] {
					return call // LIST.each, N.times: a placeholder's method
				}
				name := m[1] + "." + m[2]
				if _, ok := functions[name]; !ok && docsNonMethods[name] == "" {
					t.Errorf("%s:%d (%s): the table shows %s, which entry does not support: remove it, or add it to the parser's functions", docsPath, r.line, r.kind, name)
				}
				return "CONSTANT"
			})
			for _, name := range methodCalls(code) {
				_, isDuration := durationMethods[name]
				if _, ok := methods[name]; !ok && !isDuration && docsNonMethods[name] == "" {
					t.Errorf("%s:%d (%s): the table shows .%s, which entry does not support: remove it, or add it to render/ast.go's methods", docsPath, r.line, r.kind, name)
				}
			}
		}
	}
}

// engineConstants are the constants the parser knows; other capitalized
// words in the table (LIST, N) stand for values.
var engineConstants = map[string]bool{"ENV": true, "File": true, "JSON": true, "Rails": true, "Etc": true, "Concurrent": true, "Socket": true}
