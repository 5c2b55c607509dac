// Package render renders ERB templates with the subset of Ruby that config
// templates use, byte-identical to Ruby's ERB, with no Ruby in the image.
// See docs/render.md.
package render
