package deploy

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/entryhq/entry/deploy/ecsfake"
)

const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// newImageEnv is newEnv with an ECR fake holding app:new in the fake's
// region and account.
func newImageEnv(t *testing.T) (*env, *ecsfake.ECR) {
	t.Helper()
	e := newEnv(t)
	reg := ecsfake.NewECR()
	t.Cleanup(reg.Close)
	t.Cleanup(func() {
		for _, v := range reg.Violations() {
			t.Errorf("ECR API model violation: %s", v)
		}
	})
	e.d.ECR = ecr.New(ecr.Options{Region: ecsfake.Region, BaseEndpoint: aws.String(reg.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""), Retryer: NewRetryer(5, 5*time.Millisecond)()})
	reg.Push(ecsfake.Region, ecsfake.Account, "app", "new", 0)
	return e, reg
}

func imageSpec(image string) Spec {
	s := spec()
	s.Image, s.Containers = image, []string{"app"}
	return s
}

// nothingRegistered: the deploy stopped before any change.
func (e *env) nothingRegistered(t *testing.T) {
	t.Helper()
	if e.fake.MutatingCalls() != 0 || len(e.fake.Revisions("web")) != 1 || len(e.fake.Revisions("job")) != 1 {
		t.Errorf("the deploy changed something: %v\n%s", e.fake.Calls(), e.out)
	}
}

func TestImageCheckMissingTagRegistersNothing(t *testing.T) {
	e, reg := newImageEnv(t)
	err := e.d.Deploy(context.Background(), imageSpec(registry+"/app:nwe"))
	want := "image " + registry + "/app:nwe of containers app of web, app of job is not in Amazon ECR " +
		"(ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'nwe'} does not exist within the repository with name 'app' in the registry with id '123456789012'): " +
		"push it, or check the tag; nothing was changed"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	e.nothingRegistered(t)
	if strings.Contains(e.out.String(), "in Amazon ECR\n") {
		t.Errorf("output says the image is there:\n%s", e.out)
	}
	// One call for the repository, asked again once a poll interval later.
	if got := reg.Asked(); len(got) != 2 || got[0] != "us-east-1 123456789012/app: :nwe" {
		t.Errorf("DescribeImages: %q", got)
	}
}

// A push that completes as the deploy starts may not show at once: the
// image is asked again before the deploy fails.
func TestImageCheckJustPushed(t *testing.T) {
	e, reg := newImageEnv(t)
	reg.Push(ecsfake.Region, ecsfake.Account, "app", "fresh", 1)
	reg.Throttle("DescribeImages", 1)
	if err := e.d.Deploy(context.Background(), imageSpec(registry+"/app:fresh")); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	if !strings.Contains(e.out.String(), "image check: "+registry+"/app:fresh (app of web, app of job): in Amazon ECR\n") {
		t.Errorf("output:\n%s", e.out)
	}
	e.wantRevision(t, "web", 2)
}

func TestImageCheckDigestAndOtherRegistries(t *testing.T) {
	e, reg := newImageEnv(t)
	digest := ecsfake.ImageDigest(ecsfake.Region, ecsfake.Account, "app", "new")
	s := spec()
	s.Services = []string{"web"}
	s.ImageDefinitions = []ImageDefinition{
		{Name: "app", ImageURI: registry + "/app:ignored@" + digest},
		{Name: "log-router", ImageURI: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"},
	}
	s.Image, s.Migrate = "", nil
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	for _, w := range []string{
		"image check: " + registry + "/app:ignored@" + digest + " (app of web): in Amazon ECR\n",
		"image check: public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0 (log-router of web): not checked (not in a private Amazon ECR registry)\n",
	} {
		if !strings.Contains(e.out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, e.out)
		}
	}
	if got := reg.Asked(); len(got) != 1 || got[0] != "us-east-1 123456789012/app: @"+digest {
		t.Errorf("DescribeImages: %q (the digest, not the tag, names the image)", got)
	}

	// A digest ECR does not hold.
	e2, _ := newImageEnv(t)
	bad := "sha256:" + strings.Repeat("0", 64)
	err := e2.d.Deploy(context.Background(), imageSpec(registry+"/app@"+bad))
	if err == nil || !strings.Contains(err.Error(), "image "+registry+"/app@"+bad+" of containers app of web, app of job is not in Amazon ECR (ImageNotFoundException: The image with imageId {imageDigest:'"+bad+"', imageTag:'null'}") {
		t.Errorf("err = %v", err)
	}
	e2.nothingRegistered(t)
}

func TestImageCheckAccessDeniedWarnsAndGoesOn(t *testing.T) {
	e, reg := newImageEnv(t)
	reg.Deny(ecsfake.Region, ecsfake.Account, "app")
	if err := e.d.Deploy(context.Background(), imageSpec(registry+"/app:new")); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	want := "warning: image check: " + registry + "/app:new (app of web, app of job) could not be checked: AccessDeniedException: " +
		"User: arn:aws:sts::123456789012:assumed-role/ci/deploy is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:DescribeImages action; " +
		"allow ecr:DescribeImages on arn:aws:ecr:us-east-1:123456789012:repository/app to the role that deploys to check it; going on (the task's execution role, not this one, pulls the image)\n"
	if !strings.Contains(e.out.String(), want) {
		t.Errorf("output lacks\n%s\n%s", want, e.out)
	}
	if n := len(reg.Asked()); n != 1 || strings.Contains(e.out.String(), "retrying") {
		t.Errorf("AccessDenied was retried (%d calls):\n%s", n, e.out)
	}
	e.wantRevision(t, "web", 2)
}

