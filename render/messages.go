package render

import (
	"sort"
	"strings"

	"github.com/entryhq/entry/internal/suggest"
)

// This file holds the hints of refusals that name what the template most
// likely meant.

// methodHints are what to write for methods real templates call that
// entry has not.
var methodHints = map[string]string{
	"cleanpath": "Rails.root.join already resolves .. and . as Ruby's Pathname#join does; for a String use File.expand_path",
	"to_path":   "use .to_s",
	"tr":        "use .gsub(from, to) for each character",
	"squish":    "use .split.join(\" \")",
	"from_now":  "entry has no clock: a rendered file is written once; pass times in environment variables",
	"ago":       "entry has no clock: a rendered file is written once; pass times in environment variables",
}

// unknownMethodHint says what to write for .name, which entry does not
// have: the hint for it, or the supported methods closest to it, then
// the whole list.
func unknownMethodHint(name string) string {
	if h, ok := methodHints[name]; ok {
		return h
	}
	names := make([]string, 0, len(methods)+len(durationMethods)+len(byteMethods))
	for n := range methods {
		names = append(names, n)
	}
	for n := range durationMethods {
		names = append(names, n)
	}
	for n := range byteMethods {
		names = append(names, n)
	}
	if close := closest(name, names); len(close) > 0 {
		return "did you mean ." + strings.Join(close, " or .") + "? entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes)"
	}
	return "entry supports " + methodList + " and durations (5.minutes) and byte sizes (256.megabytes)"
}

// closest returns the names at the smallest edit distance from name, if
// that distance is small for name's length (at most a third of it, at
// least 1), in order.
func closest(name string, names []string) []string {
	limit := max(1, len(name)/3)
	best := limit + 1
	var out []string
	for _, n := range names {
		switch d := suggest.Distance(name, n); {
		case d > limit:
		case d < best:
			best, out = d, []string{n}
		case d == best:
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// unknownNameHint says what a lowercase name that is no local variable
// could be: one assigned later, or an environment variable.
func unknownNameHint(w string) string {
	return "no local variable " + w + " is assigned before here; for the environment variable write ENV[\"" + strings.ToUpper(w) +
		"\"]; entry knows ENV, local variables, block variables, Integer(), Float(), String() and format()"
}
