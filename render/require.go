package render

import (
	"sort"
	"strconv"
	"strings"
)

// requireOK are the standard libraries whose features a template can use
// in entry's subset without loading anything: require of one of them is
// accepted and does nothing.
var requireOK = map[string]string{
	"json":     "JSON.parse, to_json",
	"pathname": "Rails.root's Pathname",
	"erb":      "the template itself",
	"etc":      "Etc.nprocessors",
	"socket":   "Socket.gethostname",
}

// requireHint says, for a library entry does not cover, what to write
// instead.
var requireHint = map[string]string{
	"yaml":         "entry has no YAML: keep the value in JSON and use JSON.parse(File.read(path)), or an environment variable",
	"psych":        "entry has no YAML: keep the value in JSON and use JSON.parse(File.read(path)), or an environment variable",
	"securerandom": "a rendered file is written once at start-up; generate the value outside and pass it in an environment variable",
	"uri":          "entry has no URI: pass the parts in environment variables, or split the string with .split",
}

// parseRequire parses require "lib", require("lib") or require 'lib' (w
// is require, require_relative or load, at the cursor): a no-op for the
// libraries in requireOK, refused with the name otherwise.
func (p *parser) parseRequire(start int, w string) *expr {
	p.i += len(w)
	var arg *expr
	if p.peek() == '(' {
		args := p.parseCall(')')
		if len(args) == 1 {
			arg = args[0]
		}
	} else if c := p.peek(); c == ' ' || c == '\t' {
		p.skipSpace()
		if c := p.peek(); c == '"' || c == '\'' {
			arg = p.parsePrimary()
		}
	}
	if arg == nil || arg.op != opLit || arg.val.k != kStr {
		p.unsupported(start, w+" without a library name in quotes", "write require \"json\"")
	}
	name := arg.val.s
	shown := w + " " + strconv.Quote(name)
	if w != "require" {
		p.unsupported(start, shown, "entry loads no Ruby files; put the value in an environment variable, or in a JSON file read with JSON.parse(File.read(path))")
	}
	if _, ok := requireOK[name]; ok {
		return &expr{op: opLit, pos: p.seg.srcOffset(start), src: p.s[start:p.i]}
	}
	hint, ok := requireHint[name]
	if !ok {
		hint = "entry renders without Ruby libraries"
	}
	p.unsupported(start, shown, hint+"; entry accepts require of "+requireList()+", which it needs not load")
	return nil
}

// requireList names the libraries in requireOK, in order.
func requireList() string {
	names := make([]string, 0, len(requireOK))
	for n := range requireOK {
		names = append(names, strconv.Quote(n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
