package ecsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ECRTargetPrefix is the X-Amz-Target prefix of Amazon ECR operations.
const ECRTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// ECR is an in-memory Amazon ECR serving DescribeImages (awsJson1_1,
// camelCase members). Repositories live in a region (that of the request's
// signature) and a registry (an account ID: registryId, default Account),
// as on AWS: a repository asked for in another region does not exist. As
// on AWS, DescribeImages fails as a whole with ImageNotFoundException when
// any image it is asked for is missing. An image pushed with absent > 0 is
// not found by its first absent reads (a push that completes as the
// deploy starts).
type ECR struct {
	*modelled
	repos  map[string]*ecrRepo // region/registry/repo
	denied map[string]bool     // region/registry/repo
	asked  []string
	// External, when set, is asked for an image the fake does not hold
	// (region, registry, repository and tag): a test's stand-in registry
	// that a pushing subprocess writes to.
	External func(region, registry, repo, tag string) bool
}

type ecrRepo struct{ images []*ecrImage }

type ecrImage struct {
	digest string
	tags   []string
	absent int
	pushed time.Time
}

// NewECR starts an ECR fake with no repositories.
func NewECR() *ECR {
	e := &ECR{repos: map[string]*ecrRepo{}, denied: map[string]bool{}}
	e.modelled = newModelled("ecr", "", e.serveHTTP)
	e.start()
	return e
}

// ImageDigest is the digest the fake gives the image pushed as
// registry/repo:tag in region.
func ImageDigest(region, registry, repo, tag string) string {
	sum := sha256.Sum256([]byte(region + "/" + registry + "/" + repo + ":" + tag))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Push stores repo:tag in registry in region, creating the repository,
// and returns its digest. The image is not found by its first absent
// reads.
func (e *ECR) Push(region, registry, repo, tag string, absent int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.repo(region, registry, repo, true)
	digest := ImageDigest(region, registry, repo, tag)
	for _, img := range r.images {
		img.tags = removeTag(img.tags, tag) // a tag names one image
	}
	r.images = append(r.images, &ecrImage{digest: digest, tags: []string{tag}, absent: absent, pushed: time.Now()})
	return digest
}

// CreateRepository creates an empty repository.
func (e *ECR) CreateRepository(region, registry, repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.repo(region, registry, repo, true)
}

// Deny answers every call about the repository with AccessDeniedException,
// as for a caller whose policy lacks ecr:DescribeImages.
func (e *ECR) Deny(region, registry, repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.denied[region+"/"+registry+"/"+repo] = true
}

// Asked returns the DescribeImages requests received, each with the
// region it was signed for ("us-west-2 " + registry/repo: ids).
func (e *ECR) Asked() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.asked...)
}

func (e *ECR) repo(region, registry, name string, create bool) *ecrRepo {
	key := region + "/" + registry + "/" + name
	r := e.repos[key]
	if r == nil && create {
		r = &ecrRepo{}
		e.repos[key] = r
	}
	return r
}

func removeTag(tags []string, tag string) []string {
	var out []string
	for _, t := range tags {
		if t != tag {
			out = append(out, t)
		}
	}
	return out
}

func (e *ECR) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ECRTargetPrefix)
	body, read := readBody(r)
	if !read {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || !ok {
		e.fail(w, &apiError{400, "UnknownOperationException", "no such operation " + r.Header.Get("X-Amz-Target")})
		return
	}
	if aerr := e.begin(r, op, body, nil); aerr != nil {
		e.fail(w, aerr)
		return
	}
	in, aerr := decodeInput[ecr.DescribeImagesInput](e.model, op, body)
	if aerr == nil {
		var out ecr.DescribeImagesOutput
		if out, aerr = e.describeImages(signedRegion(r), in); aerr == nil {
			e.reply(w, op, out, false)
			return
		}
	}
	e.fail(w, aerr)
}

func (e *ECR) describeImages(region string, in *ecr.DescribeImagesInput) (ecr.DescribeImagesOutput, *apiError) {
	registry := aws.ToString(in.RegistryId)
	if registry == "" {
		registry = Account
	}
	name := aws.ToString(in.RepositoryName)
	var ids []string
	for _, id := range in.ImageIds {
		ids = append(ids, idString(id))
	}
	e.asked = append(e.asked, fmt.Sprintf("%s %s/%s: %s", region, registry, name, strings.Join(ids, " ")))
	if e.denied[region+"/"+registry+"/"+name] {
		return ecr.DescribeImagesOutput{}, &apiError{400, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/ci/deploy is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:%s:%s:repository/%s because no identity-based policy allows the ecr:DescribeImages action",
			Account, region, registry, name)}
	}
	if len(in.ImageIds) == 0 {
		return ecr.DescribeImagesOutput{}, &apiError{400, "InvalidParameterException", "the fake serves only DescribeImages with imageIds"}
	}
	repo := e.repo(region, registry, name, false)
	if repo == nil && e.External == nil {
		return ecr.DescribeImagesOutput{}, &apiError{400, "RepositoryNotFoundException", fmt.Sprintf(
			"The repository with name '%s' does not exist in the registry with id '%s'", name, registry)}
	}
	if repo == nil {
		repo = &ecrRepo{}
	}
	var out ecr.DescribeImagesOutput
	var missing *apiError
	for _, id := range in.ImageIds {
		img := repo.find(id)
		if img == nil && e.External != nil && id.ImageTag != nil && e.External(region, registry, name, *id.ImageTag) {
			img = &ecrImage{digest: ImageDigest(region, registry, name, *id.ImageTag), tags: []string{*id.ImageTag}, pushed: time.Now()}
		}
		if img != nil && img.absent > 0 {
			img.absent--
			img = nil
		}
		if img == nil {
			if missing == nil {
				missing = &apiError{400, "ImageNotFoundException", fmt.Sprintf(
					"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
					orNull(id.ImageDigest), orNull(id.ImageTag), name, registry)}
			}
			continue
		}
		out.ImageDetails = append(out.ImageDetails, types.ImageDetail{
			RegistryId: aws.String(registry), RepositoryName: aws.String(name), ImageDigest: aws.String(img.digest),
			ImageTags: img.tags, ImagePushedAt: aws.Time(img.pushed), ImageSizeInBytes: aws.Int64(104857600),
			ImageManifestMediaType: aws.String("application/vnd.docker.distribution.manifest.v2+json"),
		})
	}
	if missing != nil {
		return ecr.DescribeImagesOutput{}, missing
	}
	return out, nil
}

func (r *ecrRepo) find(id types.ImageIdentifier) *ecrImage {
	for _, img := range r.images {
		if id.ImageDigest != nil && *id.ImageDigest != img.digest {
			continue
		}
		if id.ImageTag != nil && !slices.Contains(img.tags, *id.ImageTag) {
			continue
		}
		return img
	}
	return nil
}

func idString(id types.ImageIdentifier) string {
	if id.ImageDigest != nil {
		return "@" + *id.ImageDigest
	}
	return ":" + aws.ToString(id.ImageTag)
}

func orNull(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
