package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// envAnnotation is the pflag annotation holding a flag's environment
// variable name.
const envAnnotation = "entry-env"

// A flagSet is a pflag.FlagSet whose every flag can also be set through an
// environment variable, because entry is configured inside Dockerfiles and
// ECS task definitions. Precedence is flag > environment > config file >
// default: parse applies the environment, and isSet tells the caller whether
// to let the config file fill a value.
//
// The variable is ENTRY_<FLAG> for the start command's flags and for the
// flags every subcommand shares (--config), and ENTRY_<SUBCOMMAND>_<FLAG>
// for a subcommand's own, so that `entry assets --timeout` and `entry deploy
// --timeout` do not read the same variable.
type flagSet struct {
	*pflag.FlagSet
	envPrefix string // "ENTRY_" or "ENTRY_DEPLOY_"
	usage     string // synopsis, description and example, printed by --help
	envSet    map[string]bool
}

// newFlagSet returns the flags of subcommand cmd ("" for the start command).
// usage is the help text shown above the flag list; it must contain a
// working example.
func newFlagSet(cmd, usage string) *flagSet {
	name := "entry"
	prefix := "ENTRY_"
	if cmd != "" {
		name = "entry " + cmd
		prefix = "ENTRY_" + envWord(strings.Fields(cmd)[0]) + "_"
	}
	fs := &flagSet{
		FlagSet:   pflag.NewFlagSet(name, pflag.ContinueOnError),
		envPrefix: prefix,
		usage:     usage,
		envSet:    map[string]bool{},
	}
	fs.SortFlags = false
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fs.printUsage(os.Stdout) }
	return fs
}

// envWord upper-cases a flag or command name for an environment variable.
func envWord(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}

// setEnv gives flag name the environment variable env instead of the
// default, for flags shared across subcommands such as --config.
func (fs *flagSet) setEnv(name, env string) {
	if err := fs.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(err) // a programming error: the flag is not defined
	}
}

// envName is the environment variable that sets flag f.
func (fs *flagSet) envName(f *pflag.Flag) string {
	if v := f.Annotations[envAnnotation]; len(v) == 1 {
		return v[0]
	}
	return fs.envPrefix + envWord(f.Name)
}

// addConfigFlag registers --config, shared by every subcommand that reads
// entry.yml.
func (fs *flagSet) addConfigFlag(path *string) {
	fs.StringVar(path, "config", "entry.yml", "config file; a missing default file is not an error")
	fs.setEnv("config", "ENTRY_CONFIG")
}

// parse parses args, then fills every flag not given on the command line
// from its environment variable. It returns pflag.ErrHelp for -h/--help
// after printing the help text.
func (fs *flagSet) parse(args []string) error {
	fs.VisitAll(func(f *pflag.Flag) {
		if _, done := f.Value.(boolValue); !done && f.Value.Type() == "bool" {
			f.Value = boolValue{f.Value}
		}
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%v (see '%s --help')", err, fs.Name())
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		env := fs.envName(f)
		v, ok := os.LookupEnv(env)
		if !ok {
			return
		}
		if _, ok := f.Value.(boolValue); ok {
			if _, ok := parseBool(v); !ok {
				err = fmt.Errorf("%s=%q: not a boolean: %s", env, v, boolValues)
				return
			}
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("%s=%q: %v", env, v, serr)
			return
		}
		fs.envSet[f.Name] = true
	})
	return err
}

// isSet reports whether flag name was given on the command line or through
// its environment variable, so that a config file value must not override
// it.
func (fs *flagSet) isSet(name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// printUsage writes the help text, then every flag with its environment
// variable.
func (fs *flagSet) printUsage(w *os.File) {
	fmt.Fprint(w, strings.TrimLeft(fs.usage, "\n"))
	if !strings.HasSuffix(fs.usage, "\n") {
		fmt.Fprintln(w)
	}
	if !fs.HasFlags() {
		return
	}
	fmt.Fprintln(w, "\nFlags (each also read from the environment variable shown):")
	fmt.Fprint(w, fs.FlagUsages())
	var envs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			envs = append(envs, fmt.Sprintf("  --%-20s $%s", f.Name, fs.envName(f)))
		}
	})
	sort.Strings(envs)
	fmt.Fprintln(w, "\nEnvironment:")
	for _, e := range envs {
		fmt.Fprintln(w, e)
	}
}

// parseOrExit parses and converts the outcome into an exit code for the
// caller to return: -1 means carry on.
func (fs *flagSet) parseOrExit(args []string) int {
	if collectFlags != nil { // commandFlags: the definitions only
		collectFlags(fs)
		return exitOK
	}
	err := fs.parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	default:
		if cmd := strings.TrimPrefix(fs.Name(), "entry "); cmd != fs.Name() {
			return fail(exitUsage, "%s: %v", cmd, err)
		}
		return fail(exitUsage, "%v", err)
	}
}

// boolValue is a boolean flag that takes the values parseBool does, from
// its environment variable as from --flag=VALUE.
type boolValue struct{ pflag.Value }

const boolValues = "want true or false (also yes/no, on/off, 1/0)"

func (b boolValue) Set(s string) error {
	v, ok := parseBool(s)
	if !ok {
		return errors.New(boolValues)
	}
	return b.Value.Set(strconv.FormatBool(v))
}

// parseBool reads a boolean: true/false, yes/no, on/off or 1/0 (and
// strconv's t/f), in any case, as shells, Docker Compose files and ECS
// task definitions write them.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "on", "1":
		return true, true
	case "false", "f", "no", "off", "0":
		return false, true
	}
	return false, false
}
