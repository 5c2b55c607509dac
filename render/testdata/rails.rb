require 'pathname'
require_relative 'activesupport'

# A stand-in for the two things of Rails that config templates use without
# Rails loaded: Rails.env (RAILS_ENV, else RACK_ENV, else "development",
# with .production? and friends, as ActiveSupport::StringInquirer) and
# Rails.root (a Pathname of the application root: entry's working
# directory, which is the directory this script runs in), and
# Rails.application.credentials (Rails 8's Rails.app.credentials), built as
# Rails builds it: ActiveSupport::EncryptedConfiguration over
# config/credentials/RAILS_ENV.yml.enc with config/credentials/RAILS_ENV.key
# when that file exists, else config/credentials.yml.enc with
# config/master.key, RAILS_MASTER_KEY winning, no error for a missing key.
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

  def self.application
    self
  end

  def self.app
    self
  end

  # ActiveSupport is loaded only for templates that read credentials: it
  # is slow to load, and its JSON encoding (loaded when credentials are
  # decrypted) changes to_json.
  def self.load_credentials_support
    verbose, $VERBOSE = $VERBOSE, nil # ActiveSupport redefines activesupport.rb's BLANK_RE
    require 'active_support'
    require 'active_support/core_ext/hash/keys'
    require 'active_support/encrypted_configuration'
  ensure
    $VERBOSE = verbose
  end

  def self.credentials
    load_credentials_support
    per_env = root.join('config', 'credentials', "#{env}.yml.enc")
    content, key = if per_env.exist?
                     [per_env, root.join('config', 'credentials', "#{env}.key")]
                   else
                     [root.join('config', 'credentials.yml.enc'), root.join('config', 'master.key')]
                   end
    ActiveSupport::EncryptedConfiguration.new(config_path: content, key_path: key,
                                              env_key: 'RAILS_MASTER_KEY', raise_if_missing_key: false)
  end
end
