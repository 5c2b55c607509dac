package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entryhq/entry/internal/awsenv"
	"github.com/entryhq/entry/internal/readcap"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// The environment variables that carry the age identity. The start-up step
// removes all of them from the supervised processes' environment.
const (
	EnvKey     = "ENTRY_AGE_KEY"      // the identity itself
	EnvKeyFile = "ENTRY_AGE_KEY_FILE" // a file holding it
	EnvKeySSM  = "ENTRY_AGE_KEY_SSM"  // an SSM SecureString parameter holding it
)

// KeyEnvVars lists the variables a start-up step must unset.
var KeyEnvVars = []string{EnvKey, EnvKeyFile, EnvKeySSM}

// A ParameterGetter is the part of the SSM client entry uses.
type ParameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// A KeySource says where to look for the age identity. The first source
// set wins, in this order: File (--key-file), ENTRY_AGE_KEY,
// ENTRY_AGE_KEY_FILE, ENTRY_AGE_KEY_SSM, ConfigFile, ConfigSSM.
type KeySource struct {
	File       string                                         // --key-file
	Lookup     func(key string) (string, bool)                // environment; nil means os.LookupEnv
	ConfigFile string                                         // secrets.key_file in entry.yml
	ConfigSSM  string                                         // secrets.key_ssm in entry.yml
	SSM        ParameterGetter                                // nil: a client from the default AWS configuration
	NewSSM     func(context.Context) (ParameterGetter, error) // overrides how that client is made
	Timeout    time.Duration                                  // for the SSM call; 0 means 30s
}

// where is one place the key may come from.
type where struct {
	kind, name string // kind: "file", "env", "ssm"
	desc       string // for logs and errors; never the key
}

// pick returns the first configured source, or ok=false.
func (ks KeySource) pick() (where, bool) {
	lookup := ks.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	get := func(k string) string { v, _ := lookup(k); return v }
	switch {
	case ks.File != "":
		return where{"file", ks.File, "--key-file " + ks.File}, true
	case get(EnvKey) != "":
		return where{"env", EnvKey, EnvKey}, true
	case get(EnvKeyFile) != "":
		return where{"file", get(EnvKeyFile), EnvKeyFile + " (" + get(EnvKeyFile) + ")"}, true
	case get(EnvKeySSM) != "":
		return where{"ssm", get(EnvKeySSM), EnvKeySSM + " (SSM parameter " + get(EnvKeySSM) + ")"}, true
	case ks.ConfigFile != "":
		return where{"file", ks.ConfigFile, "secrets.key_file (" + ks.ConfigFile + ")"}, true
	case ks.ConfigSSM != "":
		return where{"ssm", ks.ConfigSSM, "secrets.key_ssm (SSM parameter " + ks.ConfigSSM + ")"}, true
	}
	return where{}, false
}

// Describe says where the key will come from, without reading it, for
// plans and logs: "ENTRY_AGE_KEY_SSM (SSM parameter /app/prod/age-key)".
func (ks KeySource) Describe() string {
	w, ok := ks.pick()
	if !ok {
		return "no key configured"
	}
	return w.desc
}

// Identities reads the age identities from the first configured source. It
// returns an error wrapping ErrNoKey when none is configured. Errors name
// the source, never the key.
func (ks KeySource) Identities(ctx context.Context) ([]age.Identity, string, error) {
	w, ok := ks.pick()
	if !ok {
		return nil, "", fmt.Errorf("%w (set %s, %s or %s, or give --key-file)", ErrNoKey, EnvKey, EnvKeyFile, EnvKeySSM)
	}
	var text string
	switch w.kind {
	case "env":
		v, _ := ks.lookup(w.name)
		text = v
	case "file":
		b, err := readcap.ReadFile(w.name, "age key file", readcap.KeyFile)
		if err != nil {
			return nil, w.desc, fmt.Errorf("%w: %s: %v", ErrNoKey, w.desc, errors.Unwrap(err))
		}
		text = string(b)
	case "ssm":
		v, err := ks.fromSSM(ctx, w.name)
		if err != nil {
			return nil, w.desc, fmt.Errorf("%w: %s: %v", ErrNoKey, w.desc, err)
		}
		text = v
	}
	ids, err := ParseIdentities(text)
	if err != nil {
		return nil, w.desc, fmt.Errorf("%s: %v", w.desc, err)
	}
	return ids, w.desc, nil
}

func (ks KeySource) lookup(k string) (string, bool) {
	if ks.Lookup == nil {
		return os.LookupEnv(k)
	}
	return ks.Lookup(k)
}

