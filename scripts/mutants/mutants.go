package main

// A mutant is one plausible bug: Old, found exactly once in File, becomes
// New. The tests of Package must fail with it in place.
type mutant struct {
	Package string // the package whose tests must catch it, e.g. "./secrets"
	File    string // relative to the repository root
	Old     string
	New     string
	Bug     string // what the bug does, as a user would meet it
}

// mutants is the list `go run ./scripts/mutants` applies, one at a time.
// Each entry is a bug that once slipped past the suite (issue 24) or one
// of its kin written differently. Keep the anchors (Old) short and exact;
// TestMutantsFitTheCode fails when the code they point at changes.
var mutants = []mutant{
	// secrets: confidentiality and integrity of vaults.
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: "\trand.Read(buf)\n\tbuf = k.value.Seal",
		New: "\tbuf = k.value.Seal",
		Bug: "every value sealed under the same (zero) nonce",
	},
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: "\trand.Read(buf)\n\tbuf = k.value.Seal",
		New: "\tcopy(buf, labelValueKey)\n\tbuf = k.value.Seal",
		Bug: "every value sealed under one constant, non-zero nonce",
	},
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: "\trand.Read(k) // never fails (crypto/rand)",
		New: "\t// the data key is left all zero",
		Bug: "every vault encrypted under the same (zero) data key",
	},
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: `"unencrypted_regex", m.UnencryptedRegex, "leaves"`,
		New: `"unencrypted_regex", "", "leaves"`,
		Bug: "the MAC no longer covers unencrypted_regex",
	},
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: "\tbuf = netstrings(buf, m.Recipients...)\n",
		New: "\n",
		Bug: "the MAC no longer covers the recipient list",
	},
	{
		Package: "./secrets", File: "secrets/crypto.go",
		Old: "return netstrings(nil, labelValueAAD, path, typ)",
		New: "return netstrings(nil, labelValueAAD, typ)",
		Bug: "a ciphertext can be moved to another key path unnoticed",
	},
	{
		Package: "./secrets", File: "secrets/vault.go",
		Old: "if !hmac.Equal(k.computeMAC(m, items), want) {",
		New: "if want == nil && !hmac.Equal(k.computeMAC(m, items), want) {",
		Bug: "the MAC is computed but never checked",
	},

	// config: what a user writes means what it says.
	{
		Package: "./config", File: "config/sections.go",
		Old: "p := plain{Required: true}",
		New: "p := plain{}",
		Bug: "env_files: [{path: .env.prod}] without required: becomes optional",
	},
	// supervise: signals, stops, restarts and exit codes of PID 1.
	{
		Package: "./supervise", File: "supervise/spawn.go",
		Old: "err := unix.Kill(-c.pid, sig)",
		New: "err := unix.Kill(c.pid, sig)",
		Bug: "signals sent to the process's pid instead of its group (puma's workers never get TERM)",
	},
	{
		Package: "./supervise", File: "supervise/restarts.go",
		Old: "if s.cause.failed && s.cause.last.Code == 0 {",
		New: "if s.cause.failed && s.cause.last.Code == 0 && false {",
		Bug: "max_restarts exhausted by a process exiting 0 ends the role with 0",
	},
	{
		Package: "./supervise", File: "supervise/signals.go",
		Old: "\tcase syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:\n\t\treturn 0, false",
		New: "\tcase syscall.SIGTTIN, syscall.SIGTTOU:\n\t\treturn 0, false",
		Bug: "TSTP forwarded to every process",
	},
	{
		Package: "./supervise", File: "supervise/restarts.go",
		Old: "(st.Signal == p.stopSent || st.Code == 128+int(p.stopSent))",
		New: "(st.Signal == p.stopSent)",
		Bug: "a process exiting 128+N after entry's stop signal N counted as unclean",
	},
	{
		Package: "./supervise", File: "supervise/restarts.go",
		Old: "\t\tif s.role.ChildExitCode {",
		New: "\t\tif s.role.ChildExitCode && false {",
		Bug: "in the tini model the child's exit code is ignored on stop",
	},

	// deploy: never undo good work, never claim what did not happen.
	{
		Package: "./deploy", File: "deploy/wait.go",
		Old: "rollback, who := cb != nil && cb.Rollback, \"the circuit breaker\"",
		New: "rollback, who := false && cb != nil && cb.Rollback, \"the circuit breaker\"",
		Bug: "a FAILED rollout whose PRIMARY is still the failed revision not recognised as ECS rolling back",
	},
	{
		Package: "./deploy", File: "deploy/deploy.go",
		Old: "\t\t\tif settled(u.svc) {\n\t\t\t\tu.noop = true",
		New: "\t\t\tif true {\n\t\t\t\tu.noop = true",
		Bug: "an IN_PROGRESS deployment of the target (bake time) reported as nothing to do",
	},
	{
		Package: "./deploy", File: "deploy/deploy.go",
		Old: "\t\tcase u.serving == u.fam.target:\n",
		New: "\t\tcase u.serving == u.fam.target && false:\n",
		Bug: "a failed redeploy of the revision the service ran reports it restored",
	},
	{
		Package: "./deploy", File: "deploy/deploy.go",
		Old: "if dep.RolloutState == types.DeploymentRolloutStateCompleted && (best == nil || newer(dep, best)) {",
		New: "if (best == nil || newer(dep, best)) {",
		Bug: "a rollback returns to another run's in-flight revision, not the last one that served settled",
	},
	// render: output Ruby would give, and no secret in a message.
	{
		Package: "./render", File: "render/pathname.go",
		Old: `if b == ".." || len(basenameList2) == 0 || basenameList2[0] != ".." {`,
		New: `if len(basenameList2) == 0 || basenameList2[0] != ".." {`,
		Bug: "Rails.root.join resolves .. across a .. already in the base",
	},
	{
		Package: "./render", File: "render/redact.go",
		Old: "msg = strings.ReplaceAll(msg, inspect(strValue(v)), shown)",
		New: "msg = strings.ReplaceAll(msg, \"\\x00\"+inspect(strValue(v)), shown)",
		Bug: "an environment value quoted in a render error is printed",
	},
	{
		Package: "./render", File: "render/credentials.go",
		Old: `return perEnv, filepath.Join("config", "credentials", env+".key")`,
		New: `return perEnv, filepath.Join("config", "master.key")`,
		Bug: "per-environment credentials decrypted with the master key",
	},
	// This session's capabilities (issues 20, 22, 23).
	{
		Package: "./deploy", File: "deploy/images.go",
		Old: "\tif len(missing) > 0 {\n\t\treturn fmt.Errorf(\"%s; nothing was changed\"",
		New: "\tif len(missing) > 0 && false {\n\t\treturn fmt.Errorf(\"%s; nothing was changed\"",
		Bug: "a typo'd ECR tag is registered and rolled out, found only by a failed rollout",
	},
	{
		Package: "./supervise", File: "supervise/ctl.go",
		Old: "\t\tif s.starting(p) {",
		New: "\t\tif false && s.starting(p) {",
		Bug: "ctl signal puma USR2 right after a restart kills puma before its handlers are set",
	},
	{
		Package: "./render", File: "render/shell.go",
		Old: "\ttimer := time.AfterFunc(timeout, func() { kill(true) })",
		New: "\ttimer := time.AfterFunc(timeout*1000, func() { kill(true) })",
		Bug: "a template's hung `command` holds start-up for hours instead of 10 s",
	},
	{
		Package: "./render", File: "render/depth.go",
		Old: "\tif depth > maxValueDepth {",
		New: "\tif depth > maxValueDepth*1000 {",
		Bug: "a value nested 500,000 deep overflows the Go stack and crashes PID 1",
	},
}
