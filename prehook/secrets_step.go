package prehook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/atomicfile"
	"github.com/entryhq/entry/internal/readcap"
	"github.com/entryhq/entry/secrets"
)

// NewSecretsStep returns the start-up step that decrypts cfg.Secrets. It is
// never nil: even with no vault configured it removes ENTRY_AGE_KEY* from
// the processes' environment, so a key given to the container never reaches
// them.
func NewSecretsStep(cfg *config.File) (*SecretsStep, error) {
	s := &SecretsStep{cfg: cfg.Secrets, configPath: cfg.Path, templates: cfg.Render.Templates}
	for i, v := range cfg.Secrets.Vaults {
		where := fmt.Sprintf("secrets.vaults[%d]", i)
		switch {
		case v.Src == "":
			return nil, fmt.Errorf("%s: %s needs src: the encrypted file", cfg.Path, where)
		case v.Dst == "" && !v.Env:
			return nil, fmt.Errorf("%s: %s (%s) needs dst: FILE, env: true, or both", cfg.Path, where, v.Src)
		}
		if v.Format != "" {
			if _, err := secrets.ParseFormat(v.Format); err != nil {
				return nil, fmt.Errorf("%s: %s: %v", cfg.Path, where, err)
			}
		}
		if _, _, err := atomicfile.LookupOwner(v.Owner); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", cfg.Path, where, err)
		}
	}
	return s, nil
}

// SecretsStep is the start-up step that decrypts the configured vaults.
type SecretsStep struct {
	cfg        config.Secrets
	configPath string
	templates  []config.Template       // render's, which no vault may overwrite
	ssm        secrets.ParameterGetter // tests
}

func (s *SecretsStep) Name() string { return "secrets" }

func (s *SecretsStep) keySource(env *Env) secrets.KeySource {
	return secrets.KeySource{Lookup: env.Lookup, ConfigFile: s.cfg.KeyFile, ConfigSSM: s.cfg.KeySSM, SSM: s.ssm}
}

func vaultFormat(v config.Vault, data []byte) secrets.Format {
	if v.Format != "" {
		f, _ := secrets.ParseFormat(v.Format) // checked by NewSecretsStep
		return f
	}
	return secrets.DetectFormat(v.Src, data)
}

// startKeyHint says where start-up looks for the age key: the start
// command has no --key-file flag.
const startKeyHint = "set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM in the container's environment, or secrets.key_file or secrets.key_ssm in entry.yml"

// expandVault replaces $VAR and ${VAR} in src and dst with values from
// env, so one entry.yml can name a vault per RAILS_ENV. An unset variable
// is an error rather than an empty path segment.
func expandVault(v config.Vault, env *Env) (config.Vault, error) {
	var missing []string
	expand := func(s string) string {
		return os.Expand(s, func(k string) string {
			val, ok := env.Lookup(k)
			if !ok || val == "" {
				missing = append(missing, k)
			}
			return val
		})
	}
	src, dst := expand(v.Src), expand(v.Dst)
	if len(missing) > 0 {
		return v, fmt.Errorf("%s: $%s is not set (the vault path uses it)", v.Src, missing[0])
	}
	v.Src, v.Dst = src, dst
	return v, nil
}

func vaultMode(v config.Vault) os.FileMode {
	if v.Mode != nil {
		return os.FileMode(*v.Mode)
	}
	return 0o600
}

