package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
)

// ecrHost matches the host of a private Amazon ECR registry:
// ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn].
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// An ecrRef is an image reference into a private ECR registry.
type ecrRef struct {
	registry, region, repo string
	tag, digest            string // digest wins when both are given, as for docker pull
	fips                   bool
}

// parseECR parses ref when it names an image in a private ECR registry.
func parseECR(ref string) (ecrRef, bool) {
	host, rest, ok := strings.Cut(ref, "/")
	m := ecrHost.FindStringSubmatch(host)
	if !ok || m == nil || rest == "" {
		return ecrRef{}, false
	}
	r := ecrRef{registry: m[1], fips: m[2] != "", region: m[3]}
	rest, r.digest, _ = strings.Cut(rest, "@")
	r.repo, r.tag, _ = strings.Cut(rest, ":")
	if r.digest == "" && r.tag == "" {
		r.tag = "latest" // what docker pulls
	}
	return r, r.repo != ""
}

func (r ecrRef) id() ecrtypes.ImageIdentifier {
	if r.digest != "" {
		return ecrtypes.ImageIdentifier{ImageDigest: aws.String(r.digest)}
	}
	return ecrtypes.ImageIdentifier{ImageTag: aws.String(r.tag)}
}

// imageUse is one image and the containers that would run it.
type imageUse struct {
	ref   string
	ecr   ecrRef
	inECR bool
	users []string // "app of web"
}

// imageUses lists the images of the new definitions of fams, in order.
func imageUses(fams []*family) []*imageUse {
	var uses []*imageUse
	byRef := map[string]*imageUse{}
	for _, f := range fams {
		for _, c := range f.newIn.ContainerDefinitions {
			ref := aws.ToString(c.Image)
			u := byRef[ref]
			if u == nil {
				u = &imageUse{ref: ref}
				u.ecr, u.inECR = parseECR(ref)
				byRef[ref] = u
				uses = append(uses, u)
			}
			u.users = append(u.users, aws.ToString(c.Name)+" of "+f.name)
		}
	}
	return uses
}

// checkImages checks, before anything is registered, that every ECR image
// the new revisions of fams name exists (DescribeImages, one call per
// repository). A missing image fails the deploy; a check ECR refuses
// (AccessDenied) is a warning, since the execution role, not the deploy's
// role, pulls the image; other registries are not checked.
func (d *Deployer) checkImages(ctx context.Context, spec Spec, fams []*family) error {
	if d.ECR == nil {
		return nil // a library caller with no ECR client
	}
	if spec.SkipImageCheck {
		d.out("image check: skipped (--skip-image-check)")
		return nil
	}
	type repoKey struct{ region, registry, repo string }
	var order []repoKey
	byRepo := map[repoKey][]*imageUse{}
	for _, u := range imageUses(fams) {
		if !u.inECR {
			d.out("image check: %s (%s): not checked (not in a private Amazon ECR registry)", u.ref, strings.Join(u.users, ", "))
			continue
		}
		k := repoKey{u.ecr.region, u.ecr.registry, u.ecr.repo}
		if byRepo[k] == nil {
			order = append(order, k)
		}
		byRepo[k] = append(byRepo[k], u)
	}
	clients := map[string]*ecr.Client{}
	var missing []string
	for _, k := range order {
		uses := byRepo[k]
		cl := d.ecrClient(clients, uses[0].ecr)
		absent, err := d.describeImages(ctx, spec.Timeout, cl, uses)
		var ae smithy.APIError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.ErrorCode() == "RepositoryNotFoundException":
			for _, u := range uses {
				missing = append(missing, fmt.Sprintf("image %s of %s is not in Amazon ECR: repository %s does not exist in registry %s in %s (RepositoryNotFoundException): push the image, or check the repository, account and region in the image URI",
					u.ref, containers(u), k.repo, k.registry, k.region))
			}
			continue
		case accessDenied(err):
			for _, u := range uses {
				d.out("warning: image check: %s (%s) could not be checked: %s: %s; allow ecr:DescribeImages on arn:aws:ecr:%s:%s:repository/%s to the role that deploys to check it; going on (the task's execution role, not this one, pulls the image)",
					u.ref, strings.Join(u.users, ", "), ae.ErrorCode(), ae.ErrorMessage(), k.region, k.registry, k.repo)
			}
			continue
		case unreachable(err):
			for _, u := range uses {
				d.out("warning: image check: %s (%s) could not be checked: %v; going on (check the network, AWS_ENDPOINT_URL_ECR, or --skip-image-check)",
					u.ref, strings.Join(u.users, ", "), err)
			}
			continue
		default:
			return fmt.Errorf("image check: %v; nothing was changed (--skip-image-check skips the check)", err)
		}
		for _, u := range uses {
			if why, ok := absent[u]; ok {
				missing = append(missing, fmt.Sprintf("image %s of %s is not in Amazon ECR (%s): push it, or check the tag", u.ref, containers(u), why))
				continue
			}
			d.out("image check: %s (%s): in Amazon ECR", u.ref, strings.Join(u.users, ", "))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s; nothing was changed", strings.Join(missing, "; "))
	}
	return nil
}

