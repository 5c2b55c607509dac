package render

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// railsTemplates are credentials uses from the files `rails new`
// generates (storage.yml reads them in comments, which ERB still runs) and
// from real database.yml and cable.yml files.
var railsCredentialTemplates = map[string]string{
	"storage.yml": `test:
  service: Disk
  root: <%= Rails.root.join("tmp/storage") %>

local:
  service: Disk
  root: <%= Rails.root.join("storage") %>

# Use bin/rails credentials:edit to set the AWS secrets (as aws:access_key_id|secret_access_key)
# amazon:
#   service: S3
#   access_key_id: <%= Rails.application.credentials.dig(:aws, :access_key_id) %>
#   secret_access_key: <%= Rails.application.credentials.dig(:aws, :secret_access_key) %>
#   region: us-east-1
#   bucket: your_own_bucket-<%= Rails.env %>
`,
	"database.yml": `production:
  adapter: postgresql
  password: <%= Rails.application.credentials.dig(:database, :password) || ENV["DB_PASSWORD"] %>
  pool: <%= Rails.application.credentials.dig(:database, :pool) || 5 %>
  host: <%= Rails.application.credentials[:database]&.fetch(:host, "localhost") %>
`,
	"cable.yml": `production:
  adapter: redis
  url: <%= Rails.application.credentials.redis_url || "redis://localhost:6379/1" %>
  channel_prefix: app_<%= Rails.env %>
`,
	"access.erb":  `<%= Rails.application.credentials.secret_key_base %>|<%= Rails.application.credentials[:secret_key_base].to_s.size %>|<%= Rails.application.credentials.fetch(:aws, {})[:region].inspect %>|<%= Rails.application.credentials.dig(:list).inspect %>|<%= Rails.application.credentials.dig(:flags, :on).inspect %>|<%= Rails.application.credentials.dig(:flags, :yes).inspect %>|<%= Rails.application.credentials.dig(:n) %>|<%= Rails.application.credentials.dig(:f) %>|<%= Rails.application.credentials.missing.inspect %>`,
	"bang.erb":    `<%= Rails.application.credentials.secret_key_base! %>`,
	"missing.erb": `<%= Rails.application.credentials.nothing_here! %>`,
	"app.erb":     `<%= Rails.app.credentials.dig(:aws, :region) %>`,
	"fetch.erb":   `<%= Rails.application.credentials.fetch(:nothing_here) %>`,
}

const credentialsYAML = `secret_key_base: 0123abcd
aws:
  access_key_id: AKIAEXAMPLE
  secret_access_key: "wJalr/XUtnFEMI+K7MDENG"
  region: eu-west-1
database:
  password: s3cr3t-db-pw
  pool: 12
  host: db.internal
redis_url: redis://:pw@redis:6379/0
list: [a, 2, 3.5, ~]
flags: {on: true, yes: yes, off: off}
n: 1_000
f: 2.50
`

const credentialsProdYAML = `secret_key_base: production-only
aws:
  region: us-west-2
`

// writeCredentials encrypts text into path with key, by ActiveSupport.
func writeCredentials(t *testing.T, ruby, path, key, text string) {
	t.Helper()
	const script = `require "active_support"; require "active_support/encrypted_configuration"
ENV["K"] = ARGV[1]
c = ActiveSupport::EncryptedConfiguration.new(config_path: ARGV[0], key_path: "/nonexistent", env_key: "K", raise_if_missing_key: true)
c.write(STDIN.read)`
	os.MkdirAll(filepath.Dir(path), 0o755)
	cmd := exec.Command(ruby, "-e", script, path, key)
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ActiveSupport could not write %s: %v\n%s", path, err, out)
	}
}

