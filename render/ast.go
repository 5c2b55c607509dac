package render

// An opcode is the operation of an expression node.
type opcode uint8

const (
	opLit     opcode = iota // val
	opStr                   // double-quoted string: args are its parts, each converted with to_s
	opEnv                   // ENV[args[0]]
	opFetch                 // ENV.fetch(args[0]), default args[1] (see fetch)
	opKey                   // ENV.key?(args[0])
	opVar                   // the .each loop variable in slot
	opNot                   // !args[0]
	opAnd                   // args[0] && args[1] && ...: a chain is one node
	opOr                    // args[0] || args[1] || ...: a chain is one node
	opEq                    // args[0] == args[1]
	opNe                    // args[0] != args[1]
	opCond                  // args[0] ? args[1] : args[2]
	opCall                  // args[0].method(args[1:]...)
	opEach                  // args[0].each do |var| (only as the statement of a code tag)
	opAssign                // slot = args[0]
	opArr                   // [args...]
	opHash                  // {args[0] => args[1], ...}
	opRange                 // args[0]..args[1] (negate: ...), Integers
	opIndex                 // args[0][args[1:]...]
	opBin                   // args[0] bop args[1]: arithmetic and comparison
	opNeg                   // -args[0]
	opModIf                 // args[1] if args[0] (negate: unless); nil otherwise
	opCaseEq                // args[1] === args[0] || args[2] === args[0] ... (a when)
	opCase                  // case args[0] when ... then ... else ... end, see arms
	opBlock                 // args[0].method(args[1:]...) { |params| blk }
	opFunc                  // a function or constant: fn
	opSeq                   // a; b; ...: each in turn, the value of the last
	opMassign               // a, b = args[0]: an Array spread over slots
	opSafe                  // args[0]&.chain: nil when args[0] is nil, else args[1] with it in slot
	opUnit                  // args[0].unit (5.minutes, 256.megabytes) or a Duration's in_*: val names it
)

// A binop is an arithmetic or comparison operator of opBin.
type binop uint8

const (
	bAdd binop = iota
	bSub
	bMul
	bDiv
	bMod
	bLt
	bGt
	bLe
	bGe
)

var binopNames = [...]string{bAdd: "+", bSub: "-", bMul: "*", bDiv: "/", bMod: "%", bLt: "<", bGt: ">", bLe: "<=", bGe: ">="}

// A function is one of the Kernel functions and constants entry knows.
type function uint8

const (
	fInteger function = iota
	fFloat
	fString
	fFormat
	fFileRead
	fFileExist
	fJSONParse
	fRailsEnv
	fRailsRoot
	fFileJoin
	fFileBasename
	fFileDirname
	fRailsCredentials // Rails.application.credentials
	fCredentialBang   // credentials.name!: args[0].name, KeyError when blank
	fShell            // `cmd`, %x(cmd): args[0] is the command line
	fFileFile         // File.file?(path)
	fFileDirectory    // File.directory?(path)
	fFileExtname      // File.extname(path)
	fFileExpandPath   // File.expand_path(path[, dir])
	fNprocessors      // Etc.nprocessors, Concurrent.processor_count
	fHostname         // Socket.gethostname
	fRaise            // raise: args[0] the class's name ("" for RuntimeError), args[1] the message
)

// An arm is one when of an expression-level case.
type arm struct {
	when *expr // opCaseEq
	body *expr
}

// A method is one of the Ruby methods entry implements.
type method uint8

const (
	mToI method = iota
	mToS
	mPresence
	mToJson
	mStrip
	mUpcase
	mDowncase
	mSplit
	mBlankP
	mPresentP
	mEmptyP
	mNilP
	mIncludeP
	mEach
	mToF
	mToSym
	mChomp
	mGsub
	mSub
	mStartWithP
	mEndWithP
	mMax
	mMin
	mJoin
	mLength
	mSize
	mFirst
	mLast
	mCompact
	mUniq
	mSort
	mReverse
	mToA
	mToH
	mInspect
	mLstrip
	mRstrip
	mCapitalize
	mKeys
	mValues
	mKeyP
	mFlatten
	mSum
	mCount
	mAbs
	mZeroP
	mDig
	mFetch
	mMap
	mCollect
	mSelect
	mFilter
	mReject
	mFind
	mDetect
	mAnyP
	mAllP
	mNoneP
	mEachWithIndex
	mFilterMap
	mFlatMap
	mSortBy
	mOddP
	mEvenP
	mPositiveP
	mNegativeP
	mRound
	mFloor
	mCeil
	mFreeze
	mDup
	mLjust
	mRjust
	mTimes
)

// How a method takes a block.
const (
	noBlock = iota
	optBlock
	needsBlock
)

