// Package release keeps the shipped artefacts in step: one version (the
// VERSION file) for action.yml's image, the reusable workflows' images, the
// CHANGELOG and the examples; every third-party action pinned to a commit;
// and the vendored RDS CA bundle matching its pinned checksum. Its checks
// run as tests in CI, and SetVersion is what a release uses to move the
// version everywhere at once.
package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ImageRepo is where the release workflow publishes the image.
const ImageRepo = "ghcr.io/goldenpath/rds-provision"

// ActionRepo is this repository; no workflow or example may check it out.
const ActionRepo = "goldenpath/rds-provision"

// Files, relative to the repository root.
const (
	VersionFile     = "VERSION"
	ChangelogFile   = "CHANGELOG.md"
	ActionFile      = "action.yml"
	CABundleFile    = "certs/rds-global-bundle.pem"
	CABundleSumFile = "certs/rds-global-bundle.pem.sha256"
)

// versionRE is a release version: v, then major.minor.patch.
var versionRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// imageRefRE finds references to the published image with a version tag,
// e.g. ghcr.io/goldenpath/rds-provision:v1.2.3 (the -nonroot variant too).
var imageRefRE = regexp.MustCompile(regexp.QuoteMeta(ImageRepo) + `:(v[0-9]+(?:\.[0-9]+\.[0-9]+)?)(-nonroot)?\b`)

// ParseVersion checks that v is a release version (v1.2.3) and returns its
// major tag (v1).
func ParseVersion(v string) (major string, err error) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("version %q: want v<major>.<minor>.<patch>, e.g. v1.2.3", v)
	}
	return "v" + m[1], nil
}

// ReadVersion returns the version in root's VERSION file.
func ReadVersion(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, VersionFile))
	if err != nil {
		return "", fmt.Errorf("read the release version: %w", err)
	}
	v := strings.TrimSpace(string(raw))
	if _, err := ParseVersion(v); err != nil {
		return "", fmt.Errorf("%s: %w", VersionFile, err)
	}
	return v, nil
}

// ImageFiles are the files that name the published image at the exact
// release version: action.yml and the reusable workflows.
func ImageFiles(root string) ([]string, error) {
	wfs, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil {
		return nil, err
	}
	files := []string{ActionFile}
	for _, wf := range wfs {
		raw, err := os.ReadFile(wf)
		if err != nil {
			return nil, err
		}
		if strings.Contains(string(raw), "docker://"+ImageRepo+":") {
			rel, _ := filepath.Rel(root, wf)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	return files, nil
}

// CheckVersions reports every place that disagrees with VERSION: the image
// tag in action.yml and in the reusable workflows (exact version), the
// newest CHANGELOG heading, and the major tags the examples use (@vN,
// :vN-nonroot).
func CheckVersions(root string) error {
	version, err := ReadVersion(root)
	if err != nil {
		return err
	}
	major, _ := ParseVersion(version)
	var errs []error

	files, err := ImageFiles(root)
	if err != nil {
		return err
	}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		refs := imageRefRE.FindAllStringSubmatch(string(raw), -1)
		if f == ActionFile && !strings.Contains(string(raw), "image: docker://"+ImageRepo+":"+version+"\n") {
			errs = append(errs, fmt.Errorf("%s: runs.image must be docker://%s:%s (VERSION); run `make release-version NEW_VERSION=%s`", f, ImageRepo, version, version))
		}
		for _, m := range refs {
			if m[1] != version {
				errs = append(errs, fmt.Errorf("%s: image %s, but VERSION is %s; run `make release-version NEW_VERSION=%s`", f, m[0], version, version))
			}
		}
	}

	if latest, err := LatestChangelogVersion(root); err != nil {
		errs = append(errs, err)
	} else if latest != version {
		errs = append(errs, fmt.Errorf("%s: newest release is %s, but VERSION is %s", ChangelogFile, latest, version))
	}

	examples, _ := filepath.Glob(filepath.Join(root, "examples", "*"))
	for _, ex := range examples {
		raw, err := os.ReadFile(ex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rel, _ := filepath.Rel(root, ex)
		for _, m := range imageRefRE.FindAllStringSubmatch(string(raw), -1) {
			if m[1] != major && m[1] != version {
				errs = append(errs, fmt.Errorf("%s: image %s, but the current release is %s (major %s)", rel, m[0], version, major))
			}
		}
		for _, u := range usesRE.FindAllStringSubmatch(string(raw), -1) {
			ref := strings.Trim(u[1], `"'`)
			if repo, at, ok := strings.Cut(ref, "@"); ok && strings.HasPrefix(repo, ActionRepo+"/") && at != major && at != version {
				errs = append(errs, fmt.Errorf("%s: uses %s, but the current release is %s (major %s)", rel, ref, version, major))
			}
		}
	}
	return errors.Join(errs...)
}

// changelogHeadingRE is a release heading: "## v1.2.3" (a date may follow).
var changelogHeadingRE = regexp.MustCompile(`(?m)^## (v[0-9]+\.[0-9]+\.[0-9]+)\b`)

// LatestChangelogVersion returns the first (newest) release heading of
// CHANGELOG.md.
func LatestChangelogVersion(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, ChangelogFile))
	if err != nil {
		return "", fmt.Errorf("read the changelog: %w", err)
	}
	m := changelogHeadingRE.FindStringSubmatch(string(raw))
	if m == nil {
		return "", fmt.Errorf("%s: no release heading (## v1.2.3)", ChangelogFile)
	}
	return m[1], nil
}

