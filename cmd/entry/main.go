// Command entry is the ENTRYPOINT of a Rails-style application's one shared
// Docker image, and the tool its CI deploys that image to Amazon ECS with.
//
// As ENTRYPOINT it loads .env files, runs the start-up pipeline (render
// templates, decrypt secrets, fetch the assets manifest, run hooks) and then
// supervises a role's processes as PID 1, or execs a command. The
// subcommands (render, secrets, assets, cron, deploy, config, version) are
// the same steps run by hand or from CI. Invoked as prehook, codep, switch or
// render (through symlinks) it accepts EntryKit's argument syntax.
//
// Each subcommand lives in its own file; the domain packages below the
// module root do the work.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Exit codes shared by every subcommand. Supervised roles pass their
// essential process's exit code out instead (see docs/supervise.md).
const (
	exitOK      = 0
	exitFailure = 1 // the work failed: a hook, a render, a decrypt, a deploy
	exitUsage   = 2 // the command line or the config file is wrong; nothing ran
)

// A subcommand is one verb of the entry command line.
type subcommand struct {
	name    string
	summary string
	run     func(args []string) int
}

// subcommands lists the verbs in the order `entry help` shows them. Any
// other first argument starts the default pipeline (see start.go).
var subcommands []subcommand

func init() {
	subcommands = []subcommand{
		{"render", "render ERB templates (for CI and debugging)", runRender},
		{"secrets", "create and edit age-encrypted secret vaults", runSecrets},
		{"assets", "push or fetch the per-environment assets manifest", runAssets},
		{"cron", "check or run a crontab", runCron},
		{"deploy", "deploy the image to Amazon ECS", runDeploy},
		{"config", "validate entry.yml and print the start-up plan", runConfig},
		{"ctl", "status, start, stop, restart or signal a running role's processes; run a cron job now", runCtl},
		{"health", "exit 0 when the running role is healthy (ECS healthCheck)", runHealth},
		{"version", "print version, commit, Go version and platform", runVersion},
		{"help", "show help for entry or a subcommand", runHelp},
	}
}

func main() {
	os.Exit(run(os.Args))
}

// run dispatches on the name entry was invoked under, then on the first
// argument.
func run(argv []string) int {
	if len(argv) == 0 {
		argv = []string{"entry"}
	}
	if tool := filepath.Base(argv[0]); isEntryKitTool(tool) {
		return runEntryKit(tool, argv[1:])
	}
	args := dropOwnName(argv[1:])
	if len(args) > 0 {
		if args[0] == "--version" || args[0] == "-v" {
			return runVersion(args[1:])
		}
		if sc := lookupSubcommand(args[0]); sc != nil {
			return sc.run(args[1:])
		}
	}
	return runStart(args)
}

// dropOwnName drops a first argument that is entry's own name ("entry", or
// a path ending in /entry). With the image's ENTRYPOINT ["entry"],
// `docker run IMG entry deploy …` reaches entry as `entry entry deploy …`;
// without this, the start-up pipeline would run first and then try to exec
// a second entry. Only one is dropped: `entry entry entry` is a mistake
// worth an error.
func dropOwnName(args []string) []string {
	if len(args) > 0 && (args[0] == "entry" || strings.HasSuffix(args[0], "/entry")) {
		return args[1:]
	}
	return args
}

func lookupSubcommand(name string) *subcommand {
	for i := range subcommands {
		if subcommands[i].name == name {
			return &subcommands[i]
		}
	}
	return nil
}

// fail prints one error line and returns code.
// failAll prints each line of err (several problems, errors.Join'd) as an
// "entry: " line.
func failAll(code int, err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		writeError(code, line)
	}
	return code
}

func fail(code int, format string, args ...any) int {
	writeError(code, fmt.Sprintf(format, args...))
	return code
}