// methods maps Ruby method names to entry's methods, with the number of
// arguments they take (min, max) and whether they take a block.
var methods = map[string]struct {
	m        method
	min, max int
	block    int
}{
	"to_i":            {mToI, 0, 0, noBlock},
	"to_s":            {mToS, 0, 0, noBlock},
	"presence":        {mPresence, 0, 0, noBlock},
	"to_json":         {mToJson, 0, 0, noBlock},
	"strip":           {mStrip, 0, 0, noBlock},
	"upcase":          {mUpcase, 0, 0, noBlock},
	"downcase":        {mDowncase, 0, 0, noBlock},
	"split":           {mSplit, 0, 1, noBlock},
	"blank?":          {mBlankP, 0, 0, noBlock},
	"present?":        {mPresentP, 0, 0, noBlock},
	"empty?":          {mEmptyP, 0, 0, noBlock},
	"nil?":            {mNilP, 0, 0, noBlock},
	"include?":        {mIncludeP, 1, 1, noBlock},
	"each":            {mEach, 0, 0, needsBlock},
	"to_f":            {mToF, 0, 0, noBlock},
	"to_sym":          {mToSym, 0, 0, noBlock},
	"chomp":           {mChomp, 0, 1, noBlock},
	"gsub":            {mGsub, 2, 2, noBlock},
	"sub":             {mSub, 2, 2, noBlock},
	"start_with?":     {mStartWithP, 1, 9, noBlock},
	"end_with?":       {mEndWithP, 1, 9, noBlock},
	"max":             {mMax, 0, 0, noBlock},
	"min":             {mMin, 0, 0, noBlock},
	"join":            {mJoin, 0, 9, noBlock},
	"length":          {mLength, 0, 0, noBlock},
	"size":            {mSize, 0, 0, noBlock},
	"first":           {mFirst, 0, 1, noBlock},
	"last":            {mLast, 0, 1, noBlock},
	"compact":         {mCompact, 0, 0, noBlock},
	"uniq":            {mUniq, 0, 0, noBlock},
	"sort":            {mSort, 0, 0, noBlock},
	"reverse":         {mReverse, 0, 0, noBlock},
	"to_a":            {mToA, 0, 0, noBlock},
	"to_h":            {mToH, 0, 0, optBlock},
	"inspect":         {mInspect, 0, 0, noBlock},
	"lstrip":          {mLstrip, 0, 0, noBlock},
	"rstrip":          {mRstrip, 0, 0, noBlock},
	"capitalize":      {mCapitalize, 0, 0, noBlock},
	"keys":            {mKeys, 0, 0, noBlock},
	"values":          {mValues, 0, 0, noBlock},
	"key?":            {mKeyP, 1, 1, noBlock},
	"flatten":         {mFlatten, 0, 1, noBlock},
	"sum":             {mSum, 0, 0, optBlock},
	"count":           {mCount, 0, 1, optBlock},
	"abs":             {mAbs, 0, 0, noBlock},
	"zero?":           {mZeroP, 0, 0, noBlock},
	"dig":             {mDig, 1, 9, noBlock},
	"fetch":           {mFetch, 1, 2, optBlock},
	"map":             {mMap, 0, 0, needsBlock},
	"collect":         {mCollect, 0, 0, needsBlock},
	"select":          {mSelect, 0, 0, needsBlock},
	"filter":          {mFilter, 0, 0, needsBlock},
	"reject":          {mReject, 0, 0, needsBlock},
	"find":            {mFind, 0, 0, needsBlock},
	"detect":          {mDetect, 0, 0, needsBlock},
	"any?":            {mAnyP, 0, 0, optBlock},
	"all?":            {mAllP, 0, 0, optBlock},
	"none?":           {mNoneP, 0, 0, optBlock},
	"each_with_index": {mEachWithIndex, 0, 0, needsBlock},
	"filter_map":      {mFilterMap, 0, 0, needsBlock},
	"flat_map":        {mFlatMap, 0, 0, needsBlock},
	"sort_by":         {mSortBy, 0, 0, needsBlock},
	"odd?":            {mOddP, 0, 0, noBlock},
	"even?":           {mEvenP, 0, 0, noBlock},
	"positive?":       {mPositiveP, 0, 0, noBlock},
	"negative?":       {mNegativeP, 0, 0, noBlock},
	"round":           {mRound, 0, 0, noBlock},
	"floor":           {mFloor, 0, 0, noBlock},
	"ceil":            {mCeil, 0, 0, noBlock},
	"freeze":          {mFreeze, 0, 0, noBlock},
	"dup":             {mDup, 0, 0, noBlock},
	"ljust":           {mLjust, 1, 2, noBlock},
	"rjust":           {mRjust, 1, 2, noBlock},
	"times":           {mTimes, 0, 0, noBlock},
}

