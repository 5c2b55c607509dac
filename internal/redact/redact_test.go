package redact

import "testing"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tcp://127.0.0.1:3000", "tcp://127.0.0.1:3000"},
		{"http://u:topsecret99@127.0.0.1:3000/up", "http://u:xxxxx@127.0.0.1:3000/up"},
		{"redis://:pw@redis:6379/0", "redis://:xxxxx@redis:6379/0"},
		{"https://token@example.com/x", "https://token@example.com/x"}, // a user alone is not masked (as url.URL.Redacted)
		{"http://u:p%40ss@h/", "http://u:xxxxx@h/"},
		{"http://u:bad pass@h:x/", "http://u:xxxxx@h:x/"}, // does not parse: masked as text
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"curl -fs http://u:topsecret99@localhost:3000/up", "curl -fs http://u:xxxxx@localhost:3000/up"},
		{"a postgres://app:p@ss@db/app b redis://:r3d1s@r:6379", "a postgres://app:xxxxx@db/app b redis://:xxxxx@r:6379"},
		{`parse "http://u:s3cr3t@h:99x": invalid port ":99x" after host`, `parse "http://u:xxxxx@h:99x": invalid port ":99x" after host`},
		{"no url here: a:b@c", "no url here: a:b@c"},
		{"http://h:3000/x?u=a:b@c", "http://h:3000/x?u=a:b@c"},
		{"sh -c 'wget http://u:pw@h/'", "sh -c 'wget http://u:xxxxx@h/'"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