// fromSSM reads a SecureString parameter, decrypted.
func (ks KeySource) fromSSM(ctx context.Context, name string) (string, error) {
	timeout := ks.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := ks.SSM
	if client == nil {
		newSSM := ks.NewSSM
		if newSSM == nil {
			newSSM = DefaultSSM
		}
		var err error
		if client, err = newSSM(ctx); err != nil {
			return "", err
		}
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", ssmError(err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("SSM returned no value")
	}
	return *out.Parameter.Value, nil
}

// DefaultSSM makes an SSM client from the default AWS configuration: the
// standard credential chain (so an ECS task role works), AWS_REGION, and
// endpoint settings such as AWS_ENDPOINT_URL_SSM.
func DefaultSSM(ctx context.Context) (ParameterGetter, error) {
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region (set AWS_REGION)")
	}
	return ssm.NewFromConfig(cfg), nil
}

// ssmError turns an SDK error into one line with what to do.
func ssmError(err error) error {
	var nf *types.ParameterNotFound
	if errors.As(err, &nf) {
		return errors.New("parameter not found (create it as a SecureString, or fix the name)")
	}
	if awsenv.IsNoCredentials(err) {
		return errors.New("no AWS credentials found to read the key from SSM (" + awsenv.NoCredentialsHint + ")")
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			return fmt.Errorf("access denied (grant the task role ssm:GetParameter on it, and kms:Decrypt on its key): %s", ae.ErrorMessage())
		}
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out reaching SSM (check the network and AWS_REGION)")
	}
	return err
}

// ParseIdentities parses age secret keys, one per line; blank lines and
// # comments are skipped (the format of an age key file). Errors never
// include key material.
func ParseIdentities(text string) ([]age.Identity, error) {
	var ids []age.Identity
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		default:
			err = errors.New("not an age secret key")
		}
		if err != nil {
			return nil, fmt.Errorf("line %d is not a valid age secret key (want AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1..., as written by 'entry secrets keygen')", n+1)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: the key is empty", ErrNoKey)
	}
	return ids, nil
}

// PublicKey returns the recipient of an identity, or "" for an unknown
// identity type.
func PublicKey(id age.Identity) string {
	switch id := id.(type) {
	case *age.X25519Identity:
		return id.Recipient().String()
	case *age.HybridIdentity:
		return id.Recipient().String()
	}
	return ""
}

// describeIdentities lists the public keys of ids for a wrong-key error.
func describeIdentities(ids []age.Identity) string {
	var pubs []string
	for _, id := range ids {
		if p := PublicKey(id); p != "" {
			pubs = append(pubs, shorten(p))
		}
	}
	return strings.Join(pubs, ", ")
}

// Keygen returns a new identity file (with its public key in a comment, as
// age-keygen writes it) and its public key. pq selects a post-quantum
// hybrid key.
func Keygen(pq bool, now time.Time) (file, public string, err error) {
	var secret string
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return "", "", err
		}
		secret, public = id.String(), id.Recipient().String()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return "", "", err
		}
		secret, public = id.String(), id.Recipient().String()
	}
	file = fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), public, secret)
	return file, public, nil
}

// Configured reports whether any key source is set.
func (ks KeySource) Configured() bool {
	_, ok := ks.pick()
	return ok
}

// SaveKey writes a key file made by Keygen to a new file name, mode 0600,
// creating its directory (mode 0700). It never replaces a file: a key lost
// that way could not be recovered.
func SaveKey(name, file string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	err := writeNew(name, file, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return errors.New("already exists (keygen never overwrites a key; choose another file)")
	}
	return err
}

// SaveRecipients writes public keys (PublicKeys' lines) to a new file
// name, mode 0644. It never replaces a file, which may be a team's list of
// recipients, or a key file given by mistake.
func SaveRecipients(name string, publics []string) error {
	err := writeNew(name, strings.Join(publics, "\n")+"\n", 0o644)
	if errors.Is(err, fs.ErrExist) {
		return errors.New("already exists (choose another file, or append with >> instead of -o)")
	}
	return err
}

// writeNew creates name, which must not exist, with content; a failed
// write leaves no file behind.
func writeNew(name, content string, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(name)
	}
	return werr
}

// PublicKeys returns the public key of each secret key in an age key file,
// in order (what age-keygen -y prints).
func PublicKeys(keyFile string) ([]string, error) {
	ids, err := ParseIdentities(keyFile)
	if err != nil {
		return nil, err
	}
	publics := make([]string, len(ids))
	for i, id := range ids {
		publics[i] = PublicKey(id)
	}
	return publics, nil
}
