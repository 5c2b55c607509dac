package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/entryhq/entry/internal/readcap"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/atomicfile"
	"github.com/entryhq/entry/secrets"
)

const secretsUsage = `Usage: entry secrets COMMAND [flags] ARGS...

Create and edit age-encrypted secret vaults: YAML or dotenv files whose keys,
comments and order stay readable and whose values are encrypted, so a diff
shows which secret changed. See docs/secrets.md.

Commands:
  keygen [-o FILE] [--pq]           make an age key; prints its public key on stderr
  keygen -y [KEYFILE]               print the public key of an existing key file
  encrypt FILE -r AGE1... [-o OUT]  encrypt a plain file in place (or to OUT)
  decrypt FILE [-o OUT]             print the plain file (or write it, mode 0600)
  edit FILE                         decrypt to a 0600 temp file, run $EDITOR, re-encrypt
  recipients list FILE              print the public keys that can decrypt FILE
  recipients add FILE AGE1...       let more keys decrypt FILE (values untouched)
  recipients remove FILE AGE1...    stop keys from decrypting FILE (then rotate)
  rotate FILE                       re-encrypt every value under a new data key

The age key (decrypt, edit, recipients add/remove, rotate) is the first of:
--key-file, $ENTRY_AGE_KEY (the key itself), $ENTRY_AGE_KEY_FILE,
$ENTRY_AGE_KEY_SSM (an SSM SecureString parameter), secrets.key_file and
secrets.key_ssm in entry.yml, ~/.config/entry/age.key.

Examples:
  entry secrets keygen -o ~/.config/entry/age.key
  entry secrets encrypt config/secrets.yml -o config/secrets.yml.enc -r age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  entry secrets edit config/secrets.yml.enc
  ENTRY_AGE_KEY_SSM=/app/prod/age-key entry secrets decrypt config/secrets.yml.enc

Exit status: 0 done, 1 failed (wrong key, tampered or truncated file, I/O),
2 usage error.
`

// runSecrets is `entry secrets`.
func runSecrets(args []string) int {
	if len(args) == 0 {
		return missingVerb("secrets")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Print(secretsUsage)
		return exitOK
	case "keygen":
		return secretsKeygen(args[1:])
	case "encrypt":
		return secretsEncrypt(args[1:])
	case "decrypt":
		return secretsDecrypt(args[1:])
	case "edit":
		return secretsEdit(args[1:])
	case "recipients":
		return secretsRecipients(args[1:])
	case "rotate":
		return secretsRotate(args[1:])
	}
	return fail(exitUsage, "secrets: unknown command %q (see 'entry secrets --help')", args[0])
}

// secretsCmd is what every secrets command shares: its flags and how it
// finds the key.
type secretsCmd struct {
	fs         *flagSet
	keyFile    string
	configPath string
	format     string
}

func newSecretsCmd(verb, usage string, withKey bool) *secretsCmd {
	c := &secretsCmd{fs: newFlagSet("secrets "+verb, usage)}
	if withKey {
		c.fs.StringVar(&c.keyFile, "key-file", "", "file holding the age key (default: see 'entry secrets --help')")
		c.fs.addConfigFlag(&c.configPath)
	}
	return c
}

func (c *secretsCmd) addFormatFlag() {
	c.fs.StringVar(&c.format, "format", "", "yaml or dotenv (default: from the file name)")
}

// fileFormat picks the format of name.
func (c *secretsCmd) fileFormat(name string, data []byte) (secrets.Format, error) {
	if c.format != "" {
		return secrets.ParseFormat(c.format)
	}
	return secrets.DetectFormat(name, data), nil
}

