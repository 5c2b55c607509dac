# Renders every template of a corpus directory with Ruby's ERB, for the
# conformance test of package render (render/conformance_test.go) and for
# bench/render. Usage: ruby erb.rb DIR  -> JSON on stdout:
#   {"NAME.erb ENVNAME": {"out": BASE64} | {"error": "Class: message"}}
#
# The prelude gives Ruby what Rails' ActiveSupport adds and config
# templates use (blank?, present?, presence), with ActiveSupport's
# definitions, and the json library for to_json.
require 'erb'
require 'json'
require 'base64'
require 'pathname'
require_relative 'activesupport'

# A stand-in for the two things of Rails that config templates use without
# Rails loaded: Rails.env (RAILS_ENV, else RACK_ENV, else "development",
# with .production? and friends, as ActiveSupport::StringInquirer) and
# Rails.root (a Pathname of the application root: entry's working
# directory, which is the directory this script runs in).
module Rails
  class EnvInquirer < String
    def method_missing(name, *args)
      name.end_with?('?') ? self == name.to_s.delete_suffix('?') : super
    end

    def respond_to_missing?(name, include_private = false)
      name.end_with?('?') || super
    end
  end

  def self.env
    EnvInquirer.new(ENV['RAILS_ENV'].presence || ENV['RACK_ENV'].presence || 'development')
  end

  def self.root
    Pathname.new(Dir.pwd)
  end
end

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
      results[key] = { 'error' => "#{e.class}: #{e.message.lines.first.to_s.chomp}" }
    end
  end
end
$stdout.write(JSON.generate(results))
