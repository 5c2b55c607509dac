package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// DigestTag is the tag entry puts on revisions it registers from a
// --task-definition file: a digest of the file's definition, so that a
// re-run with the same file is recognised as a no-op even though ECS fills
// in defaults the file left out.
const DigestTag = "entry:task-definition-digest"

// registerInput copies every field RegisterTaskDefinition accepts from a
// described revision and its tags, dropping only the read-only ones
// (taskDefinitionArn, revision, status, requiresAttributes,
// compatibilities, registeredAt/By, deregisteredAt, deleteRequestedAt).
// TestRegisterInputCopiesEveryField fails when the SDK grows a field this
// function does not copy.
func registerInput(td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		ContainerDefinitions:    td.ContainerDefinitions,
		Family:                  td.Family,
		Cpu:                     td.Cpu,
		EnableFaultInjection:    td.EnableFaultInjection,
		EphemeralStorage:        td.EphemeralStorage,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		InferenceAccelerators:   td.InferenceAccelerators,
		IpcMode:                 td.IpcMode,
		Memory:                  td.Memory,
		NetworkMode:             td.NetworkMode,
		PidMode:                 td.PidMode,
		PlacementConstraints:    td.PlacementConstraints,
		ProxyConfiguration:      td.ProxyConfiguration,
		RequiresCompatibilities: td.RequiresCompatibilities,
		RuntimePlatform:         td.RuntimePlatform,
		Tags:                    tags,
		TaskRoleArn:             td.TaskRoleArn,
		Volumes:                 td.Volumes,
	}
}

// readOnlyKeys are members of a described task definition that
// RegisterTaskDefinition does not accept; a file copied from
// `aws ecs describe-task-definition` may carry them.
var readOnlyKeys = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// ParseTaskDefinition reads a task definition file: the JSON that `aws ecs
// register-task-definition --cli-input-json` takes, or the output of `aws
// ecs describe-task-definition --include TAGS` (read-only members are
// ignored). Unknown members are an error, because a misspelt member would
// otherwise be dropped silently. name is used in errors.
func ParseTaskDefinition(name string, data []byte) (*ecs.RegisterTaskDefinitionInput, error) {
	var top map[string]json.RawMessage
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return nil, fmt.Errorf("%s: the file must hold one JSON object {\"family\": …, \"containerDefinitions\": […]} (as aws ecs register-task-definition --cli-input-json takes it), not %s", name, jsonKind(t[0]))
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %v", name, jsonError(data, err))
	}
	body := top
	if inner, ok := top["taskDefinition"]; ok {
		// describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}
		body = nil
		if err := json.Unmarshal(inner, &body); err != nil {
			return nil, fmt.Errorf("%s: taskDefinition: %v", name, err)
		}
		if tags, ok := top["tags"]; ok {
			body["tags"] = tags
		}
	}
	for _, k := range readOnlyKeys {
		delete(body, k)
	}
	known := map[string]bool{}
	rt := reflect.TypeOf(ecs.RegisterTaskDefinitionInput{})
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).IsExported() {
			known[lowerFirst(rt.Field(i).Name)] = true
		}
	}
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return nil, fmt.Errorf("%s: unknown member %q (RegisterTaskDefinition accepts %s)", name, k, strings.Join(sortedSet(known), ", "))
		}
	}
	clean, _ := json.Marshal(body)
	in := new(ecs.RegisterTaskDefinitionInput)
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if aws.ToString(in.Family) == "" {
		return nil, fmt.Errorf("%s: no \"family\" (every task definition needs one)", name)
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, fmt.Errorf("%s: no \"containerDefinitions\"", name)
	}
	for i, c := range in.ContainerDefinitions {
		if aws.ToString(c.Name) == "" || aws.ToString(c.Image) == "" {
			return nil, fmt.Errorf("%s: containerDefinitions[%d]: needs a name and an image", name, i)
		}
	}
	return in, nil
}

// jsonError adds the line number to a JSON syntax error.
func jsonError(data []byte, err error) error {
	if se, ok := err.(*json.SyntaxError); ok {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	return err
}

func sortedSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// digest identifies a definition's content, the DigestTag excluded.
func digest(in *ecs.RegisterTaskDefinitionInput) string {
	sum := sha256.Sum256([]byte(canonical(in)))
	return hex.EncodeToString(sum[:12])
}

// canonical is the definition as compact JSON with sorted keys, the
// DigestTag excluded, for comparing two definitions.
func canonical(in *ecs.RegisterTaskDefinitionInput) string {
	c := *in
	c.Tags = withoutTag(in.Tags, DigestTag)
	b, _ := json.Marshal(toTree(reflect.ValueOf(c)))
	return string(b)
}

func withoutTag(tags []types.Tag, key string) []types.Tag {
	var out []types.Tag
	for _, t := range tags {
		if aws.ToString(t.Key) != key {
			out = append(out, t)
		}
	}
	return out
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// prettyJSON renders a definition the way ECS's JSON shows it (camelCase,
// absent members left out), indented, for the dry-run diff.
func prettyJSON(in *ecs.RegisterTaskDefinitionInput) string {
	b, _ := json.MarshalIndent(toTree(reflect.ValueOf(*in)), "", "  ")
	return string(b)
}

var timeType = reflect.TypeOf(time.Time{})

// toTree converts an SDK value into maps, slices and scalars with ECS's
// camelCase member names, leaving out nil, empty and unset members.
func toTree(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toTree(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time).Unix()
		}
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.IsExported() && f.Name != "ResultMetadata" && !absent(v.Field(i)) {
				m[lowerFirst(f.Name)] = toTree(v.Field(i))
			}
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toTree(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = toTree(v.MapIndex(k))
		}
		return m
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return v.Interface()
}

func absent(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	case reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	}
	return false
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// repository is an image reference without its tag or digest:
// "host:5000/app:v1@sha256:..." -> "host:5000/app".
func repository(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// An ImageDefinition is one entry of CodePipeline's imagedefinitions.json.
type ImageDefinition struct {
	Name     string `json:"name"`
	ImageURI string `json:"imageUri"`
}

// ParseImageDefinitions reads CodePipeline's imagedefinitions.json:
// [{"name": "web", "imageUri": "repo:sha"}, ...].
func ParseImageDefinitions(name string, data []byte) ([]ImageDefinition, error) {
	var defs []ImageDefinition
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&defs); err != nil {
		return nil, fmt.Errorf("%s: %v (want [{\"name\": \"CONTAINER\", \"imageUri\": \"REPO:TAG\"}])", name, jsonError(data, err))
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("%s: no image definitions", name)
	}
	seen := map[string]bool{}
	for i, d := range defs {
		if d.Name == "" || d.ImageURI == "" {
			return nil, fmt.Errorf("%s: entry %d: needs both \"name\" and \"imageUri\"", name, i)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("%s: container %q listed twice", name, d.Name)
		}
		seen[d.Name] = true
	}
	return defs, nil
}

// SplitCommand splits a migration command line into words the way a POSIX
// shell would without expanding anything: blanks separate words, and
// single quotes, double quotes and backslashes quote. For shell syntax
// (&&, pipes, variables) write `sh -c '...'` explicitly.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated single quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote in %q", s)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number or something else"
}