// Plan lists each vault and where its plaintext goes, and which key
// variables are removed, without reading the key or decrypting.
func (s *SecretsStep) Plan(env *Env) []string {
	var lines []string
	if len(s.cfg.Vaults) > 0 {
		if ks := s.keySource(env); ks.Configured() {
			lines = append(lines, "key from "+ks.Describe())
		} else {
			lines = append(lines, "key: none configured here; start-up needs one: "+startKeyHint)
		}
	}
	for _, v := range s.cfg.Vaults {
		v, err := expandVault(v, env)
		if err != nil {
			lines = append(lines, "cannot decrypt "+err.Error())
			continue
		}
		var to []string
		if v.Dst != "" {
			d := fmt.Sprintf("%s (mode %04o", v.Dst, vaultMode(v))
			if v.Owner != "" {
				d += ", owner " + v.Owner
			}
			to = append(to, d+")")
		}
		if v.Env {
			e := "environment"
			if data, err := readcap.ReadFile(v.Src, "vault", readcap.Vault); err != nil {
				e += " (cannot read " + v.Src + ": " + errors.Unwrap(err).Error() + ")"
			} else if keys, err := secrets.TopLevelKeys(vaultFormat(v, data), data); err == nil {
				e += ": " + strings.Join(keys, ", ")
				var kept []string
				for _, k := range keys {
					if env.FromEnvironment(k) {
						kept = append(kept, k)
					}
				}
				if len(kept) > 0 {
					e += " (" + strings.Join(kept, ", ") + ": the real environment's value wins)"
				}
			}
			to = append(to, e)
		}
		lines = append(lines, fmt.Sprintf("decrypt %s -> %s", v.Src, strings.Join(to, " and ")))
	}
	if set := setKeyVars(env); len(set) > 0 {
		lines = append(lines, "unset "+strings.Join(set, ", ")+" for the processes")
	}
	return lines
}

func setKeyVars(env *Env) []string {
	var set []string
	for _, k := range secrets.KeyEnvVars {
		if _, ok := env.Lookup(k); ok {
			set = append(set, k)
		}
	}
	return set
}

// CheckDsts finds a vault whose dst would replace a file it must not (the
// vault itself, another vault or vault's dst, a template or a template's
// output, entry.yml, the age key file) or is a directory, and a template
// that would render over a vault. Start-up runs it before anything is read
// or written; entry config check lists what it finds.
func (s *SecretsStep) CheckDsts(env *Env) []error {
	vaults := make([]config.Vault, len(s.cfg.Vaults))
	for i, v := range s.cfg.Vaults {
		vaults[i], _ = expandVault(v, env) // an unset $VAR is reported by Plan and Run
	}
	common := []secrets.Guarded{
		{Path: s.configPath, What: "the config file"},
		{Path: s.cfg.KeyFile, What: "the age key file (secrets.key_file)"},
		{Path: env.Get(secrets.EnvKeyFile), What: "the age key file (" + secrets.EnvKeyFile + ")"},
	}
	jobs, _ := (&renderStep{templates: s.templates}).jobs() // render reports its own problems
	for _, j := range jobs {
		common = append(common,
			secrets.Guarded{Path: j.Src, What: "a template (render.templates)"},
			secrets.Guarded{Path: j.Dst, What: "the output of template " + j.Src + " (render.templates)"})
	}
	var errs []error
	for i, v := range vaults {
		if v.Dst == "" || v.Src == "" {
			continue
		}
		guarded := []secrets.Guarded{{Path: v.Src, What: "the vault itself"}}
		for j, w := range vaults {
			if j != i {
				guarded = append(guarded, secrets.Guarded{Path: w.Src, What: fmt.Sprintf("the vault of secrets.vaults[%d]", j)})
			}
			if j < i {
				guarded = append(guarded, secrets.Guarded{Path: w.Dst, What: fmt.Sprintf("the dst of secrets.vaults[%d] too", j)})
			}
		}
		if err := secrets.CheckDst(v.Dst, v.Src, append(guarded, common...)); err != nil {
			errs = append(errs, fmt.Errorf("%s: secrets.vaults[%d]: dst %v; nothing was written", s.configPath, i, err))
		}
	}
	for _, j := range jobs {
		for i, v := range vaults {
			if v.Src != "" && secrets.SamePath(j.Dst, v.Src) {
				errs = append(errs, fmt.Errorf("%s: render.templates: %s would render over %s, the vault of secrets.vaults[%d]; give the template another dst; nothing was written", s.configPath, j.Src, j.Dst, i))
			}
		}
	}
	return errs
}

