package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// An Error is a problem at a place in a template: a construct entry does
// not support, a syntax error, or a failure while rendering (an unset
// ENV.fetch, a method called on nil).
type Error struct {
	Name string // the template's name, as given to Parse
	Line int    // 1-based
	Col  int    // 1-based, in characters
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

// errorAt returns an *Error for byte offset off of src.
func errorAt(name, src string, off int, msg string) *Error {
	line, col := lineCol(src, off)
	return &Error{Name: name, Line: line, Col: col, Msg: msg}
}

// lineCol returns the 1-based line and character column of byte offset off.
func lineCol(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line = 1 + strings.Count(src[:off], "\n")
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return line, 1 + utf8.RuneCountInString(src[start:off])
}

func lineColString(src string, off int) string {
	l, c := lineCol(src, off)
	return fmt.Sprintf("%d:%d", l, c)
}
