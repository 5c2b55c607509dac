package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Checks of what the user typed, made before any call, so that a mistake
// is refused with the place and the fix rather than sent to ECS.

// checkImage checks an image reference as Docker parses it (lower-case
// repository, a tag of at most 128 of [A-Za-z0-9_.-], a well-formed
// digest), and that it names one exact image (a tag or a digest).
func checkImage(what, ref string) error {
	if err := parseReference(ref); err != nil {
		why := err.Error()
		if len(ref) > 300 {
			ref = ref[:60] + "…" + ref[len(ref)-20:]
		}
		return fmt.Errorf("%s %q is not an image reference Docker accepts (%s); give REPO:TAG with a lower-case repository and a tag of at most 128 letters, digits, '_', '.' or '-', e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1e9", what, ref, why)
	}
	if !imageHasTagOrDigest(ref) {
		return fmt.Errorf("%s %q has no tag or digest: give REPO:TAG (the commit SHA, say) or REPO@sha256:..., so that the deploy is of one exact image", what, ref)
	}
	return nil
}

// checkServices refuses an empty service name ("web,,job").
func checkServices(names []string) error {
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("--service: an empty service name in %q (a doubled or trailing comma in --service or ENTRY_DEPLOY_SERVICE?)", strings.Join(names, ","))
		}
	}
	return nil
}

// taskDefRevision is FAMILY:REV (ECS family names: letters, digits, '-'
// and '_', up to 255), REV from 1; or the same as a task definition ARN.
// Compiled on first use: {1,255} makes a large program (240 KB of heap),
// which no container start should pay for.
var taskDefRevision = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/)?[A-Za-z0-9_-]{1,255}:[1-9][0-9]{0,9}$`)
})

// CheckRevision checks `deploy run --revision`: live, new (or latest),
// FAMILY:REV or a task definition ARN.
func CheckRevision(rev string) error {
	switch rev {
	case "", "live", "new", "latest":
		return nil
	}
	if taskDefRevision().MatchString(rev) {
		return nil
	}
	return fmt.Errorf("--revision %q: give live (the service's revision), new (its family's newest), FAMILY:REV with REV from 1 (web:42), or a task definition ARN", rev)
}

// CheckCommand refuses a one-off command with no program to run:
// an empty first word after -- would start a task with an empty command.
func CheckCommand(cmd []string) error {
	if len(cmd) == 0 || strings.TrimSpace(cmd[0]) == "" {
		return errors.New("no command: the word after -- is empty; give the program to run, e.g. entry deploy run --service web -- bin/rails runner 'Foo.bar'")
	}
	return nil
}

// scheduledName is an EventBridge rule, bus, Scheduler schedule or group
// name: 1 to 64 of [A-Za-z0-9._-] (bus names may also hold '/', which
// entry's BUS/NAME form cannot carry). Compiled on first use, as above.
var scheduledName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`) })

// CheckScheduled checks the --rule ([BUS/]NAME) and --schedule
// ([GROUP/]NAME) references before any call.
func CheckScheduled(ss ScheduleSpec) error {
	for _, c := range []struct {
		flag, outer string
		refs        []string
	}{{"--rule", "BUS", ss.Rules}, {"--schedule", "GROUP", ss.Schedules}} {
		for _, ref := range c.refs {
			outer, name, ok := strings.Cut(ref, "/")
			if !ok {
				outer, name = "", ref
			}
			if !scheduledName().MatchString(name) || (ok && !scheduledName().MatchString(outer)) {
				return fmt.Errorf("%s %q: give [%s/]NAME, each 1 to 64 letters, digits, '.', '_' or '-' (e.g. %s nightly-report or %s default/nightly-report)", c.flag, ref, c.outer, c.flag, c.flag)
			}
		}
	}
	return nil
}