// TestCredentialsMatchRuby renders Rails' own credentials uses with Ruby
// (ActiveSupport::EncryptedConfiguration, as Rails.application.credentials
// is built) and with entry, in apps with and without credentials files and
// keys: the bytes must be the same, and where Ruby raises entry must fail.
func TestCredentialsMatchRuby(t *testing.T) {
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Fatalf("ruby is not installed (scripts/test installs it): %v", err)
	}
	if out, err := exec.Command(ruby, "-ractive_support", "-e", "").CombinedOutput(); err != nil {
		t.Fatalf("ActiveSupport is not installed (scripts/test installs Debian's ruby-activesupport): %v\n%s", err, out)
	}
	const key = "00112233445566778899aabbccddeeff"
	const prodKey = "ffeeddccbbaa99887766554433221100"
	apps := map[string]struct {
		env   map[string]string
		setup func(dir string)
	}{
		"master.key": {map[string]string{"RAILS_ENV": "production"}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
			os.WriteFile(filepath.Join(dir, "config/master.key"), []byte(key+"\n"), 0o600)
		}},
		"RAILS_MASTER_KEY": {map[string]string{"RAILS_ENV": "production", "RAILS_MASTER_KEY": key}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
		}},
		"per-environment": {map[string]string{"RAILS_ENV": "production"}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
			os.WriteFile(filepath.Join(dir, "config/master.key"), []byte(key), 0o600)
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials/production.yml.enc"), prodKey, credentialsProdYAML)
			os.WriteFile(filepath.Join(dir, "config/credentials/production.key"), []byte(prodKey), 0o600)
		}},
		"per-environment, other env": {map[string]string{"RAILS_ENV": "staging"}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
			os.WriteFile(filepath.Join(dir, "config/master.key"), []byte(key), 0o600)
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials/production.yml.enc"), prodKey, credentialsProdYAML)
		}},
		"no credentials file": {map[string]string{"RAILS_ENV": "production"}, func(dir string) {
			os.MkdirAll(filepath.Join(dir, "config"), 0o755)
		}},
		"no key": {map[string]string{"RAILS_ENV": "production"}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
		}},
		"wrong key": {map[string]string{"RAILS_ENV": "production", "RAILS_MASTER_KEY": prodKey}, func(dir string) {
			writeCredentials(t, ruby, filepath.Join(dir, "config/credentials.yml.enc"), key, credentialsYAML)
		}},
	}
	type rcase struct {
		Dir  string            `json:"dir"`
		Env  map[string]string `json:"env"`
		Src  string            `json:"src"`
		name string
	}
	var cases []rcase
	for appName, app := range apps {
		dir := t.TempDir()
		app.setup(dir)
		for name, src := range railsCredentialTemplates {
			cases = append(cases, rcase{Dir: dir, Env: app.env, Src: src, name: appName + "/" + name})
		}
	}
	// Rails 6.1 (Debian's) has no nested method access nor Rails.app:
	// the harness gives what Rails 7 and 8 do.
	const harness = `require "erb"; require "json"; require "base64"; require "pathname"
require "active_support/all"; require "active_support/encrypted_configuration"
module Rails
  def self.env = ActiveSupport::StringInquirer.new(ENV["RAILS_ENV"] || ENV["RACK_ENV"] || "development")
  def self.root = Pathname.new(Dir.pwd)
  def self.application = self
  def self.app = self
  def self.credentials
    per = root.join("config", "credentials", "#{env}.yml.enc")
    content, key = per.exist? ? [per, root.join("config", "credentials", "#{env}.key")] : [root.join("config", "credentials.yml.enc"), root.join("config", "master.key")]
    ActiveSupport::EncryptedConfiguration.new(config_path: content, key_path: key, env_key: "RAILS_MASTER_KEY", raise_if_missing_key: false)
  end
end
out = JSON.parse(STDIN.read).map do |c|
  Dir.chdir(c["dir"]) do
    ENV.delete("RAILS_MASTER_KEY")
    c["env"].each { |k, v| ENV[k] = v }
    begin
      {"out" => Base64.strict_encode64(ERB.new(c["src"], trim_mode: "-").result(binding))}
    rescue Exception => e
      {"error" => e.class.name + ": " + e.message}
    end
  end
end
print JSON.generate(out)`
	var results []struct {
		Out   *string `json:"out"`
		Error string  `json:"error"`
	}
	rubyJSON(t, ruby, harness, cases, &results)
	if len(results) != len(cases) {
		t.Fatalf("ruby gave %d results for %d cases", len(results), len(cases))
	}
	rendered, failed := 0, 0
	for i, c := range cases {
		t.Chdir(c.Dir)
		got, err := renderWithEnv(c.Src, c.Env)
		r := results[i]
		switch {
		case r.Out == nil && err == nil:
			t.Errorf("%s: Ruby raised %s; entry rendered %q", c.name, r.Error, got)
		case r.Out == nil:
			failed++
			for _, secret := range []string{key, prodKey, "s3cr3t-db-pw", "0123abcd"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the error shows a secret: %v", c.name, err)
				}
			}
		case err != nil:
			t.Errorf("%s: Ruby rendered; entry: %v", c.name, err)
		default:
			rendered++
			want, _ := base64.StdEncoding.DecodeString(*r.Out)
			if got != string(want) {
				t.Errorf("%s: differs from Ruby:\nentry %q\n ruby %q", c.name, got, want)
			}
		}
	}
	if rendered < 30 || failed < 5 {
		t.Errorf("%d cases rendered and %d failed in both: the cases no longer cover both kinds", rendered, failed)
	}
}

func renderWithEnv(src string, env map[string]string) (string, error) {
	tmpl, err := Parse("t.erb", []byte(src))
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Options{})
	return out.String(), err
}

// TestCredentialsMessages: what a user sees when credentials cannot be
// read, naming the file and never the key.
func TestCredentialsMessages(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.MkdirAll("config", 0o755)
	os.WriteFile("config/credentials.yml.enc", []byte("bm90IGl0--YWJj--ZGVm\n"), 0o600)
	const key = "00112233445566778899aabbccddeeff"
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RAILS_MASTER_KEY": key}, "t.erb:1:8: Rails.application.credentials: config/credentials.yml.enc does not decrypt with the key from RAILS_MASTER_KEY: not an aes-128-gcm message (iv of 3 bytes, tag of 3) (Ruby raises ActiveSupport::MessageEncryptor::InvalidMessage here)"},
		{map[string]string{"RAILS_MASTER_KEY": "short"}, "t.erb:1:8: Rails.application.credentials: config/credentials.yml.enc does not decrypt with the key from RAILS_MASTER_KEY: the key is 5 characters; Rails' keys are 32 hexadecimal digits (Ruby raises ActiveSupport::MessageEncryptor::InvalidMessage here)"},
	} {
		_, err := renderWithEnv(`x: <%= Rails.application.credentials.dig(:a) %>`, c.env)
		if err == nil || err.Error() != c.want {
			t.Errorf("err = %v\nwant %s", err, c.want)
		}
	}
}
