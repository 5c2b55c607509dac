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
func scan(name, src string) ([]segment, error) {
	var segs []segment
	var text strings.Builder
	textPos := 0
	flushText := func() {
		if text.Len() > 0 {
			segs = append(segs, segment{kind: segText, text: text.String(), pos: textPos})
			text.Reset()
		}
	}
	// addText appends src[from:to] to the pending text, checking for a
	// stray "%>".
	addText := func(from, to int) error {
		// A %> outside a tag is text, as Ruby prints it.
		chunk := src[from:to]
		if text.Len() == 0 {
			textPos = from
		}
		text.WriteString(chunk)
		return nil
	}

	pos := 0
	for pos < len(src) {
		q := strings.Index(src[pos:], "<%")
		if q < 0 {
			if err := addText(pos, len(src)); err != nil {
				return nil, err
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
					return nil, err
				}
				if text.Len() == 0 {
					textPos = q
				}
				text.WriteString("<%")
				pos = q + 3
				continue
			case '=':
				kind, open = segOutput, 3
			case '#':
				kind, open = segComment, 3
			}
		}
		if err := addText(pos, start); err != nil {
			return nil, err
		}
		flushText()

		// Inside the tag: find its end.
		seg := segment{kind: kind, pos: q, contentPos: q + open}
		var content strings.Builder
		p := q + open
		for {
			i := strings.Index(src[p:], "%>")
			if i < 0 {
				return nil, errorAt(name, src, q, "unbalanced tags: "+src[q:q+open]+" is never closed with %>")
			}
			i += p
			if i-1 >= p && src[i-1] == '%' {
				content.WriteString(src[p : i-1])
				seg.shifts = append(seg.shifts, content.Len())
				content.WriteString("%>")
				p = i + 2
				continue
			}
			if i-1 >= p && src[i-1] == '-' {
				content.WriteString(src[p : i-1])
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
				content.WriteString(src[p:i])
				p = i + 2
			}
			break
		}
		seg.text = content.String()
		segs = append(segs, seg)
		pos = p
	}
	flushText()
	return segs, nil
}
