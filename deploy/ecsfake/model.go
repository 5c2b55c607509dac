package ecsfake

import (
	"sync"

	"github.com/entryhq/entry/internal/awsmodel"
)

// The ECS API model, trimmed to the operations the fake serves: botocore's
// data/ecs/2014-11-13/service-2.json (botocore 1.43.11; the 1.34.22 copy the
// Google Cloud SDK bundles predates members the SDK sends, such as
// enableFaultInjection) with the documentation and the shapes of other
// operations left out. The fake checks every request it receives and every
// response it sends against it, so that neither entry nor the fake can
// drift from what ECS accepts and answers.
var ecsModel = sync.OnceValue(func() *awsmodel.Model { return loadModel("ecs-2014-11-13") })

// ECSModel returns the embedded ECS model.
func ECSModel() *awsmodel.Model { return ecsModel() }

// violations splits what the model says of one document into one message
// a violation.
func violations(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