const methodList = "to_i, to_s, presence, to_json, strip, upcase, downcase, split, blank?, present?, empty?, nil?, include?, each, to_f, to_sym, chomp, gsub, sub, start_with?, end_with?, max, min, join, length, size, first, last, compact, uniq, sort, reverse, to_a, to_h, inspect, lstrip, rstrip, capitalize, keys, values, key?, flatten, sum, count, abs, zero?, dig, fetch, map, collect, select, filter, reject, find, detect, any?, all?, none?, each_with_index, filter_map, flat_map, sort_by, odd?, even?, positive?, negative?, round, floor, ceil, freeze, dup, ljust, rjust, times"

var methodNames = [...]string{
	mToI:           "to_i",
	mToS:           "to_s",
	mPresence:      "presence",
	mToJson:        "to_json",
	mStrip:         "strip",
	mUpcase:        "upcase",
	mDowncase:      "downcase",
	mSplit:         "split",
	mBlankP:        "blank?",
	mPresentP:      "present?",
	mEmptyP:        "empty?",
	mNilP:          "nil?",
	mIncludeP:      "include?",
	mEach:          "each",
	mToF:           "to_f",
	mToSym:         "to_sym",
	mChomp:         "chomp",
	mGsub:          "gsub",
	mSub:           "sub",
	mStartWithP:    "start_with?",
	mEndWithP:      "end_with?",
	mMax:           "max",
	mMin:           "min",
	mJoin:          "join",
	mLength:        "length",
	mSize:          "size",
	mFirst:         "first",
	mLast:          "last",
	mCompact:       "compact",
	mUniq:          "uniq",
	mSort:          "sort",
	mReverse:       "reverse",
	mToA:           "to_a",
	mToH:           "to_h",
	mInspect:       "inspect",
	mLstrip:        "lstrip",
	mRstrip:        "rstrip",
	mCapitalize:    "capitalize",
	mKeys:          "keys",
	mValues:        "values",
	mKeyP:          "key?",
	mFlatten:       "flatten",
	mSum:           "sum",
	mCount:         "count",
	mAbs:           "abs",
	mZeroP:         "zero?",
	mDig:           "dig",
	mFetch:         "fetch",
	mMap:           "map",
	mCollect:       "collect",
	mSelect:        "select",
	mFilter:        "filter",
	mReject:        "reject",
	mFind:          "find",
	mDetect:        "detect",
	mAnyP:          "any?",
	mAllP:          "all?",
	mNoneP:         "none?",
	mEachWithIndex: "each_with_index",
	mFilterMap:     "filter_map",
	mFlatMap:       "flat_map",
	mSortBy:        "sort_by",
	mOddP:          "odd?",
	mEvenP:         "even?",
	mPositiveP:     "positive?",
	mNegativeP:     "negative?",
	mRound:         "round",
	mFloor:         "floor",
	mCeil:          "ceil",
	mFreeze:        "freeze",
	mDup:           "dup",
	mLjust:         "ljust",
	mRjust:         "rjust",
	mTimes:         "times",
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
	bop     binop    // opBin
	fn      function // opFunc
	negate  bool     // opModIf: unless
	arms    []arm    // opCase; args[1], if any, is the else
	// opBlock: the block's body and its parameters' slots (nparams of
	// them from slot on; slots up to slotEnd are the block's own locals,
	// reset on every call).
	blk              *expr
	nparams, slotEnd int
	slots            []int // opMassign
	// options marks Rails.application.credentials and what method-style
	// access returns from it: .name reads the key :name (Rails 7+'s
	// nested ActiveSupport::InheritableOptions).
	options bool
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
//
// A template of many tags is mostly text and output nodes, so a node is
// kept small (48 bytes): an output node also carries the text before it,
// and the fields of control nodes are in ctl.
type node struct {
	kind nodeKind
	// shift is added to the positions in x for messages: an output tag
	// whose Ruby repeats an earlier one's shares its parsed x (see
	// Parse), and shift is the distance between the two.
	shift int32
	text  string // nText: the text; nOutput: the text before the tag; nEach: the method
	x     *expr
	*ctl  // nIf, nEach
}

// ctl holds the fields of the nodes that contain others.
type ctl struct {
	branches []branch // nIf
	body     []*node  // nEach
	slot     int      // nEach: the first loop variable
	nvars    int      // nEach: 1, or 2 for each_with_index and a Hash's |k, v|
	slotEnd  int      // nEach: slots below are the loop's, reset on every pass
}

// A branch is one arm of an if: its condition (nil for else) and body.
type branch struct {
	cond   *expr
	negate bool // unless
	body   []*node
}
