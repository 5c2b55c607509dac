package render

import (
	"testing"
)

// TestRequire: require of a library entry's subset covers does nothing;
// any other, require_relative and load are refused with the name.
func TestRequire(t *testing.T) {
	for _, src := range []string{
		`<% require "json" %>a<% require('pathname') %>b<% require 'erb' %>c<% require "etc"; require("socket"); x = 1 %><%= x %>`,
		"<%- require 'json' -%>\na<% require(\"json\") if true %>b<% x = 2 %>c\n",
	} {
		got, err := renderWith(t, src, nil, Options{})
		want := map[bool]string{true: "abc1", false: "abc\n"}[src[2] == ' ']
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", src, got, err, want)
		}
	}
	const accepts = `; entry accepts require of "erb", "etc", "json", "pathname", "socket", which it needs not load)`
	tests := []struct{ src, want string }{
		{`<% require "yaml" %>`, `t.erb:1:4: unsupported Ruby: require "yaml" (entry has no YAML: keep the value in JSON and use JSON.parse(File.read(path)), or an environment variable` + accepts},
		{`<% require("digest") %>`, `t.erb:1:4: unsupported Ruby: require "digest" (entry renders without Ruby libraries` + accepts},
		{`<% require 'uri' %>`, `t.erb:1:4: unsupported Ruby: require "uri" (entry has no URI: pass the parts in environment variables, or split the string with .split` + accepts},
		{`<% require 'securerandom' %>`, `t.erb:1:4: unsupported Ruby: require "securerandom" (a rendered file is written once at start-up; generate the value outside and pass it in an environment variable` + accepts},
		{`<% require "active_record" %>`, `t.erb:1:4: unsupported Ruby: require "active_record" (entry renders without Ruby libraries` + accepts},
		{`<% require_relative "helpers" %>`, `t.erb:1:4: unsupported Ruby: require_relative "helpers" (entry loads no Ruby files; put the value in an environment variable, or in a JSON file read with JSON.parse(File.read(path)))`},
		{`<% load "x.rb" %>`, `t.erb:1:4: unsupported Ruby: load "x.rb" (entry loads no Ruby files; put the value in an environment variable, or in a JSON file read with JSON.parse(File.read(path)))`},
		{`<% require lib %>`, `t.erb:1:4: unsupported Ruby: require without a library name in quotes (write require "json")`},
		{`<% require %>`, `t.erb:1:4: unsupported Ruby: require without a library name in quotes (write require "json")`},
		{`<%= require "json" %>`, `t.erb:1:5: unsupported Ruby: require inside <%= %> (Ruby prints true or false for it; write <% require "json" %>)`},
	}
	for _, tt := range tests {
		_, err := Parse("t.erb", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
