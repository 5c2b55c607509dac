package main

// Stand-ins for the docker and aws commands that CI recipes run. The test
// binary plays them: TestMain dispatches on argv[0] (recipes_test.go links
// the binary as docker and aws on the recipes' PATH). Their state — logins,
// built and pushed images — lives in $RECIPE_STATE, so that the steps and
// jobs of one recipe share it as they share a registry.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// shimMain runs the stand-in named by argv[0], if it is one.
func shimMain() (int, bool) {
	switch filepath.Base(os.Args[0]) {
	case "docker":
		return dockerShim(os.Args[1:]), true
	case "aws":
		return awsShim(os.Args[1:]), true
	}
	return 0, false
}

func shimFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	return 1
}

// stateFile names a file of the shared state for key.
func stateFile(kind, key string) string {
	return filepath.Join(os.Getenv("RECIPE_STATE"), kind+"-"+strings.NewReplacer("/", "_", ":", "_").Replace(key))
}

// An image is what docker build made: the Dockerfile's ENTRYPOINT and CMD,
// and the build context that stands for the image's /app.
type shimImage struct {
	Entrypoint, Cmd []string
	Context         string
}

// fakeECRPassword is what aws ecr get-login-password prints and docker
// login must receive.
const fakeECRPassword = "fake-ecr-password"

func awsShim(args []string) int {
	if strings.Join(args, " ") != "ecr get-login-password" {
		return shimFail("aws (test stand-in): unsupported command: aws %s", strings.Join(args, " "))
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		return shimFail("You must specify a region. You can also configure your region by running \"aws configure\".")
	}
	webIdentity := os.Getenv("AWS_ROLE_ARN") != "" && os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != ""
	if webIdentity {
		if data, err := os.ReadFile(os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE")); err != nil || strings.TrimSpace(string(data)) == "" {
			return shimFail("Error when retrieving token from sso: Token has expired (web identity token file %s: %v)", os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), err)
		}
	} else if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		return shimFail("Unable to locate credentials. You can configure credentials by running \"aws configure\".")
	}
	fmt.Println(fakeECRPassword)
	return 0
}

func dockerShim(args []string) int {
	if len(args) == 0 {
		return shimFail("docker (test stand-in): no command")
	}
	switch args[0] {
	case "login":
		return dockerLogin(args[1:])
	case "build":
		return dockerBuildShim(args[1:])
	case "push":
		return dockerPush(args[1:])
	case "run":
		return dockerRun(args[1:])
	}
	return shimFail("docker (test stand-in): unsupported command %q", args[0])
}

func dockerLogin(args []string) int {
	var user, registry string
	stdin := false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--username", "-u":
			i++
			user = args[i]
		case "--password-stdin":
			stdin = true
		default:
			registry = args[i]
		}
	}
	if !stdin || user != "AWS" || registry == "" {
		return shimFail("docker login: want --username AWS --password-stdin REGISTRY, got %q", args)
	}
	password, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(password) != fakeECRPassword {
		return shimFail("Error response from daemon: Get \"https://%s/v2/\": denied: Your authorization token has expired", registry)
	}
	os.WriteFile(stateFile("login", registry), nil, 0o644)
	fmt.Println("Login Succeeded")
	return 0
}

func dockerBuildShim(args []string) int {
	var tags []string
	buildArgs := map[string]string{}
	file, context := "", ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-t" || a == "--tag":
			i++
			tags = append(tags, args[i])
		case a == "--build-arg":
			i++
			k, v, _ := strings.Cut(args[i], "=")
			buildArgs[k] = v
		case a == "-f" || a == "--file":
			i++
			file = args[i]
		case strings.HasPrefix(a, "-"):
			return shimFail("docker build (test stand-in): unsupported flag %s", a)
		default:
			context = a
		}
	}
	if context == "" {
		return shimFail("ERROR: \"docker buildx build\" requires exactly 1 argument.")
	}
	if file == "" {
		file = filepath.Join(context, "Dockerfile")
	}
	if os.Getenv("RECIPE_FAIL_BUILD") != "" {
		return shimFail("ERROR: failed to solve: process \"/bin/sh -c bundle install\" did not complete successfully: exit code: 5")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return shimFail("ERROR: failed to read dockerfile: %v", err)
	}
	ctx, _ := filepath.Abs(context)
	img := shimImage{Context: ctx}
	for _, ins := range dockerInstructions(string(data)) {
		word, rest, _ := strings.Cut(ins, " ")
		switch strings.ToUpper(word) {
		case "ARG":
			// An ARG with no default is one the Dockerfile requires (its
			// next RUN fails without it, as Dockerfile.example's does).
			if name, _, hasDefault := strings.Cut(rest, "="); !hasDefault && buildArgs[name] == "" {
				return shimFail("ERROR: failed to solve: ARG %s has no value: build with --build-arg %s=...", name, name)
			}
		case "ENTRYPOINT", "CMD":
			var list []string
			if err := json.Unmarshal([]byte(rest), &list); err != nil {
				return shimFail("docker build (test stand-in): %s %s: use the exec form", word, rest)
			}
			if strings.ToUpper(word) == "ENTRYPOINT" {
				img.Entrypoint, img.Cmd = list, nil // ENTRYPOINT resets an inherited CMD
			} else {
				img.Cmd = list
			}
		}
	}
	out, _ := json.Marshal(img)
	for _, tag := range tags {
		os.WriteFile(stateFile("image", tag), out, 0o644)
	}
	return 0
}

