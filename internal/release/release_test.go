package release

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is this repository, from internal/release.
const repoRoot = "../.."

// TestRepositoryIsInStep is CI's guard over the shipped files: one version
// everywhere, every uses: pinned, no checkout of this repository, and the
// CA bundle matching its checksum.
func TestRepositoryIsInStep(t *testing.T) {
	t.Run("versions", func(t *testing.T) {
		if err := CheckVersions(repoRoot); err != nil {
			t.Errorf("versions out of step:\n%v", err)
		}
	})
	t.Run("pins", func(t *testing.T) {
		if err := CheckPins(repoRoot); err != nil {
			t.Errorf("unpinned uses: or checkout of %s:\n%v", ActionRepo, err)
		}
	})
	t.Run("ca bundle", func(t *testing.T) {
		pem, err := ReadCABundle(repoRoot)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(pem), "-----BEGIN CERTIFICATE-----"); n < 100 {
			t.Errorf("RDS CA bundle has %d certificates, want every region's (100+)", n)
		}
	})
	t.Run("one digest per base image tag", func(t *testing.T) {
		// Dependabot moves the Dockerfile's digests; the Makefile, ci.yml and
		// release.yml must follow, so every build starts from the same base.
		baseRE := regexp.MustCompile(`([a-z0-9./-]+:[a-z0-9.-]+)@(sha256:[0-9a-f]{64})`)
		digests := map[string]map[string][]string{}
		for _, f := range []string{"Dockerfile", "Makefile", ".github/workflows/ci.yml", ".github/workflows/release.yml"} {
			raw, err := os.ReadFile(filepath.Join(repoRoot, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range baseRE.FindAllStringSubmatch(string(raw), -1) {
				if digests[m[1]] == nil {
					digests[m[1]] = map[string][]string{}
				}
				digests[m[1]][m[2]] = append(digests[m[1]][m[2]], f)
			}
		}
		if len(digests) == 0 {
			t.Fatal("no base image pinned by digest found")
		}
		for image, byDigest := range digests {
			if len(byDigest) > 1 {
				t.Errorf("%s is pinned to %d digests, want one: %v", image, len(byDigest), byDigest)
			}
		}
	})
	t.Run("dockerfile bases pinned by digest", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			image := strings.HasPrefix(line, "ARG ") && strings.HasSuffix(strings.SplitN(line, "=", 2)[0], "_IMAGE")
			from := strings.HasPrefix(line, "FROM ") && !strings.HasPrefix(line, "FROM ${")
			if (image || from) && !strings.Contains(line, "@sha256:") {
				t.Errorf("Dockerfile: %q: pin the base image by digest", line)
			}
		}
	})
}

func TestCheckPinsIn(t *testing.T) {
	const sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
	tests := []struct {
		name, yaml string
		wantErrs   []string // substrings, one per error, in order
	}{
		{"sha with version comment", "      - uses: actions/checkout@" + sha + "  # v7.0.1\n", nil},
		{"local action", "      - uses: ./.github/actions/x\n", nil},
		{"our image at a release", "        uses: docker://ghcr.io/goldenpath/rds-provision:v1.0.0\n", nil},
		{"image by digest", "        uses: docker://alpine@sha256:" + strings.Repeat("a", 64) + "\n", nil},
		{"our reusable workflow at the major tag", "    uses: goldenpath/rds-provision/.github/workflows/create-rds-database.yml@v1\n", nil},
		{"tag", "      - uses: actions/checkout@v4\n", []string{"@v4 is not a full commit SHA"}},
		{"branch", "      - uses: actions/checkout@main\n", []string{"@main is not a full commit SHA"}},
		{"sha without comment", "      - uses: actions/checkout@" + sha + "\n", []string{"without a # vX.Y.Z comment"}},
		{"sha with a comment that is no version", "      - uses: actions/checkout@" + sha + " # latest\n", []string{"without a # vX.Y.Z comment"}},
		{"short sha", "      - uses: actions/checkout@3d3c42e\n", []string{"not a full commit SHA"}},
		{"no ref", "      - uses: actions/checkout\n", []string{"no version"}},
		{"image by tag", "        uses: docker://alpine:3\n", []string{"pin the image by digest"}},
		{"our image at a branch", "        uses: docker://ghcr.io/goldenpath/rds-provision:main\n", []string{"pin the image by digest"}},
		{"our workflow at a branch", "    uses: goldenpath/rds-provision/.github/workflows/x.yml@main\n", []string{"at a release tag"}},
		{"checkout of the action repository", "        uses: actions/checkout@" + sha + " # v7.0.1\n        with:\n          repository: goldenpath/rds-provision\n", []string{"checks out goldenpath/rds-provision"}},
		{"quoted checkout of the action repository", "          repository: 'GoldenPath/rds-provision'\n", []string{"checks out goldenpath/rds-provision"}},
		{"checkout of another repository", "          repository: goldenpath/infra\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := checkPinsIn("wf.yml", tt.yaml)
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("got %d errors %v, want %d %q", len(errs), errs, len(tt.wantErrs), tt.wantErrs)
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(errs[i].Error(), want) || !strings.HasPrefix(errs[i].Error(), "wf.yml:") {
					t.Errorf("error %d = %q, want it to name wf.yml:<line> and say %q", i, errs[i], want)
				}
			}
		})
	}
}

