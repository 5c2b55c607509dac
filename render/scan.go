package render

import (
	"strings"
)

// A segKind is what a piece of an ERB template is.
type segKind uint8

const (
	segText    segKind = iota // text copied to the output
	segCode                   // <% code %> or <%- code %>
	segOutput                 // <%= expr %>
	segComment                // <%# comment %>
)

// A segment is one piece of a template as Ruby's ERB scanner cuts it.
type segment struct {
	kind segKind
	// text is the output for segText, and the Ruby source between the
	// tags otherwise (with %%> already turned into %>).
	text string
	// pos is the byte offset in the template of the segment's first byte
	// (the "<" of a tag); contentPos is the offset of text's first byte.
	pos, contentPos int
	// shifts are the offsets in text where a "%%>" of the template was
	// shortened to "%>", so that positions in text map back to the
	// template.
	shifts []int
	// cr is set when the tag ends the line of Ruby code ERB generates: it
	// closed with "-%>" followed by a newline or the end of the template.
	// Only then does a "# comment" in a code tag hide nothing else.
	cr bool
}

// srcOffset maps offset off in s.text to an offset in the template.
func (s *segment) srcOffset(off int) int {
	n := s.contentPos + off
	for _, sh := range s.shifts {
		if sh < off {
			n++
		}
	}
	return n
}

// scan cuts src into segments exactly as Ruby's ERB does with
// trim_mode "-" (ERB::Compiler::ExplicitScanner):
//
//   - "<%-" opens a code tag; when only spaces and tabs stand between it and
//     the start of the line (or the end of the previous tag), they are
//     dropped.
//   - "-%>" closes a tag and eats one following "\n" or "\r\n".
//   - "<%%" outside a tag is a literal "<%"; "%%>" inside a tag is "%>".
//
// It returns an error for a tag that is never closed; a "%>" in text is
// text, as in Ruby. ("<%" inside a tag is Ruby's business: it may
// stand in a string; Parse reports it when the Ruby does not parse.)
//
// Each segment is passed to emit as soon as it is cut (emit returns false
// to stop), so that a big template is never held as a list of segments;
// the *segment is valid only during the call.
func scan(name, src string, emit func(*segment) bool) error {
	stopped := false
	var cur segment // one variable for all: a segment per tag would escape
	put := func(seg segment) {
		cur = seg
		if !stopped && !emit(&cur) {
			stopped = true
		}
	}
	// The pending text is usually one run of src, kept as a substring
	// without copying; only a "<%%" (whose third byte is dropped) makes it
	// a copy in text.
	var text textRun
	textPos := 0
	flushText := func() {
		if text.n > 0 {
			put(segment{kind: segText, text: text.string(src), pos: textPos})
			text.reset()
		}
	}
	// addText appends src[from:to] to the pending text. A %> outside a
	// tag is text, as Ruby prints it.
	addText := func(from, to int) error {
		if text.n == 0 {
			textPos = from
		}
		text.add(src, from, to)
		return nil
	}

	pos := 0
	for pos < len(src) {
		q := strings.Index(src[pos:], "<%")
		if q < 0 {
			if err := addText(pos, len(src)); err != nil {
				return err
			}
			break
		}
		q += pos
		kind := segCode
		start := q // where the text before the tag ends
		open := 2  // length of the opening tag
		if q+2 < len(src) {
			switch src[q+2] {
			case '-':
				open = 3
				s := q
				for s > pos && (src[s-1] == ' ' || src[s-1] == '\t') {
					s--
				}
				// Ruby's "^" matches after "\n" and wherever its
				// StringScanner resumed, which is pos.
				if s == pos || src[s-1] == '\n' {
					start = s
				}
			case '%':
				if err := addText(pos, q); err != nil {
					return err
				}
				if text.n == 0 {
					textPos = q
				}
				text.add(src, q, q+2)
				pos = q + 3
				continue
			case '=':
				kind, open = segOutput, 3
			case '#':
				kind, open = segComment, 3
			}
		}
		if err := addText(pos, start); err != nil {
			return err
		}
		flushText()

		// Inside the tag: find its end. The content is a substring of src
		// unless a "%%>" in it is shortened.
		seg := segment{kind: kind, pos: q, contentPos: q + open}
		var content textRun
		p := q + open
		for {
			i := strings.Index(src[p:], "%>")
			if i < 0 {
				return errorAt(name, src, q, "unbalanced tags: "+src[q:q+open]+" is never closed with %>")
			}
			i += p
			if i-1 >= p && src[i-1] == '%' {
				content.add(src, p, i-1)
				seg.shifts = append(seg.shifts, content.n)
				content.add(src, i, i+2)
				p = i + 2
				continue
			}
			if i-1 >= p && src[i-1] == '-' {
				content.add(src, p, i-1)
				p = i + 2
				seg.cr = true
				if strings.HasPrefix(src[p:], "\r\n") {
					p += 2
				} else if strings.HasPrefix(src[p:], "\n") {
					p++
				} else if p < len(src) {
					seg.cr = false
				}
			} else {
				content.add(src, p, i)
				p = i + 2
			}
			break
		}
		seg.text = content.string(src)
		put(seg)
		if stopped {
			return nil
		}
		pos = p
	}
	flushText()
	return nil
}

// segments is the sequence of src's segments for a range loop, after a
// first pass that checks the whole template, so that an unclosed tag or a
// stray %> is reported before anything in the tags is; it yields the error
// alone when there is one.
func segments(name, src string) func(yield func(*segment, error) bool) {
	return func(yield func(*segment, error) bool) {
		if err := scan(name, src, func(*segment) bool { return true }); err != nil {
			yield(nil, err)
			return
		}
		scan(name, src, func(seg *segment) bool { return yield(seg, nil) })
	}
}

// A textRun accumulates pieces of src: while they follow each other it is
// the range src[from:to], and it becomes a copy only when they do not.
type textRun struct {
	from, to int
	n        int             // length so far
	b        strings.Builder // the copy, once one is needed
	copied   bool
}

func (r *textRun) add(src string, from, to int) {
	switch {
	case from == to:
		return
	case r.n == 0 && !r.copied:
		r.from, r.to = from, to
	case !r.copied && from == r.to:
		r.to = to
	default:
		if !r.copied {
			r.b.WriteString(src[r.from:r.to])
			r.copied = true
		}
		r.b.WriteString(src[from:to])
	}
	r.n += to - from
}

func (r *textRun) string(src string) string {
	if r.copied {
		return r.b.String()
	}
	return src[r.from:r.to]
}

func (r *textRun) reset() { *r = textRun{} }
