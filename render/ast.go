package render

// An opcode is the operation of an expression node.
type opcode uint8

const (
	opLit   opcode = iota // val
	opStr                 // double-quoted string: args are its parts, each converted with to_s
	opEnv                 // ENV[args[0]]
	opFetch               // ENV.fetch(args[0]), default args[1] (see fetch)
	opKey                 // ENV.key?(args[0])
	opVar                 // the .each loop variable in slot
	opNot                 // !args[0]
	opAnd                 // args[0] && args[1] && ...: a chain is one node
	opOr                  // args[0] || args[1] || ...: a chain is one node
	opEq                  // args[0] == args[1]
	opNe                  // args[0] != args[1]
	opCond                // args[0] ? args[1] : args[2]
	opCall                // args[0].method(args[1:]...)
	opEach                // args[0].each do |var| (only as the statement of a code tag)
)

// A method is one of the Ruby methods entry implements.
type method uint8

const (
	mToI method = iota
	mToS
	mPresence
	mToJSON
	mStrip
	mUpcase
	mDowncase
	mSplit
	mBlank
	mPresent
	mEmpty
	mNil
	mInclude
	mEach
)

// methods maps Ruby method names to entry's methods, with the number of
// arguments they take (min, max).
var methods = map[string]struct {
	m        method
	min, max int
}{
	"to_i":     {mToI, 0, 0},
	"to_s":     {mToS, 0, 0},
	"presence": {mPresence, 0, 0},
	"to_json":  {mToJSON, 0, 0},
	"strip":    {mStrip, 0, 0},
	"upcase":   {mUpcase, 0, 0},
	"downcase": {mDowncase, 0, 0},
	"split":    {mSplit, 0, 1},
	"blank?":   {mBlank, 0, 0},
	"present?": {mPresent, 0, 0},
	"empty?":   {mEmpty, 0, 0},
	"nil?":     {mNil, 0, 0},
	"include?": {mInclude, 1, 1},
	"each":     {mEach, 0, 0},
}

const methodList = "to_i, to_s, presence, to_json, strip, upcase, downcase, split, blank?, present?, empty?, nil?, include?, each"

var methodNames = [...]string{
	mToI: "to_i", mToS: "to_s", mPresence: "presence", mToJSON: "to_json", mStrip: "strip",
	mUpcase: "upcase", mDowncase: "downcase", mSplit: "split", mBlank: "blank?", mPresent: "present?",
	mEmpty: "empty?", mNil: "nil?", mInclude: "include?", mEach: "each",
}

// How ENV.fetch gets its default.
const (
	fetchNoDefault = iota // ENV.fetch('X'): an error when unset
	fetchArg              // ENV.fetch('X', d): d evaluated first
	fetchBlock            // ENV.fetch('X') { d }: d evaluated only when unset
)

// An expr is a node of a Ruby expression.
type expr struct {
	op     opcode
	method method // opCall
	fetch  uint8  // opFetch: fetchNoDefault, fetchArg or fetchBlock
	// guarded marks an ENV[...] whose value is tested rather than used
	// (a condition, the left of ||, before .nil? ...): strict mode allows
	// it to be unset.
	guarded bool
	slot    int    // opVar, opEach: the loop variable
	pos     int    // byte offset in the template
	src     string // the expression's Ruby source, for messages
	val     value  // opLit
	args    []*expr
}

// A nodeKind is what a node of a template does.
type nodeKind uint8

const (
	nText   nodeKind = iota // write text
	nOutput                 // <%= x %>
	nExpr                   // <% x %>: evaluate, discard
	nIf                     // if/unless ... elsif ... else ... end
	nEach                   // x.each do |v| ... end
)

// A node is a piece of a parsed template.
type node struct {
	kind     nodeKind
	text     string
	x        *expr
	branches []branch // nIf
	body     []*node  // nEach
	slot     int      // nEach
}

// A branch is one arm of an if: its condition (nil for else) and body.
type branch struct {
	cond   *expr
	negate bool // unless
	body   []*node
}