// detectStep is the apply workflow's detect job running changes in the
// image, at version.
func detectStep(version string) string {
	return "      - name: Compare the RDS entries\n        if: ${{ !inputs.environment }}\n" +
		"        uses: docker://ghcr.io/goldenpath/rds-provision:" + version + "\n" +
		"        with:\n          args: changes --before-dir .rds-provision-before --after-dir . --output .rds-provision-changes.json\n"
}

// fixture writes a minimal repository in step at v1.2.3.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		VersionFile:                    "v1.2.3\n",
		ChangelogFile:                  "# Changelog\n\n## v1.2.3\n\nNotes.\n\n## v1.2.2\n",
		ActionFile:                     "runs:\n  using: docker\n  image: docker://ghcr.io/goldenpath/rds-provision:v1.2.3\n",
		".github/workflows/apply.yml":  "      - uses: docker://ghcr.io/goldenpath/rds-provision:v1.2.3\n",
		".github/workflows/detect.yml": detectStep("v1.2.3"),
		".github/workflows/ci.yml":     "      - run: make test\n",
		"examples/caller-workflow.yml": "    uses: goldenpath/rds-provision/.github/workflows/apply.yml@v1\n",
		"examples/k8s-job.yaml":        "          image: ghcr.io/goldenpath/rds-provision:v1-nonroot\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckVersions(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		text     string
		wantErrs []string
	}{
		{"in step", "", "", nil},
		{"action.yml behind", ActionFile, "runs:\n  using: docker\n  image: docker://ghcr.io/goldenpath/rds-provision:v1.2.2\n", []string{"runs.image must be", "but VERSION is v1.2.3"}},
		{"action.yml builds the Dockerfile", ActionFile, "runs:\n  using: docker\n  image: Dockerfile\n", []string{"runs.image must be"}},
		{"workflow behind", ".github/workflows/apply.yml", "      - uses: docker://ghcr.io/goldenpath/rds-provision:v1.2.2\n", []string{"apply.yml: image ghcr.io/goldenpath/rds-provision:v1.2.2"}},
		{"detect job's image behind", ".github/workflows/detect.yml", detectStep("v1.2.2"), []string{"detect.yml: image ghcr.io/goldenpath/rds-provision:v1.2.2, but VERSION is v1.2.3"}},
		{"changelog behind", ChangelogFile, "## v1.2.2\n", []string{"newest release is v1.2.2"}},
		{"example at another major", "examples/k8s-job.yaml", "          image: ghcr.io/goldenpath/rds-provision:v2-nonroot\n", []string{"k8s-job.yaml: image ghcr.io/goldenpath/rds-provision:v2-nonroot"}},
		{"example workflow at another major", "examples/caller-workflow.yml", "    uses: goldenpath/rds-provision/.github/workflows/apply.yml@v0\n", []string{"uses goldenpath/rds-provision/.github/workflows/apply.yml@v0"}},
		{"bad VERSION", VersionFile, "1.2.3\n", []string{"want v<major>.<minor>.<patch>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixture(t)
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(root, tt.file), []byte(tt.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckVersions(root)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("CheckVersions: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckVersions passed, want errors %q", tt.wantErrs)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("CheckVersions = %q, want it to say %q", err, want)
				}
			}
		})
	}
}

func TestSetVersion(t *testing.T) {
	root := fixture(t)
	if err := SetVersion(root, "v1.3.0"); err == nil || !strings.Contains(err.Error(), `add the notes of v1.3.0 under "## v1.3.0" first`) {
		t.Fatalf("SetVersion without release notes = %v, want the changelog error", err)
	}
	if v, _ := ReadVersion(root); v != "v1.2.3" {
		t.Fatalf("a refused SetVersion changed VERSION to %s", v)
	}

	if err := os.WriteFile(filepath.Join(root, ChangelogFile), []byte("## v1.3.0\n\nNew.\n\n## v1.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SetVersion(root, "v1.3.0"); err != nil {
		t.Fatal(err)
	}
	if err := CheckVersions(root); err != nil {
		t.Errorf("after SetVersion: %v", err)
	}
	got := map[string]string{}
	for _, f := range []string{VersionFile, ActionFile, ".github/workflows/apply.yml", ".github/workflows/detect.yml", ".github/workflows/ci.yml"} {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		got[f] = string(raw)
	}
	want := map[string]string{
		VersionFile:                    "v1.3.0\n",
		ActionFile:                     "runs:\n  using: docker\n  image: docker://ghcr.io/goldenpath/rds-provision:v1.3.0\n",
		".github/workflows/apply.yml":  "      - uses: docker://ghcr.io/goldenpath/rds-provision:v1.3.0\n",
		".github/workflows/detect.yml": detectStep("v1.3.0"),
		".github/workflows/ci.yml":     "      - run: make test\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files after SetVersion (-want +got):\n%s", diff)
	}

	if err := SetVersion(root, "1.4"); err == nil {
		t.Error("SetVersion(1.4) passed, want a version error")
	}
}

func TestReadCABundleRefusesAChangedBundle(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(repoRoot, CABundleFile))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repoRoot, CABundleSumFile))
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(orig), "MII", "MIJ", 1)
	for _, f := range []struct{ name, text string }{{CABundleFile, tampered}, {CABundleSumFile, string(sum)}} {
		if err := os.WriteFile(filepath.Join(root, f.name), []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadCABundle(root); err == nil || !strings.Contains(err.Error(), "the bundle changed") {
		t.Errorf("ReadCABundle of a changed bundle = %v, want a checksum error", err)
	}
}
