package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsHideReadValues: a value read from the environment or a file
// never appears in a render error, however the template fails on it; the
// error names where it came from and its length. Literal values are still
// shown, as Ruby shows them.
func TestErrorsHideReadValues(t *testing.T) {
	const url = "postgres://u:topsecret99@h/db"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	os.WriteFile(keyFile, []byte("k3y-f1le-s3cret"), 0o600)
	env := map[string]string{"DATABASE_URL": url, "PORT": "80a", "RAILS_ENV": "production", "KEY_FILE": keyFile}
	urlShown := `ENV["DATABASE_URL"] (29 bytes, not shown)`
	for _, tt := range []struct{ src, want string }{
		{`<%= Integer(ENV["DATABASE_URL"]) %>`, "t.erb:1:5: invalid value for Integer(): " + urlShown + " (Ruby raises ArgumentError here)"},
		{`<%= Integer(ENV.fetch("DATABASE_URL", "5")) %>`, "t.erb:1:5: invalid value for Integer(): " + urlShown + " (Ruby raises ArgumentError here)"},
		{`<%= Integer(ENV["PORT"]) %>`, `t.erb:1:5: invalid value for Integer(): ENV["PORT"] (3 bytes, not shown) (Ruby raises ArgumentError here)`},
		{`<%= Float(ENV["DATABASE_URL"]) %>`, "t.erb:1:5: invalid value for Float(): " + urlShown + " (Ruby raises ArgumentError here)"},
		{`<%= format("%d", ENV["DATABASE_URL"]) %>`, "t.erb:1:5: invalid value for Integer(): " + urlShown + " (Ruby raises ArgumentError here)"},
		{`<%= format("%f", ENV["DATABASE_URL"]) %>`, "t.erb:1:5: invalid value for Float(): " + urlShown + " (Ruby raises ArgumentError here)"},
		{`<%= { "a" => 1 }.fetch(ENV["DATABASE_URL"]) %>`, "t.erb:1:18: key not found: " + urlShown + " (Ruby raises KeyError here; give a default: .fetch(key, default))"},
		{`<% u = ENV["DATABASE_URL"] %><%= { "a" => 1 }.fetch([u]) %>`, "t.erb:1:47: key not found: [" + urlShown + "] (Ruby raises KeyError here; give a default: .fetch(key, default))"},
		{`<%= { "a" => 1 }.fetch(Rails.env) %>`, `t.erb:1:18: key not found: ENV["RAILS_ENV"] (10 bytes, not shown) (Ruby raises KeyError here; give a default: .fetch(key, default))`},
		{`<%= Integer(File.read(ENV["KEY_FILE"])) %>`, `t.erb:1:5: invalid value for Integer(): File.read(ENV["KEY_FILE"]) (15 bytes, not shown) (Ruby raises ArgumentError here)`},
		// Literals are the template's own text: shown as Ruby shows them.
		{`<%= Integer("80a") %>`, `t.erb:1:5: invalid value for Integer(): "80a" (Ruby raises ArgumentError here)`},
	} {
		tmpl, err := Parse("t.erb", []byte(tt.src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		var out bytes.Buffer
		err = tmpl.Execute(&out, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Execute(%q):\n got %v\nwant %s", tt.src, err, tt.want)
		}
		if err != nil {
			for _, secret := range []string{"topsecret99", "k3y-f1le", `"80a"`} {
				if strings.Contains(err.Error(), secret) && !strings.Contains(tt.src, secret) {
					t.Errorf("Execute(%q) shows %s: %v", tt.src, secret, err)
				}
			}
		}
	}
}