func loadImage(ref string) (shimImage, bool) {
	var img shimImage
	data, err := os.ReadFile(stateFile("image", ref))
	if err != nil {
		// Not built here: pulled from the registry, if it was pushed.
		if data, err = os.ReadFile(stateFile("pushed", ref)); err != nil {
			return img, false
		}
	}
	return img, json.Unmarshal(data, &img) == nil
}

func dockerPush(args []string) int {
	if len(args) != 1 {
		return shimFail("docker push: want one image, got %q", args)
	}
	ref := args[0]
	data, err := os.ReadFile(stateFile("image", ref))
	if err != nil {
		return shimFail("An image does not exist locally with the tag: %s", ref)
	}
	registry, _, _ := strings.Cut(ref, "/")
	if _, err := os.Stat(stateFile("login", registry)); err != nil {
		return shimFail("denied: Your authorization token has expired. Reauthenticate and try again. (no docker login to %s)", registry)
	}
	os.WriteFile(stateFile("pushed", ref), data, 0o644)
	fmt.Printf("%s: digest: sha256:0000 size: 1234\n", ref)
	return 0
}

// dockerRun applies the image's ENTRYPOINT as Docker does: --entrypoint
// replaces it (and drops the image's CMD); arguments after the image
// replace CMD. The container sees only -e variables, the image's PATH and
// the test's stand-in for the AWS network (RECIPE_NETWORK_ENV); its /app
// is the build context, and -v/-w map host directories.
func dockerRun(args []string) int {
	var env []string
	entrypoint, workdir := "", ""
	entrypointSet := false
	volumes := map[string]string{}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch a := args[i]; a {
		case "--rm", "-i", "-t", "-it":
		case "-e", "--env":
			i++
			k, v, ok := strings.Cut(args[i], "=")
			if !ok {
				if v, ok = os.LookupEnv(k); !ok {
					continue // docker passes an unset variable as unset
				}
			}
			env = append(env, k+"="+v)
		case "-v", "--volume":
			i++
			host, ctr, _ := strings.Cut(args[i], ":")
			ctr, _, _ = strings.Cut(ctr, ":")
			volumes[ctr] = host
		case "-w", "--workdir":
			i++
			workdir = args[i]
		case "--entrypoint":
			i++
			entrypoint, entrypointSet = args[i], true
		default:
			return shimFail("docker run (test stand-in): unsupported flag %s", a)
		}
	}
	if i == len(args) {
		return shimFail("\"docker run\" requires at least 1 argument.")
	}
	ref, rest := args[i], args[i+1:]
	img, ok := loadImage(ref)
	if !ok {
		return shimFail("Unable to find image '%s' locally\ndocker: Error response from daemon: manifest unknown.", ref)
	}
	argv := img.Entrypoint
	cmd := img.Cmd
	if entrypointSet {
		argv, cmd = []string{entrypoint}, nil
	}
	if len(rest) > 0 {
		cmd = rest
	}
	argv = append(append([]string(nil), argv...), cmd...)
	if len(argv) == 0 {
		return shimFail("docker: Error response from daemon: no command specified.")
	}
	// The image's file system: /app is the context, entry is installed.
	inImage := func(p string) string {
		switch {
		case p == "/usr/local/bin/entry" || p == "entry":
			return os.Getenv("RECIPE_ENTRY")
		case p == "/app" || strings.HasPrefix(p, "/app/"):
			return img.Context + strings.TrimPrefix(p, "/app")
		}
		for ctr, host := range volumes {
			if p == ctr || strings.HasPrefix(p, ctr+"/") {
				return host + strings.TrimPrefix(p, ctr)
			}
		}
		return p
	}
	for i := range argv {
		argv[i] = inImage(argv[i])
	}
	dir := img.Context
	if workdir != "" {
		dir = inImage(workdir)
	}
	env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	env = append(env, strings.Fields(os.Getenv("RECIPE_NETWORK_ENV"))...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir, c.Env = dir, env
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return shimFail("docker: Error response from daemon: failed to create task: exec: %q: %v", argv[0], err)
	}
	return 0
}