// decrypted is one vault opened in memory, not yet written anywhere.
type decrypted struct {
	v     config.Vault
	plain []byte
	env   []secrets.KeyValue
	n     int
}

// Run decrypts every vault in memory first, so that a bad vault leaves no
// destination written, then writes the files atomically, exports the
// variables and removes the key variables from env.
func (s *SecretsStep) Run(ctx context.Context, env *Env, log Logger) error {
	defer func() {
		for _, k := range secrets.KeyEnvVars {
			env.Unset(k)
		}
	}()
	if err := s.run(ctx, env, log); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

func (s *SecretsStep) run(ctx context.Context, env *Env, log Logger) error {
	if len(s.cfg.Vaults) == 0 {
		return nil
	}
	if errs := s.CheckDsts(env); len(errs) > 0 {
		return errs[0]
	}
	ks := s.keySource(env)
	if !ks.Configured() {
		return fmt.Errorf("key: no age key: %s", startKeyHint)
	}
	ids, desc, err := ks.Identities(ctx)
	if err != nil {
		return fmt.Errorf("key: %v", err)
	}
	var done []decrypted
	for _, v := range s.cfg.Vaults {
		v, err := expandVault(v, env)
		if err != nil {
			return err
		}
		data, err := readcap.ReadFile(v.Src, "vault", readcap.Vault)
		if err != nil {
			return fmt.Errorf("%s: %v", v.Src, errors.Unwrap(err))
		}
		vault, err := secrets.Open(vaultFormat(v, data), data, ids)
		if err != nil {
			return fmt.Errorf("%s: %v", v.Src, err)
		}
		d := decrypted{v: v, n: vault.Len()}
		if v.Dst != "" {
			if d.plain, err = vault.Plaintext(); err != nil {
				return fmt.Errorf("%s: %v", v.Src, err)
			}
		}
		if v.Env {
			if d.env, err = vault.Env(); err != nil {
				return fmt.Errorf("%s: %v", v.Src, err)
			}
		}
		done = append(done, d)
	}
	// A dst that is a link into a missing directory (an unmounted tmpfs)
	// fails before any file is written.
	for _, d := range done {
		if d.v.Dst == "" {
			continue
		}
		if _, err := atomicfile.Target(d.v.Dst); err != nil {
			return fmt.Errorf("%s: %v", d.v.Dst, err)
		}
	}
	for _, d := range done {
		if d.v.Dst == "" {
			continue
		}
		if dir := filepath.Dir(d.v.Dst); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%s: %v", d.v.Dst, err)
			}
		}
		if err := atomicfile.WriteFile(d.v.Dst, d.plain, vaultMode(d.v), false, d.v.Owner); err != nil {
			return fmt.Errorf("%s: %v", d.v.Dst, err)
		}
	}
	for _, d := range done {
		var to []string
		if d.v.Dst != "" {
			to = append(to, fmt.Sprintf("%s (mode %04o)", d.v.Dst, vaultMode(d.v)))
		}
		if d.v.Env {
			// The real environment wins, as over .env files: a variable
			// the task definition sets is the operator's override.
			var names, kept []string
			for _, kv := range d.env {
				if env.FromEnvironment(kv.Key) {
					kept = append(kept, kv.Key)
					continue
				}
				env.Set(kv.Key, kv.Value)
				names = append(names, kv.Key)
			}
			e := "environment (" + strings.Join(names, ", ")
			if len(kept) > 0 {
				if len(names) > 0 {
					e += "; "
				}
				e += strings.Join(kept, ", ") + " kept from the real environment"
			}
			to = append(to, e+")")
		}
		log("secrets: %s -> %s: %d %s, key from %s", d.v.Src, strings.Join(to, " and "), d.n, plural(d.n, "value", "values"), desc)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