// accessDenied reports ECR's refusal of the caller's policy. ECR's API
// model does not list AccessDeniedException, so the SDK cannot tell it is
// the client's fault: without this it would be retried until --timeout.
func accessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "AccessDeniedException" || ae.ErrorCode() == "AccessDenied")
}

// unreachable reports an ECR endpoint whose name does not resolve (a
// network with no route to ECR's API): retrying cannot cure it.
func unreachable(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

func permanentECR(err error) bool { return permanent(err) || accessDenied(err) || unreachable(err) }

func containers(u *imageUse) string {
	if len(u.users) == 1 {
		return "container " + u.users[0]
	}
	return "containers " + strings.Join(u.users, ", ")
}

// ecrClient returns the client for ref's region (and FIPS endpoint),
// made once per region from d.ECR's configuration.
func (d *Deployer) ecrClient(clients map[string]*ecr.Client, ref ecrRef) *ecr.Client {
	key := ref.region
	if ref.fips {
		key += " fips"
	}
	if c := clients[key]; c != nil {
		return c
	}
	c := d.ECR
	if ref.region != d.ECR.Options().Region || ref.fips {
		c = ecr.New(d.ECR.Options(), func(o *ecr.Options) {
			o.Region = ref.region
			// A set endpoint (AWS_ENDPOINT_URL_ECR) serves every region;
			// the SDK refuses FIPS beside it.
			if ref.fips && o.BaseEndpoint == nil {
				o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
			}
		})
	}
	clients[key] = c
	return c
}

// describeImages asks ECR for the images of one repository in one call and
// returns those it does not hold, with ECR's words. DescribeImages fails
// as a whole when one image is missing: then each is asked on its own. A
// missing image is asked again one poll interval later, as a push that
// just completed may not show yet.
func (d *Deployer) describeImages(ctx context.Context, timeout time.Duration, cl *ecr.Client, uses []*imageUse) (map[*imageUse]string, error) {
	r := uses[0].ecr
	subject := r.registry + ".dkr.ecr." + r.region + "/" + r.repo
	ask := func(uses []*imageUse) error {
		in := &ecr.DescribeImagesInput{RegistryId: aws.String(r.registry), RepositoryName: aws.String(r.repo)}
		for _, u := range uses {
			in.ImageIds = append(in.ImageIds, u.ecr.id())
		}
		return d.retryUnless(ctx, timeout, subject, "DescribeImages", permanentECR, func(ctx context.Context, _ int) error {
			_, err := cl.DescribeImages(ctx, in)
			return err
		})
	}
	notFound := func(err error) (string, bool) {
		var nf *ecrtypes.ImageNotFoundException
		if errors.As(err, &nf) {
			return nf.ErrorCode() + ": " + nf.ErrorMessage(), true
		}
		return "", false
	}
	absent := map[*imageUse]string{}
	var uncertain []*imageUse
	for start := 0; start < len(uses); start += 100 { // DescribeImages takes at most 100 ids
		batch := uses[start:min(start+100, len(uses))]
		err := ask(batch)
		if _, nf := notFound(err); !nf || len(batch) == 1 {
			if nf {
				uncertain = append(uncertain, batch...)
				continue
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		for _, u := range batch {
			err := ask([]*imageUse{u})
			if _, nf := notFound(err); nf {
				uncertain = append(uncertain, u)
			} else if err != nil {
				return nil, err
			}
		}
	}
	if len(uncertain) == 0 {
		return absent, nil
	}
	lo, _ := d.poll()
	t := time.NewTimer(lo)
	select {
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	case <-t.C:
	}
	for _, u := range uncertain {
		err := ask([]*imageUse{u})
		if why, nf := notFound(err); nf {
			absent[u] = why
		} else if err != nil {
			return nil, err
		}
	}
	return absent, nil
}
