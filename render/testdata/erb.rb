# Renders every template of a corpus directory with Ruby's ERB, for the
# conformance test of package render (render/conformance_test.go) and for
# bench/render. Usage: ruby erb.rb DIR  -> JSON on stdout:
#   {"NAME.erb ENVNAME": {"out": BASE64} | {"error": "Class: message", "line": N}}
# where N is the template's line that raised (0 if none is known).
#
# The prelude gives Ruby what Rails' ActiveSupport adds and config
# templates use (blank?, present?, presence), with ActiveSupport's
# definitions, and the json library for to_json.
require 'erb'
require 'json'
require 'base64'
require 'pathname'
require_relative 'activesupport'

# ActiveSupport's durations (5.minutes), without the rest of ActiveSupport
# (its to_json would escape <, > and &, as a plain ERB run does not).
require 'active_support'
require 'active_support/core_ext/integer/time'
require 'active_support/core_ext/numeric/time'

# Rails.env and Rails.root, as config templates use them without Rails.
require_relative 'rails'

dir = ARGV.fetch(0)
results = {}
Dir.glob(File.join(dir, '*.erb')).sort.each do |path|
  envs = JSON.parse(File.read(path.sub(/\.erb\z/, '.env.json')))
  src = File.binread(path).force_encoding(Encoding::UTF_8)
  envs.each do |env_name, vars|
    ENV.replace(vars)
    key = "#{File.basename(path)} #{env_name}"
    begin
      out = ERB.new(src, trim_mode: '-').result
      results[key] = { 'out' => Base64.strict_encode64(out.b) }
    rescue Exception => e
      at = (e.backtrace_locations || []).find { |l| l.path == '(erb)' }
      results[key] = { 'error' => "#{e.class}: #{e.message.lines.first.to_s.chomp}", 'line' => at ? at.lineno : 0 }
    end
  end
end
$stdout.write(JSON.generate(results))