// identities finds the age key. Errors name where it was looked for, never
// the key.
func (c *secretsCmd) identities() ([]age.Identity, error) {
	cfg, err := config.Load(c.configPath, !c.fs.isSet("config"))
	if err != nil {
		return nil, usageError{err}
	}
	ks := secrets.KeySource{File: c.keyFile, ConfigFile: cfg.Secrets.KeyFile, ConfigSSM: cfg.Secrets.KeySSM}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids, _, err := ks.Identities(ctx)
	if errors.Is(err, secrets.ErrNoKey) && c.keyFile == "" && !ks.Configured() {
		if p := defaultKeyFile(); p != "" {
			if _, statErr := os.Stat(p); statErr == nil {
				ids, _, err = secrets.KeySource{File: p}.Identities(ctx)
			}
		}
	}
	return ids, err
}

// defaultKeyFile is a developer's own key: ~/.config/entry/age.key.
func defaultKeyFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "entry", "age.key")
}

// usageError marks an error as the user's command line or config (exit 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// secretsFail prints the error for file and returns its exit code.
func secretsFail(file string, err error) int {
	code := exitFailure
	var ue usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	if file == "" {
		return fail(code, "secrets: %v", err)
	}
	return fail(code, "secrets: %s: %v", file, err)
}

// args1 parses flags and returns the one FILE argument.
func (c *secretsCmd) parseFile(args []string) (string, int) {
	if code := c.fs.parseOrExit(args); code >= 0 {
		return "", code
	}
	if c.fs.NArg() != 1 {
		return "", fail(exitUsage, "%s: want exactly one FILE (see '%s --help')", strings.TrimPrefix(c.fs.Name(), "entry "), c.fs.Name())
	}
	return c.fs.Arg(0), -1
}

// parseVault parses a command line whose one argument is a vault and opens
// the vault with the key: the start of decrypt, edit and rotate. code is -1
// to carry on, else the exit code.
func (c *secretsCmd) parseVault(args []string) (file string, v *secrets.Vault, f secrets.Format, code int) {
	if file, code = c.parseFile(args); code >= 0 {
		return file, nil, f, code
	}
	v, f, _, err := c.open(file)
	if err != nil {
		return file, nil, f, secretsFail(file, err)
	}
	return file, v, f, -1
}

// ---- keygen ----

const keygenUsage = `Usage: entry secrets keygen [-o FILE] [--pq]
       entry secrets keygen -y [-o OUT] [KEYFILE]

Generate an age key. The key file (with its public key in a comment) goes to
FILE, created with mode 0600 and never overwritten, or to stdout; the public
key, which you give to whoever encrypts for you, is printed on stderr.

With -y (as age-keygen -y), make no key: print the public key of each secret
key in an existing KEYFILE (or stdin, or "-"), one a line, on stdout or to
OUT (which must not exist).

Examples:
  entry secrets keygen -o ~/.config/entry/age.key
  entry secrets keygen --pq > prod.key    # post-quantum hybrid key (age1pq1...)
  entry secrets keygen -y ~/.config/entry/age.key >> team.recipients
`

func secretsKeygen(args []string) int {
	c := newSecretsCmd("keygen", keygenUsage, false)
	var out string
	var pq, publicOnly bool
	c.fs.StringVarP(&out, "output", "o", "", "write the key to this file (mode 0600; must not exist)")
	c.fs.BoolVar(&pq, "pq", false, "make a post-quantum hybrid key (age1pq1...); cannot be mixed with classic keys in one vault")
	c.fs.BoolVarP(&publicOnly, "public-key", "y", false, "print the public key of an existing key file (KEYFILE or stdin) instead of making a key")
	if code := c.fs.parseOrExit(args); code >= 0 {
		return code
	}
	if publicOnly {
		if pq {
			return fail(exitUsage, "secrets keygen: -y reads an existing key; --pq makes a new one: give one of them")
		}
		return secretsPublicKeys(c.fs.Args(), out)
	}
	if c.fs.NArg() != 0 {
		return fail(exitUsage, "secrets keygen: unexpected argument %q (see 'entry secrets keygen --help')", c.fs.Arg(0))
	}
	file, public, err := secrets.Keygen(pq, time.Now())
	if err != nil {
		return secretsFail("", err)
	}
	if out == "" {
		fmt.Print(file)
	} else if err := secrets.SaveKey(out, file); err != nil {
		return secretsFail(out, err)
	}
	fmt.Fprintf(os.Stderr, "Public key: %s\n", public)
	return exitOK
}

