package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

const releaseVersion = "0.2.0"

// runRelease runs scripts/release in the checkout src and returns the
// release directory.
func runRelease(t *testing.T, src string) (dir string) {
	t.Helper()
	cmd := exec.Command("scripts/release", releaseVersion)
	cmd.Dir = src
	cmd.Env = os.Environ()
	var out testtool.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	testtool.StartContained(t, cmd, false)
	// Two cross builds and their SBOMs: minutes on a busy machine.
	if err := testtool.WaitCmd(t, cmd, 10*testtool.Patience, out.String); err != nil {
		t.Fatalf("scripts/release %s: %v\n%s", releaseVersion, err, out.String())
	}
	t.Logf("scripts/release:\n%s", out.String())
	return filepath.Join(src, "dist/release")
}

// scripts/release builds both binaries static and for the right machine,
// stamps the version, writes archives with the licenses of every module
// compiled in, SBOMs and checksums that verify, leaves no build path in
// what it ships, and two builds of one commit in two directories are
// byte-for-byte identical.
func TestRelease(t *testing.T) {
	testtool.Require(t, "git")
	testtool.Require(t, "tar")
	testtool.Require(t, "gzip")
	src := t.TempDir()
	commit := testtool.Snapshot(t, testtool.RepoRoot(t), src)
	// The second build's checkout: the same commit at another path.
	src2 := filepath.Join(t.TempDir(), "elsewhere")
	if out, err := exec.Command("git", "clone", "-q", src, src2).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	dir := runRelease(t, src)

	files := testtool.DirNames(t, dir)
	want := []string{"SHA256SUMS", "entry-linux-amd64", "entry-linux-arm64",
		"entry_0.2.0_linux_amd64.cdx.json", "entry_0.2.0_linux_amd64.tar.gz",
		"entry_0.2.0_linux_arm64.cdx.json", "entry_0.2.0_linux_arm64.tar.gz"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("dist/release holds %q, want %q", files, want)
	}

	// SHA256SUMS lists every other file, and each sum verifies.
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", line)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not verify", name)
		}
		listed[name] = true
		t.Logf("%-36s %10d bytes  sha256 %s", name, len(data), sum)
	}
	for _, f := range want[1:] {
		if !listed[f] {
			t.Errorf("SHA256SUMS does not list %s", f)
		}
	}
	check := exec.Command("sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum --check: %v\n%s", err, out)
	}

	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		bin := filepath.Join(dir, "entry-linux-"+arch)
		checkStatic(t, bin, machine)
		data, _ := os.ReadFile(bin)
		for _, leak := range []string{src, filepath.Dir(src), os.Getenv("HOME") + "/go/pkg/mod"} {
			if bytes.Contains(data, []byte(leak)) {
				t.Errorf("%s contains the build path %q", bin, leak)
			}
		}
		checkArchive(t, filepath.Join(dir, "entry_0.2.0_linux_"+arch+".tar.gz"), "entry_0.2.0_linux_"+arch, data)
		checkSBOM(t, filepath.Join(dir, "entry_0.2.0_linux_"+arch+".cdx.json"))
	}

	// The version is stamped: run the amd64 binary.
	out, err := exec.Command(filepath.Join(dir, "entry-linux-amd64"), "--version").Output()
	wantLine := "entry 0.2.0 (commit " + commit[:12] + ", " + testtool.SnapshotDate + ", go"
	if err != nil || !strings.HasPrefix(string(out), wantLine) || !strings.HasSuffix(string(out), ", linux/amd64)\n") {
		t.Errorf("entry-linux-amd64 --version = %q, %v; want %s…, linux/amd64)", out, err, wantLine)
	}

	// Reproducible: the same commit, built again elsewhere, gives the same
	// bytes in every file.
	again := runRelease(t, src2)
	for _, f := range want {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, err := os.ReadFile(filepath.Join(again, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of one commit (%v)", f, err)
		}
	}
}

// checkStatic checks that bin is an ELF executable for machine with no
// program interpreter and no dynamic section: a static binary that runs in
// a FROM scratch image.
func checkStatic(t *testing.T, bin string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: machine %v type %v, want %v ET_EXEC", bin, f.Machine, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: not static", bin, p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("%s: has a .dynamic section: not static", bin)
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s: needs %v", bin, libs)
	}
}

// checkArchive checks that the archive holds the binary, the README,
// LICENSE and CHANGELOG, and the license texts of Go and of every module
// the binary lists (the aws-sdk-go-v2 NOTICE among them).
func checkArchive(t *testing.T, path, top string, bin []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	content := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: %s owned by %d/%d %q, want 0/0", path, h.Name, h.Uid, h.Gid, h.Uname)
		}
		if !h.ModTime.Equal(mustTime(t)) {
			t.Errorf("%s: %s has time %v, want the commit's %s", path, h.Name, h.ModTime, testtool.SnapshotDate)
		}
		if h.Typeflag == tar.TypeReg {
			content[strings.TrimPrefix(h.Name, top+"/")], _ = io.ReadAll(tr)
		}
	}
	if !bytes.Equal(content["entry"], bin) {
		t.Errorf("%s: entry is not the released binary", path)
	}
	for _, name := range []string{"README.md", "LICENSE", "CHANGELOG.md", "licenses/go/LICENSE",
		"licenses/github.com/aws/aws-sdk-go-v2/NOTICE.txt", "licenses/github.com/aws/smithy-go/NOTICE"} {
		if len(content[name]) == 0 {
			t.Errorf("%s: no %s", path, name)
		}
	}
	if !bytes.Contains(content["LICENSE"], []byte("MIT License")) {
		t.Errorf("%s: LICENSE is not the MIT license", path)
	}
	// Every module compiled in (go version -m) has its license.
	out, err := exec.Command("go", "version", "-m", filepath.Join(filepath.Dir(path), "entry-linux-"+top[len(top)-5:])).Output()
	if err != nil {
		t.Fatal(err)
	}
	mods := 0
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "dep" {
			continue
		}
		mods++
		found := false
		for name := range content {
			base := filepath.Base(name)
			found = found || (filepath.Dir(name) == "licenses/"+fields[1] && (strings.HasPrefix(strings.ToUpper(base), "LICEN") || strings.HasPrefix(base, "COPYING")))
		}
		if !found {
			t.Errorf("%s: no license text for the module %s", path, fields[1])
		}
	}
	if mods < 10 {
		t.Errorf("go version -m lists only %d modules; the parser lost some", mods)
	}
}

func mustTime(t *testing.T) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, testtool.SnapshotDate)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// checkSBOM checks that an SBOM is CycloneDX JSON naming entry at the
// release version and the modules it was built from.
func checkSBOM(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat    string `json:"bomFormat"`
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Component struct{ Name, Version string }
		}
		Components []struct{ Name, Version, Purl string }
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Version != "v"+releaseVersion ||
		!strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("%s: format %q, serial %q, component %+v", path, bom.BOMFormat, bom.SerialNumber, bom.Metadata.Component)
	}
	names := map[string]bool{}
	for _, c := range bom.Components {
		names[c.Name] = true
	}
	for _, m := range []string{"github.com/aws/aws-sdk-go-v2", "filippo.io/age", "github.com/spf13/pflag"} {
		if !names[m] {
			t.Errorf("%s: no component %s", path, m)
		}
	}
}
