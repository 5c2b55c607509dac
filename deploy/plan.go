package deploy

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// printPlan is the --dry-run output: each family's definition diff and
// what a real run would do.
func (d *Deployer) printPlan(spec Spec, units []*unit, fams []*family, migrateContainer string) {
	for _, f := range fams {
		base := shortARN(aws.ToString(f.base.TaskDefinitionArn))
		if !f.register {
			d.out("%s: %s already has this definition; no new revision", f.name, base)
			continue
		}
		d.out("%s: would register a new revision from %s:", f.name, base)
		d.out("--- %s\n+++ %s (new)", base, f.name)
		fmt.Fprint(d.Out, unifiedDiff(prettyJSON(f.baseIn), prettyJSON(f.newIn), 3))
	}
	if len(spec.Migrate) > 0 {
		d.out("plan: run %q in container %s of the new %s revision (network and launch type of service %s); stop if it exits non-zero",
			strings.Join(spec.Migrate, " "), migrateContainer, units[0].fam.name, units[0].name)
	}
	for _, u := range units {
		if u.noop {
			d.out("plan: %s: already runs %s; left alone", u.name, shortARN(u.current))
			continue
		}
		if u.adopt {
			d.out("plan: %s: adopt the rollout of %s in progress; on failure roll back to %s", u.name, shortARN(u.current), shortARN(u.serving))
			continue
		}
		desired := u.svc.DesiredCount
		note := ""
		switch {
		case desired == 0 && spec.KeepZero:
			note = " (scaled to 0, kept: --keep-scaled-to-zero)"
		case desired == 0:
			desired, note = 1, " (desired count 0 raised to 1; --keep-scaled-to-zero keeps 0)"
		}
		d.out("plan: %s: update %s -> new %s revision, desired %d%s", u.name, shortARN(u.current), u.fam.name, desired, note)
	}
	rb := "roll back to the previous revisions"
	if spec.NoRollback {
		rb = "leave the services as they are (--no-rollback)"
	}
	d.out("plan: wait up to %v for every PRIMARY deployment to complete; on failure %s", spec.Timeout, rb)
	if spec.Keep > 0 {
		d.out("plan: keep the %d newest revisions of each family, the live ones and the rollback ones; deregister older ones", spec.Keep)
	}
}

// unifiedDiff is a line diff of a and b in unified format with ctx lines
// of context, "" when they are equal.
func unifiedDiff(a, b string, ctx int) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence table; task definitions are small.
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		line string
	}
	var ops []op
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, op{' ', x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i]})
			i++
		default:
			ops = append(ops, op{'+', y[j]})
			j++
		}
	}
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind != ' ' {
			for c := max(0, k-ctx); c <= min(len(ops)-1, k+ctx); c++ {
				show[c] = true
			}
		}
	}
	var out strings.Builder
	for k, o := range ops {
		if !show[k] {
			continue
		}
		if k == 0 || !show[k-1] {
			out.WriteString("@@\n")
		}
		fmt.Fprintf(&out, "%c%s\n", o.kind, o.line)
	}
	return out.String()
}