// secretsPublicKeys is `entry secrets keygen -y`: the public keys of the
// secret keys in the key file args[0] (stdin when absent or "-").
func secretsPublicKeys(args []string, out string) int {
	if len(args) > 1 {
		return fail(exitUsage, "secrets keygen -y: want at most one KEYFILE, got %d (see 'entry secrets keygen --help')", len(args))
	}
	name, data, err := "stdin", []byte(nil), error(nil)
	if len(args) == 1 && args[0] != "-" {
		name = args[0]
		data, err = os.ReadFile(name)
	} else {
		data, err = io.ReadAll(os.Stdin)
	}
	if err != nil {
		return secretsFail("", err)
	}
	publics, err := secrets.PublicKeys(string(data))
	if err != nil {
		return secretsFail(name, err)
	}
	if out == "" {
		fmt.Println(strings.Join(publics, "\n"))
		return exitOK
	}
	if err := secrets.SaveRecipients(out, publics); err != nil {
		return secretsFail(out, err)
	}
	return exitOK
}

// ---- encrypt ----

const encryptUsage = `Usage: entry secrets encrypt FILE -r AGE1... [-r AGE1...] [-o OUT [--force]]

Encrypt a plain YAML or dotenv file: every value is encrypted, keys, comments
and order stay readable. Values under keys ending in _unencrypted (or matching
--unencrypted-regex) stay plain. Without -o the file is replaced in place; an
existing OUT is replaced only with --force.

Examples:
  entry secrets encrypt config/secrets.yml -o config/secrets.yml.enc \
      -r age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  entry secrets encrypt .env.production -R team.recipients
`

func secretsEncrypt(args []string) int {
	c := newSecretsCmd("encrypt", encryptUsage, false)
	var out, rfile, regex string
	var rcpts []string
	var force bool
	c.fs.StringSliceVarP(&rcpts, "recipient", "r", nil, "age public key (age1... or age1pq1...) that may decrypt; repeat or separate with commas")
	c.fs.StringVarP(&rfile, "recipients-file", "R", "", "file of age public keys, one a line (# comments allowed)")
	c.fs.StringVarP(&out, "output", "o", "", "write the vault here instead of replacing FILE (must not exist, unless --force)")
	c.fs.BoolVar(&force, "force", false, "replace an existing -o file")
	c.fs.StringVar(&regex, "unencrypted-regex", "", "leave values of keys matching this regular expression in plain text")
	c.addFormatFlag()
	file, code := c.parseFile(args)
	if code >= 0 {
		return code
	}
	if rcpts, code = appendRecipientsFile(rcpts, rfile); code >= 0 {
		return code
	}
	if len(rcpts) == 0 {
		return fail(exitUsage, "secrets encrypt: no recipients (give -r age1... or -R FILE; 'entry secrets keygen' makes a key)")
	}
	for _, r := range rcpts {
		if _, err := secrets.ParseRecipient(r); err != nil {
			return fail(exitUsage, "secrets encrypt: %v", err)
		}
	}
	if out != "" && !force {
		if _, err := os.Lstat(out); err == nil {
			return secretsFail(out, errors.New("already exists; nothing written (give --force to replace it, or 'entry secrets edit' to change a vault)"))
		}
	}
	data, err := readcap.ReadFile(file, "vault", readcap.Vault)
	if err != nil {
		return secretsFail(file, errors.Unwrap(err))
	}
	f, err := c.fileFormat(file, data)
	if err != nil {
		return secretsFail(file, usageError{err})
	}
	vault, err := secrets.Encrypt(f, data, secrets.EncryptOptions{Recipients: rcpts, UnencryptedRegex: regex})
	if err != nil {
		return secretsFail(file, err)
	}
	dst := file
	if out != "" {
		dst = out
	}
	if err := atomicfile.WriteFile(dst, vault, 0o644, true, ""); err != nil {
		return secretsFail(dst, err)
	}
	return exitOK
}

