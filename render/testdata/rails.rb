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

    # Rails 7.1's Rails.env.local?
    def local?
      %w[development test].include?(self)
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
