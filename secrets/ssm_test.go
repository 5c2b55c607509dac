package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/entryhq/entry/secrets/ssmfake"
)

// fakeAWSEnv points the default AWS configuration at dummy credentials, so
// the real SDK signs requests without any real account.
func fakeAWSEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTESTFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")
}

func TestSSMKeyWithRealSDK(t *testing.T) {
	fakeAWSEnv(t)
	srv := ssmfake.New()
	defer srv.Close()
	id, rcpt := testKey(t)
	srv.Put("/app/prod/age-key", ssmfake.Parameter{Value: "# comment\n" + PublicKeyComment(rcpt) + id.(interface{ String() string }).String() + "\n"})
	srv.Deny("/app/denied")

	vault, err := Encrypt(YAML, []byte("password: hunter2\n"), EncryptOptions{Recipients: []string{rcpt}})
	if err != nil {
		t.Fatal(err)
	}
	// The client the SDK builds from the default configuration, with the
	// endpoint set as the standard BaseEndpoint option.
	viaBaseEndpoint := func(ctx context.Context) (ParameterGetter, error) {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) }), nil
	}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}

	ks := KeySource{Lookup: env(map[string]string{EnvKeySSM: "/app/prod/age-key"}), NewSSM: viaBaseEndpoint}
	if d := ks.Describe(); d != "ENTRY_AGE_KEY_SSM (SSM parameter /app/prod/age-key)" {
		t.Errorf("Describe = %q", d)
	}
	got, desc, err := ks.Identities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if desc != ks.Describe() {
		t.Errorf("desc = %q", desc)
	}
	if _, err := Decrypt(YAML, vault, got); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Target != "AmazonSSM.GetParameter" || !calls[0].WithDecryption || !calls[0].Signed || calls[0].AccessKeyID != "AKIDTESTFAKE" {
		t.Errorf("calls = %+v", calls)
	}

	// The same through AWS_ENDPOINT_URL_SSM and the default client.
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	ks = KeySource{Lookup: env(map[string]string{}), ConfigSSM: "/app/prod/age-key"}
	if _, _, err := ks.Identities(context.Background()); err != nil {
		t.Fatalf("AWS_ENDPOINT_URL_SSM: %v", err)
	}

	for name, c := range map[string]struct {
		param, msg string
	}{
		"not found": {"/app/missing", "no age key: ENTRY_AGE_KEY_SSM (SSM parameter /app/missing): parameter not found (create it as a SecureString, or fix the name)"},
		"denied":    {"/app/denied", "no age key: ENTRY_AGE_KEY_SSM (SSM parameter /app/denied): access denied (grant the task role ssm:GetParameter on it, and kms:Decrypt on its key)"},
	} {
		ks := KeySource{Lookup: env(map[string]string{EnvKeySSM: c.param}), NewSSM: viaBaseEndpoint}
		_, _, err := ks.Identities(context.Background())
		if !errors.Is(err, ErrNoKey) || !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("%s: %v\nwant prefix %s", name, err, c.msg)
		}
	}
}

func TestKeySourceOrder(t *testing.T) {
	a, _ := testKey(t)
	b, _ := testKey(t)
	dir := t.TempDir()
	fileA := writeTemp(t, dir, "a.key", a.(interface{ String() string }).String()+"\n")
	fileB := writeTemp(t, dir, "b.key", b.(interface{ String() string }).String()+"\n")
	pub := func(ks KeySource) string {
		t.Helper()
		ids, _, err := ks.Identities(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return PublicKey(ids[0])
	}
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	pa, pb := PublicKey(a), PublicKey(b)
	all := map[string]string{EnvKey: b.(interface{ String() string }).String(), EnvKeyFile: fileA, EnvKeySSM: "/never/read"}
	if got := pub(KeySource{File: fileA, Lookup: lookup(all)}); got != pa {
		t.Error("--key-file does not win")
	}
	if got := pub(KeySource{Lookup: lookup(all)}); got != pb {
		t.Error("ENTRY_AGE_KEY does not win over ENTRY_AGE_KEY_FILE")
	}
	if got := pub(KeySource{Lookup: lookup(map[string]string{EnvKeyFile: fileB, EnvKeySSM: "/never"}), ConfigFile: fileA}); got != pb {
		t.Error("ENTRY_AGE_KEY_FILE does not win over SSM and config")
	}
	if got := pub(KeySource{Lookup: lookup(nil), ConfigFile: fileA, ConfigSSM: "/never"}); got != pa {
		t.Error("secrets.key_file does not win over secrets.key_ssm")
	}
	_, _, err := KeySource{Lookup: lookup(nil)}.Identities(context.Background())
	if !errors.Is(err, ErrNoKey) || err.Error() != "no age key (set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM, or give --key-file)" {
		t.Errorf("none: %v", err)
	}
	_, _, err = KeySource{File: dir + "/missing.key"}.Identities(context.Background())
	if err == nil || err.Error() != "no age key: --key-file "+dir+"/missing.key: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	_, _, err = KeySource{Lookup: lookup(map[string]string{EnvKey: "AGE-SECRET-KEY-1NOTAKEY"})}.Identities(context.Background())
	if err == nil || strings.Contains(err.Error(), "NOTAKEY") || !strings.HasPrefix(err.Error(), "ENTRY_AGE_KEY: line 1 is not a valid age secret key") {
		t.Errorf("bad key: %v", err)
	}
}
