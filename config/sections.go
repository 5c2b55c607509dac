package config

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// A Hook is a user command run at start-up, after the other steps, through
// /bin/sh -c. It is written as a string, or as a mapping with a name and a
// timeout.
type Hook struct {
	Name    string        `yaml:"name"`
	Run     string        `yaml:"run"`
	Timeout time.Duration `yaml:"timeout"`
	Line    int           `yaml:"-"`
}

// UnmarshalYAML accepts "cmd" or {run: cmd, name: x, timeout: 1m}.
func (h *Hook) UnmarshalYAML(n *yaml.Node) error {
	h.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		h.Run = n.Value
		return nil
	}
	type plain Hook
	line := h.Line
	if err := decodeStruct(n, reflectValue((*plain)(h)), "hooks"); err != nil {
		return err
	}
	h.Line = line
	if h.Run == "" {
		return &Error{Line: n.Line, Msg: "hooks: a hook needs run: COMMAND"}
	}
	return nil
}

// A FileMode is a permission written in octal, such as 0640.
type FileMode os.FileMode

// UnmarshalYAML reads the mode as octal whether or not it is quoted.
func (m *FileMode) UnmarshalYAML(n *yaml.Node) error {
	v, err := strconv.ParseUint(n.Value, 8, 32)
	if err != nil || v > 0o7777 {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("mode: %q is not an octal file mode such as 0640", n.Value)}
	}
	*m = FileMode(v)
	return nil
}

// Render lists the templates rendered at start (see docs/render.md).
type Render struct {
	// Strict makes ENV['X'] on an unset variable an error where its value
	// is used; nil means false, Ruby's behaviour (see docs/render.md).
	Strict    *bool      `yaml:"strict"`
	Templates []Template `yaml:"templates"`
}

// A Template maps a source to a destination: a file to a file, or a glob
// or directory to a directory (the .erb suffix dropped). Mode defaults to
// the template's; Owner is user, user:group or :group.
type Template struct {
	Src   string    `yaml:"src"`
	Dst   string    `yaml:"dst"`
	Mode  *FileMode `yaml:"mode"`
	Owner string    `yaml:"owner"`
}

// Secrets lists the age vaults decrypted at start (see docs/secrets.md).
type Secrets struct {
	// KeyFile, KeySSM: where the age identity comes from when ENTRY_AGE_KEY
	// and ENTRY_AGE_KEY_FILE are unset.
	KeyFile string  `yaml:"key_file"`
	KeySSM  string  `yaml:"key_ssm"`
	Vaults  []Vault `yaml:"vaults"`
}

// A Vault is one encrypted file: written decrypted to Dst, exported into the
// processes' environment (Env), or both.
type Vault struct {
	Src string `yaml:"src"`
	Dst string `yaml:"dst"`
	// Env exports the top-level keys of a flat vault as variables.
	Env bool `yaml:"env"`
	// Mode and Owner of Dst; nil/"" mean 0600 and the current user.
	Mode  *FileMode `yaml:"mode"`
	Owner string    `yaml:"owner"`
	// Format is yaml or dotenv; "" guesses from Src's name.
	Format string `yaml:"format"`
}

// Assets says where the per-environment, per-commit assets manifest lives
// and how the start-up step fetches it (see docs/assets.md).
type Assets struct {
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
	// Key is the object key template below Prefix; {env}, {sha} and {name}
	// are replaced. "" means "{env}/{sha}/{name}".
	Key string `yaml:"key"`
	// EnvVar names the variable holding the environment; "" means RAILS_ENV.
	EnvVar string `yaml:"env_var"`
	// Revision is the commit used when neither ENTRY_REVISION nor a REVISION
	// file gives one.
	Revision string `yaml:"revision"`
	// SkipEnvs are environments that skip the fetch; nil means development
	// and test.
	SkipEnvs []string `yaml:"skip_envs"`
	Skip     bool     `yaml:"skip"`
	// Timeout bounds the whole fetch, retries included; 0 means 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Cache skips a download when the destination already holds the stored
	// checksum; nil means true.
	Cache *bool `yaml:"cache"`
	// Region, Endpoint and PathStyle override the AWS SDK's own settings
	// (AWS_REGION, AWS_ENDPOINT_URL_S3, ...). PathStyle nil means path-style
	// addressing exactly when a custom endpoint is set.
	Region    string     `yaml:"region"`
	Endpoint  string     `yaml:"endpoint"`
	PathStyle *bool      `yaml:"path_style"`
	Manifests []Manifest `yaml:"manifests"`
	Fetch     []Fetch    `yaml:"fetch"`
}

// A Manifest is one manifest file: its name in S3 (the {name} of the key;
// "" means the base name of Dst) and where it goes.
type Manifest struct {
	Name string `yaml:"name"`
	Dst  string `yaml:"dst"`
}

// A Fetch is any other per-environment file copied from S3 at start. Src is
// an s3:// URL; both may use {env} and {sha}.
type Fetch struct {
	Src string `yaml:"src"`
	Dst string `yaml:"dst"`
}

// Deploy holds the defaults of `entry deploy` (see docs/deploy.md); its
// flags override them.
type Deploy struct {
	Region           string        `yaml:"region"`
	Cluster          string        `yaml:"cluster"`
	Services         []string      `yaml:"services"`
	Containers       []string      `yaml:"containers"`
	Image            string        `yaml:"image"`
	ImageDefinitions string        `yaml:"image_definitions"`
	TaskDefinition   string        `yaml:"task_definition"`
	Migrate          string        `yaml:"migrate"`
	MigrateContainer string        `yaml:"migrate_container"`
	Timeout          time.Duration `yaml:"timeout"`
	Keep             int           `yaml:"keep"`
	NoRollback       bool          `yaml:"no_rollback"`
	// Scheduled tasks that follow the deploy (--schedules, --rule,
	// --schedule, --event-bus, --schedule-group).
	Schedules      bool     `yaml:"schedules"`
	Rules          []string `yaml:"rules"`
	NamedSchedules []string `yaml:"named_schedules"`
	EventBuses     []string `yaml:"event_buses"`
	ScheduleGroups []string `yaml:"schedule_groups"`
}

// An EnvFile is one entry of env_files: a path, which must exist, or, as
// in Docker Compose, {path: FILE, required: false}, skipped when absent
// (.env.local on a developer's machine and not in the image).
type EnvFile struct {
	Path     string `yaml:"path"`
	Required bool   `yaml:"required"`
}

// UnmarshalYAML accepts a path or a {path, required} mapping.
func (e *EnvFile) UnmarshalYAML(n *yaml.Node) error {
	const want = "a path or {path: FILE, required: false}"
	switch n.Kind {
	case yaml.ScalarNode:
		*e = EnvFile{Path: n.Value, Required: true}
		return nil // an empty path is caught by validateEnvFiles
	case yaml.MappingNode:
		type plain EnvFile // no methods: decoded field by field
		p := plain{Required: true}
		if err := decodeStruct(n, reflectValue(&p), "env_files"); err != nil {
			return err
		}
		*e = EnvFile(p)
		return nil
	}
	return kindError(n, "env_files", want)
}
