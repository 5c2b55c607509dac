# Writes the encrypted credentials of the corpus's apps with ActiveSupport
# (ActiveSupport::EncryptedConfiguration#write, as `bin/rails
# credentials:edit` does), from the plain YAML below. The keys are test keys
# of this corpus only. Run from this directory after changing the YAML:
#   ruby make.rb
# (Each run writes new random IVs; the outputs stay the same.)
require 'active_support'
require 'active_support/encrypted_configuration'
require 'fileutils'

MASTER_KEY = '5f6e8e3c0c1a4b2d9e7f60718293a4b5'
PRODUCTION_KEY = 'c0ffee00c0ffee11c0ffee22c0ffee33'

CREDENTIALS = <<~YAML
  # aws:
  #   access_key_id: 123
  #   secret_access_key: 345
  aws:
    access_key_id: AKIAIOSFODNN7EXAMPLE
    secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    region: ap-northeast-1
    bucket: myapp-assets
  azure_storage:
    storage_access_key: QXp1cmVTdG9yYWdlS2V5PT0=
  database:
    username: myapp
    password: "p@ss:w0rd/#1"
    host: db.internal
    port: 5432
    pool: 10
  redis:
    url: redis://:hunter2@redis.internal:6379/1
  smtp:
    user_name: apikey
    password: SG.example-smtp-password
    port: 587
  # Used as the base secret for all MessageVerifiers in Rails, including the one protecting cookies.
  secret_key_base: 9f3a1c0e5b7d2468ace13579bdf02468ace13579bdf02468ace13579bdf02468ace13579bdf02468ace13579bdf02468ace13579bdf02468ace13579bdf0246
YAML

PRODUCTION_CREDENTIALS = <<~YAML
  aws:
    access_key_id: AKIAPRODUCTIONEXAMPLE
    secret_access_key: prod/secret+access/key
    region: us-east-1
    bucket: myapp-production
  database:
    password: production-db-password
  secret_key_base: production-secret-key-base
YAML

def write(path, key, yaml)
  FileUtils.mkdir_p(File.dirname(path))
  ENV['CORPUS_KEY'] = key
  ActiveSupport::EncryptedConfiguration.new(config_path: path, key_path: '/nonexistent',
                                            env_key: 'CORPUS_KEY', raise_if_missing_key: true).write(yaml)
end

# master_key: what `rails new` leaves (config/credentials.yml.enc and
# config/master.key).
write('master_key/config/credentials.yml.enc', MASTER_KEY, CREDENTIALS)
File.write('master_key/config/master.key', MASTER_KEY)
# env_key: the image carries only the encrypted file; the key comes in
# RAILS_MASTER_KEY (or not at all).
write('env_key/config/credentials.yml.enc', MASTER_KEY, CREDENTIALS)
# per_env: `bin/rails credentials:edit --environment production` added
# config/credentials/production.yml.enc and its key beside the global file.
write('per_env/config/credentials.yml.enc', MASTER_KEY, CREDENTIALS)
File.write('per_env/config/master.key', MASTER_KEY)
write('per_env/config/credentials/production.yml.enc', PRODUCTION_KEY, PRODUCTION_CREDENTIALS)
File.write('per_env/config/credentials/production.key', PRODUCTION_KEY)
