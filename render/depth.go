package render

// maxValueDepth bounds how deep the operations that walk a value
// recursively (==, eql? and so Hash keys, sort's <=>, inspect and to_s,
// join) may descend. A loop can nest a value a million levels deep
// (a = [a]), and Go's stack is not the place to find out how deep a
// goroutine may go: past the limit the operation fails as Ruby's does
// (SystemStackError, from about 10,000 to 20,000 levels on Ruby 3.1's
// default stack), where Ruby still succeeds below it. to_json and
// JSON.parse stop at Ruby JSON's 100 (maxDepth); flatten, which Ruby
// does without recursion, has no limit.
const maxValueDepth = 10_000

// valueTooDeep is the panic that a recursive walk past maxValueDepth
// raises: the walks return plain values (bool, int, a string written to
// a Builder), so the failure unwinds to the expression being evaluated,
// which turns it into an error at its place (see catchTooDeep).
type valueTooDeep struct{}

// checkDepth stops a walk that went past maxValueDepth.
func checkDepth(depth int) {
	if depth > maxValueDepth {
		panic(valueTooDeep{})
	}
}

// catchTooDeep, deferred around a walk, turns a walk that went too deep
// into an error at pos; any other panic goes on.
func (st *state) catchTooDeep(pos int, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(valueTooDeep); !ok {
		panic(r)
	}
	*err = st.tooDeepError(pos)
}

// walk and walkErr run what may walk values recursively for x: a walk
// past maxValueDepth becomes x's error. Built-in methods (method) are
// guarded the same way; the operations that walk no value pay nothing.
func (st *state) walk(x *expr, f func() value) (_ value, err error) {
	defer st.catchTooDeep(x.pos, &err)
	return f(), nil
}

func (st *state) walkErr(x *expr, f func() (value, error)) (_ value, err error) {
	defer st.catchTooDeep(x.pos, &err)
	return f()
}

func (st *state) tooDeepError(pos int) error {
	return st.errorf(pos, "stack level too deep: a value nested more than %d levels (Ruby raises SystemStackError here)", maxValueDepth)
}

// runAll is run with a last guard: a walk past maxValueDepth that no
// expression caught (an operation added without walk) is still an error,
// placed at the template's start, and never a crash of the process.
func (st *state) runAll(nodes []*node) (err error) {
	defer st.catchTooDeep(0, &err)
	return st.run(nodes)
}

// outputString is v.to_s for <%= %>, outside any expression.
func (st *state) outputString(pos int, v value) (_ string, err error) {
	defer st.catchTooDeep(pos, &err)
	return v.toS(), nil
}