// SetVersion moves the release to version: VERSION, action.yml's image and
// the reusable workflows' images (every docker:// step, the apply
// workflow's detect job too). The CHANGELOG must already have the
// release's notes under "## <version>", so no release goes out without them.
func SetVersion(root, version string) error {
	if _, err := ParseVersion(version); err != nil {
		return err
	}
	if latest, err := LatestChangelogVersion(root); err != nil {
		return err
	} else if latest != version {
		return fmt.Errorf("%s: newest release is %s: add the notes of %s under \"## %s\" first", ChangelogFile, latest, version, version)
	}
	files, err := ImageFiles(root)
	if err != nil {
		return err
	}
	// Read and rewrite everything in memory first, so a failure leaves no
	// file half-moved.
	out := map[string][]byte{VersionFile: []byte(version + "\n")}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		out[f] = []byte(imageRefRE.ReplaceAllString(string(raw), ImageRepo+":"+version+"$2"))
	}
	names := make([]string, 0, len(out))
	for f := range out {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if err := os.WriteFile(filepath.Join(root, f), out[f], 0o644); err != nil {
			return fmt.Errorf("set version %s in %s: %w", version, f, err)
		}
	}
	return nil
}

// ReadCABundle returns the vendored RDS CA bundle after checking it
// against its pinned SHA-256, so no image ships an unverified bundle.
func ReadCABundle(root string) ([]byte, error) {
	pem, err := os.ReadFile(filepath.Join(root, CABundleFile))
	if err != nil {
		return nil, fmt.Errorf("read the RDS CA bundle: %w", err)
	}
	sumLine, err := os.ReadFile(filepath.Join(root, CABundleSumFile))
	if err != nil {
		return nil, fmt.Errorf("read the RDS CA bundle checksum: %w", err)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(sumLine)), " ")
	got := sha256.Sum256(pem)
	if hex.EncodeToString(got[:]) != want {
		return nil, fmt.Errorf("%s: SHA-256 is %x, %s pins %s: the bundle changed; vendor it again as certs/README.md says and update the checksum in the same commit", CABundleFile, got, CABundleSumFile, want)
	}
	if !strings.Contains(string(pem), "-----BEGIN CERTIFICATE-----") {
		return nil, fmt.Errorf("%s: no PEM certificate in it", CABundleFile)
	}
	return pem, nil
}