// appendRecipientsFile appends the age public keys listed in the -R file
// name, if one was given. A code >= 0 is the exit code of a failure, already
// reported.
func appendRecipientsFile(keys []string, name string) ([]string, int) {
	if name == "" {
		return keys, -1
	}
	more, err := secrets.ReadRecipientsFile(name)
	if err != nil {
		return keys, secretsFail(name, usageError{err})
	}
	return append(keys, more...), -1
}

// ---- decrypt ----

const decryptUsage = `Usage: entry secrets decrypt FILE [-o OUT [--force]]

Verify and decrypt a vault. The plain file goes to stdout, or to OUT
(written atomically, mode 0600). Nothing is printed unless the whole file
verifies. An existing OUT is replaced only with --force, and never when it
is the vault itself, the age key file or entry.yml.

Examples:
  entry secrets decrypt config/secrets.yml.enc
  ENTRY_AGE_KEY_SSM=/app/prod/age-key entry secrets decrypt config/secrets.yml.enc -o config/secrets.yml
`

func secretsDecrypt(args []string) int {
	c := newSecretsCmd("decrypt", decryptUsage, true)
	var out string
	var force bool
	c.fs.StringVarP(&out, "output", "o", "", "write the plain file here (mode 0600) instead of stdout; must not exist, unless --force")
	c.fs.BoolVar(&force, "force", false, "replace an existing -o file")
	c.addFormatFlag()
	file, code := c.parseFile(args)
	if code >= 0 {
		return code
	}
	if out != "" {
		if err := c.checkOutput(out, file, force); err != nil {
			return secretsFail(file, err)
		}
	}
	v, _, _, err := c.open(file)
	if err != nil {
		return secretsFail(file, err)
	}
	plain, err := v.Plaintext()
	if err != nil {
		return secretsFail(file, err)
	}
	if out == "" {
		if _, err := os.Stdout.Write(plain); err != nil {
			return secretsFail("", err)
		}
		return exitOK
	}
	if err := atomicfile.WriteFile(out, plain, 0o600, false, ""); err != nil {
		return secretsFail(out, err)
	}
	return exitOK
}

// checkOutput refuses a decrypt -o that would replace the vault itself,
// the age key, the config file or, without --force, any existing file.
func (c *secretsCmd) checkOutput(out, file string, force bool) error {
	guarded := []secrets.Guarded{
		{Path: file, What: "the vault itself"},
		{Path: c.keyFile, What: "the age key file (--key-file)"},
		{Path: os.Getenv(secrets.EnvKeyFile), What: "the age key file (" + secrets.EnvKeyFile + ")"},
		{Path: defaultKeyFile(), What: "your age key file"},
		{Path: c.configPath, What: "the config file"},
	}
	if cfg, err := config.Load(c.configPath, true); err == nil {
		guarded = append(guarded, secrets.Guarded{Path: cfg.Secrets.KeyFile, What: "the age key file (secrets.key_file)"})
	}
	if err := secrets.CheckDst(out, file, guarded); err != nil {
		return usageError{fmt.Errorf("-o %v; nothing written", err)}
	}
	if _, err := os.Lstat(out); err == nil && !force {
		return usageError{fmt.Errorf("-o %s already exists; nothing written (give --force to replace it)", out)}
	}
	return nil
}

