package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// Issue 20 §7: a service scaled to 0 on purpose. The default raises it to
// 1 and says so (the dry run too); KeepZero keeps 0.
func TestScaledToZero(t *testing.T) {
	for _, c := range []struct {
		name     string
		keep     bool
		desired  int32
		say, dry string
	}{
		{"default", false, 1, "warning: idle: desired count is 0; setting it to 1 so that the new revision runs (--keep-scaled-to-zero keeps 0)",
			"plan: idle: update job:1 -> new job revision, desired 1 (desired count 0 raised to 1; --keep-scaled-to-zero keeps 0)"},
		{"kept", true, 0, "idle: desired count 0 kept (--keep-scaled-to-zero): the service moves to the new revision, no task of it runs",
			"plan: idle: update job:1 -> new job revision, desired 0 (scaled to 0, kept: --keep-scaled-to-zero)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "idle", TaskDefinition: "job:1", DesiredCount: 0})
			s := Spec{Cluster: cluster, Services: []string{"idle"}, Image: "repo/app:new", Timeout: 5 * time.Second, KeepZero: c.keep, DryRun: true}
			if err := e.d.Deploy(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			e.wantOutput(t, c.dry)
			s.DryRun = false
			if err := e.d.Deploy(context.Background(), s); err != nil {
				t.Fatalf("Deploy: %v\n%s", err, e.out)
			}
			e.wantOutput(t, c.say, "deployed: idle job:2")
			if got := e.fake.Service(cluster, "idle").DesiredCount; got != c.desired {
				t.Errorf("desired count %d, want %d", got, c.desired)
			}
			if strings.Contains(e.out.String(), "setting it to 1") != !c.keep {
				t.Errorf("output:\n%s", e.out)
			}
		})
	}
}
