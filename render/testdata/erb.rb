# Renders every template of a corpus directory with Ruby's ERB, for the
# conformance test of package render (render/conformance_test.go) and for
# bench/render. Usage: ruby erb.rb DIR  -> JSON on stdout:
#   {"NAME.erb ENVNAME": {"out": BASE64} | {"error": "Class: message", "line": N}}
# where N is the template's line that raised (0 if none is known).
# An environment's "@app" entry is not a variable: it names the directory
# under DIR the case runs in (Rails.root, where the credentials are read).
#
# The prelude gives Ruby what Rails' ActiveSupport adds and config
# templates use (blank?, present?, presence), with ActiveSupport's
# definitions, and the json library for to_json.
require 'erb'
require 'json'
require 'base64'
require 'pathname'
require_relative 'activesupport'

# ActiveSupport's durations (5.minutes) and byte sizes (256.megabytes),
# without the rest of ActiveSupport (its to_json would escape <, > and &,
# as a plain ERB run does not).
require 'active_support'
require 'active_support/core_ext/integer/time'
require 'active_support/core_ext/numeric/time'
require 'active_support/core_ext/numeric/bytes'

# Rails.env, Rails.root and Rails.application.credentials, as config
# templates use them without Rails.
require_relative 'rails'

def render(src)
  out = ERB.new(src, trim_mode: '-').result
  { 'out' => Base64.strict_encode64(out.b) }
rescue Exception => e
  at = (e.backtrace_locations || []).find { |l| l.path == '(erb)' }
  { 'error' => "#{e.class}: #{e.message.lines.first.to_s.chomp}", 'line' => at ? at.lineno : 0 }
end

def in_child
  r, w = IO.pipe
  pid = fork do
    r.close
    w.write(JSON.generate(yield))
    w.close
    exit!(0)
  end
  w.close
  result = JSON.parse(r.read)
  r.close
  Process.wait(pid)
  result
end

dir = File.expand_path(ARGV.fetch(0))
# Renders every case of the templates given into results.
def render_all(dir, templates, results)
  templates.each do |path|
    envs = JSON.parse(File.read(path.sub(/\.erb\z/, '.env.json')))
    src = File.binread(path).force_encoding(Encoding::UTF_8)
    envs.each do |env_name, vars|
      app = vars.delete('@app')
      ENV.replace(vars)
      Dir.chdir(app ? File.join(dir, app) : Dir.pwd) do
        results["#{File.basename(path)} #{env_name}"] = render(src)
      end
    end
  end
  results
end

results = {}
templates = Dir.glob(File.join(dir, '*.erb')).sort
# Reading credentials loads ActiveSupport, whose JSON encoding changes
# to_json: the templates that read them are rendered in a child process.
with_credentials, plain = templates.partition { |path| File.read(path).include?('credentials') }
render_all(dir, plain, results)
results.merge!(in_child { render_all(dir, with_credentials, {}) }) unless with_credentials.empty?
$stdout.write(JSON.generate(results))