// open reads, finds the key for and opens a vault; ids is the key.
func (c *secretsCmd) open(file string) (v *secrets.Vault, f secrets.Format, ids []age.Identity, err error) {
	data, err := readcap.ReadFile(file, "vault", readcap.Vault)
	if err != nil {
		return nil, 0, nil, errors.Unwrap(err)
	}
	if f, err = c.fileFormat(file, data); err != nil {
		return nil, 0, nil, usageError{err}
	}
	// A plain or truncated file is reported before the key is looked for.
	if _, err := secrets.Recipients(f, data); err != nil {
		return nil, f, nil, err
	}
	if ids, err = c.identities(); err != nil {
		return nil, f, nil, err
	}
	v, err = secrets.Open(f, data, ids)
	return v, f, ids, err
}

// ---- edit ----

const editUsage = `Usage: entry secrets edit FILE

Decrypt FILE to a temporary file (mode 0600, on /dev/shm when available),
open it in $VISUAL or $EDITOR (default vi), and re-encrypt what changed:
unchanged values keep their ciphertext, so the diff shows only the secrets
you changed. The temporary file is removed whatever happens.

Examples:
  entry secrets edit config/secrets.yml.enc
  EDITOR="code --wait" entry secrets edit .env.production.enc
`

func secretsEdit(args []string) int {
	c := newSecretsCmd("edit", editUsage, true)
	c.addFormatFlag()
	file, v, _, code := c.parseVault(args)
	if code >= 0 {
		return code
	}
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	vault, changed, err := v.Edit(secrets.EditOptions{
		Name: file, Editor: editor, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Reopen: func(problem error) bool {
			fmt.Fprintf(os.Stderr, "entry: secrets: %s: the edited file is not valid: %v\nEdit it again? [Y/n] ", file, problem)
			answer, ok := readAnswer(os.Stdin)
			if !ok {
				fmt.Fprintln(os.Stderr)
			}
			return ok && (answer == "" || strings.HasPrefix(strings.ToLower(answer), "y"))
		},
	})
	if err != nil {
		return secretsFail(file, err)
	}
	if vault == nil {
		fmt.Fprintf(os.Stderr, "entry: secrets: %s: no changes\n", file)
		return exitOK
	}
	if err := atomicfile.WriteFile(file, vault, 0o644, true, ""); err != nil {
		return secretsFail(file, err)
	}
	fmt.Fprintf(os.Stderr, "entry: secrets: %s: %d %s changed\n", file, changed, plural(changed, "value", "values"))
	return exitOK
}

// readAnswer reads one line from r a byte at a time, so that nothing meant
// for the editor that runs next is consumed. ok is false at end of input.
func readAnswer(r io.Reader) (answer string, ok bool) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 256 {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return strings.TrimSpace(string(line)), true
			}
			line = append(line, b[0])
		}
		if err != nil {
			return strings.TrimSpace(string(line)), len(line) > 0
		}
	}
	return strings.TrimSpace(string(line)), true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ---- recipients ----

const recipientsUsage = `Usage: entry secrets recipients list FILE
       entry secrets recipients add FILE AGE1... [-R FILE]
       entry secrets recipients remove FILE AGE1... [--force]

list prints the public keys that can decrypt FILE (no key needed). add and
remove re-wrap the file's data key for the new set of recipients without
touching the encrypted values; they need a current recipient's key. After a
removal, run 'entry secrets rotate FILE' and change the secrets themselves:
the removed key could read them before. Removing the key you decrypt with
(so that you could no longer decrypt FILE) needs --force.

Examples:
  entry secrets recipients list config/secrets.yml.enc
  entry secrets recipients add config/secrets.yml.enc age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
`

