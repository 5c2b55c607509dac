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
}