// An image in another region's (and account's) registry is asked there.
func TestImageCheckCrossRegion(t *testing.T) {
	e, reg := newImageEnv(t)
	reg.Push("us-west-2", "210987654321", "team/app", "v7", 0)
	other := "210987654321.dkr.ecr.us-west-2.amazonaws.com/team/app:v7"
	if err := e.d.Deploy(context.Background(), imageSpec(other)); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	if got := reg.Asked(); !slices.Equal(got, []string{"us-west-2 210987654321/team/app: :v7"}) {
		t.Errorf("DescribeImages: %q", got)
	}

	// The same repository and tag in this region is not that image.
	e2, reg2 := newImageEnv(t)
	reg2.Push(ecsfake.Region, "210987654321", "team/app", "v7", 0)
	err := e2.d.Deploy(context.Background(), imageSpec(other))
	want := "image " + other + " of containers app of web, app of job is not in Amazon ECR: repository team/app does not exist in registry 210987654321 in us-west-2 (RepositoryNotFoundException): push the image, or check the repository, account and region in the image URI; nothing was changed"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	e2.nothingRegistered(t)
}

// Several images of one repository take one call; when one is missing,
// each is asked on its own to name it.
func TestImageCheckBatchesByRepository(t *testing.T) {
	e, reg := newImageEnv(t)
	reg.Push(ecsfake.Region, ecsfake.Account, "app", "sidecar", 0)
	s := spec()
	s.Image, s.Migrate = "", nil
	s.ImageDefinitions = []ImageDefinition{{Name: "app", ImageURI: registry + "/app:new"}, {Name: "log-router", ImageURI: registry + "/app:sidecar"}}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	if got := reg.Asked(); !slices.Equal(got, []string{"us-east-1 123456789012/app: :new :sidecar"}) {
		t.Errorf("DescribeImages: %q", got)
	}

	e2, reg2 := newImageEnv(t)
	s.ImageDefinitions[1].ImageURI = registry + "/app:sidecra"
	err := e2.d.Deploy(context.Background(), s)
	if err == nil || !strings.HasPrefix(err.Error(), "image "+registry+"/app:sidecra of container log-router of web is not in Amazon ECR") || strings.Contains(err.Error(), "app:new") {
		t.Errorf("err = %v", err)
	}
	e2.nothingRegistered(t)
	if got := reg2.Asked(); len(got) != 4 {
		t.Errorf("DescribeImages: %q; want the batch, each image, the missing one again", got)
	}
}

func TestImageCheckDryRunAndSkip(t *testing.T) {
	e, _ := newImageEnv(t)
	s := imageSpec(registry + "/app:nwe")
	s.DryRun = true
	if err := e.d.Deploy(context.Background(), s); err == nil || !strings.Contains(err.Error(), "app:nwe of containers app of web, app of job is not in Amazon ECR") {
		t.Errorf("dry run: err = %v", err)
	}
	s.Image = registry + "/app:new"
	e.out.Reset()
	if err := e.d.Deploy(context.Background(), s); err != nil || !strings.Contains(e.out.String(), "image check: "+registry+"/app:new (app of web, app of job): in Amazon ECR\n") {
		t.Errorf("dry run: %v\n%s", err, e.out)
	}
	s.Image, s.SkipImageCheck, s.DryRun = registry+"/app:nwe", true, false
	e.out.Reset()
	if err := e.d.Deploy(context.Background(), s); err != nil || !strings.HasPrefix(e.out.String(), "image check: skipped (--skip-image-check)\n") {
		t.Errorf("skip: %v\n%s", err, e.out)
	}
}

func TestParseECR(t *testing.T) {
	for ref, want := range map[string]string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c":              "123456789012 us-east-1 app :3f2c @ false",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app":              "123456789012 us-east-1 team/app :latest @ false",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app@sha256:a": "123456789012 us-gov-west-1 app : @sha256:a true",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:t@sha256:b":    "123456789012 cn-north-1 app :t @sha256:b false",
		"public.ecr.aws/nginx/nginx:1.27":                                    "",
		"ghcr.io/o/app:1":                                                    "",
		"nginx":                                                              "",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app:1":    "",
		"12345.dkr.ecr.us-east-1.amazonaws.com/app:1":                        "",
	} {
		r, ok := parseECR(ref)
		got := ""
		if ok {
			got = strings.Join([]string{r.registry, r.region, r.repo, ":" + r.tag, "@" + r.digest, map[bool]string{true: "true", false: "false"}[r.fips]}, " ")
		}
		if got != want {
			t.Errorf("parseECR(%q) = %q, want %q", ref, got, want)
		}
	}
}

// A name that does not resolve is not retried: the check says it could
// not be made.
func TestImageCheckUnreachableIsNotRetried(t *testing.T) {
	err := fmt.Errorf("send: %w", &net.DNSError{Err: "no such host", Name: "api.ecr.us-east-1.amazonaws.com", IsNotFound: true})
	if !permanentECR(err) || !unreachable(err) {
		t.Errorf("%v: retried", err)
	}
	if permanentECR(&net.DNSError{Err: "timeout", IsTimeout: true}) {
		t.Error("a DNS timeout is not retried")
	}
}