func secretsRecipients(args []string) int {
	if len(args) == 0 {
		return missingVerb("secrets recipients")
	}
	verb := args[0]
	switch verb {
	case "-h", "--help":
		fmt.Print(recipientsUsage)
		return exitOK
	case "list", "add", "remove":
	default:
		return fail(exitUsage, "secrets recipients: unknown command %q (want list, add or remove)", verb)
	}
	c := newSecretsCmd("recipients "+verb, recipientsUsage, verb != "list")
	var rfile string
	var force bool
	switch verb {
	case "add":
		c.fs.StringVarP(&rfile, "recipients-file", "R", "", "file of age public keys to add, one a line")
	case "remove":
		c.fs.BoolVar(&force, "force", false, "remove even the key you decrypt with")
	}
	c.addFormatFlag()
	if code := c.fs.parseOrExit(args[1:]); code >= 0 {
		return code
	}
	if c.fs.NArg() < 1 {
		return fail(exitUsage, "secrets recipients %s: want FILE (see 'entry secrets recipients --help')", verb)
	}
	file, keys := c.fs.Arg(0), c.fs.Args()[1:]
	if verb == "list" {
		if len(keys) > 0 {
			return fail(exitUsage, "secrets recipients list: want only FILE")
		}
		data, err := readcap.ReadFile(file, "vault", readcap.Vault)
		if err != nil {
			return secretsFail(file, errors.Unwrap(err))
		}
		f, err := c.fileFormat(file, data)
		if err != nil {
			return secretsFail(file, usageError{err})
		}
		rs, err := secrets.Recipients(f, data)
		if err != nil {
			return secretsFail(file, err)
		}
		for _, r := range rs {
			fmt.Println(r)
		}
		return exitOK
	}
	keys, code := appendRecipientsFile(keys, rfile)
	if code >= 0 {
		return code
	}
	if len(keys) == 0 {
		return fail(exitUsage, "secrets recipients %s: want at least one age public key after FILE", verb)
	}
	for _, k := range keys {
		if _, err := secrets.ParseRecipient(k); err != nil {
			return fail(exitUsage, "secrets recipients %s: %v", verb, err)
		}
	}
	v, _, ids, err := c.open(file)
	if err != nil {
		return secretsFail(file, err)
	}
	var vault []byte
	var msg string
	if verb == "add" {
		var added []string
		had := len(v.Recipients())
		vault, added, err = v.AddRecipients(keys)
		if err != nil {
			return secretsFail(file, err)
		}
		if len(added) == 0 {
			fmt.Fprintf(os.Stderr, "entry: secrets: %s: already a recipient; nothing to do\n", file)
			return exitOK
		}
		msg = fmt.Sprintf("added %d %s; %d can decrypt", len(added), plural(len(added), "recipient", "recipients"), had+len(added))
	} else {
		var remaining int
		vault, remaining, err = v.RemoveRecipients(keys, ids, force)
		if err != nil {
			return secretsFail(file, err)
		}
		msg = fmt.Sprintf("removed %d %s; %d can decrypt. The removed keys could read the secrets until now: run 'entry secrets rotate %s' and change the secrets themselves",
			len(keys), plural(len(keys), "recipient", "recipients"), remaining, file)
	}
	if err := atomicfile.WriteFile(file, vault, 0o644, true, ""); err != nil {
		return secretsFail(file, err)
	}
	fmt.Fprintf(os.Stderr, "entry: secrets: %s: %s\n", file, msg)
	return exitOK
}

// ---- rotate ----

const rotateUsage = `Usage: entry secrets rotate FILE

Encrypt every value of FILE under a new random data key, wrapped to the same
recipients. Do this after removing a recipient (and change the secrets
themselves, which the removed key could read).

Example:
  entry secrets rotate config/secrets.yml.enc
`

func secretsRotate(args []string) int {
	c := newSecretsCmd("rotate", rotateUsage, true)
	c.addFormatFlag()
	file, v, _, code := c.parseVault(args)
	if code >= 0 {
		return code
	}
	vault, err := v.Rotate()
	if err != nil {
		return secretsFail(file, err)
	}
	if err := atomicfile.WriteFile(file, vault, 0o644, true, ""); err != nil {
		return secretsFail(file, err)
	}
	fmt.Fprintf(os.Stderr, "entry: secrets: %s: %d values re-encrypted under a new data key\n", file, v.Len())
	return exitOK
}
