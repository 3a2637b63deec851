package release

import (
	"fmt"
	"regexp"
	"strings"
)

// usesRE matches a `uses:` line: the reference, then an optional comment.
var usesRE = regexp.MustCompile(`(?m)^[ \t]*(?:-[ \t]+)?uses:[ \t]*(\S+)(?:[ \t]+#[ \t]*(.*))?$`)

// repositoryRE matches a `repository:` key, as actions/checkout takes it.
var repositoryRE = regexp.MustCompile(`(?m)^[ \t]*(?:-[ \t]+)?repository:[ \t]*["']?([^"'\s#]+)`)

var (
	shaRE        = regexp.MustCompile(`^[0-9a-f]{40}$`)
	tagCommentRE = regexp.MustCompile(`^v[0-9]+(\.[0-9]+){0,2}\b`)
	// An image pinned by our own release tag or by digest.
	pinnedImageRE = regexp.MustCompile(`^docker://(` + regexp.QuoteMeta(ImageRepo) + `:v[0-9]+\.[0-9]+\.[0-9]+|[^@\s]+@sha256:[0-9a-f]{64})$`)
)

// PinnedFiles are the files whose `uses:` must be pinned: the workflows,
// the examples and action.yml.
func PinnedFiles(root string) ([]string, error) {
	return globFiles(root, ".github/workflows/*.yml", ".github/workflows/*.yaml", "examples/*.yml", "examples/*.yaml", ActionFile)
}

// CheckPins reports every `uses:` in files that is not pinned and every
// checkout of this repository. Pinned means:
//   - a third-party action or reusable workflow at a full commit SHA with a
//     "# vX.Y.Z" comment naming the version;
//   - a docker:// image at our release tag or at a digest;
//   - this repository's own reusable workflows and action at a release
//     tag (@v1, @v1.2.3): that is how callers choose a version;
//   - a local path (./...).
func CheckPins(root string) error {
	files, err := PinnedFiles(root)
	if err != nil {
		return err
	}
	return checkFiles(root, files, checkPinsIn)
}

func checkPinsIn(name, text string) []error {
	var errs []error
	line := func(offset int) int { return strings.Count(text[:offset], "\n") + 1 }
	for _, m := range usesRE.FindAllStringSubmatchIndex(text, -1) {
		ref := strings.Trim(text[m[2]:m[3]], `"'`)
		comment := ""
		if m[4] >= 0 {
			comment = strings.TrimSpace(text[m[4]:m[5]])
		}
		if problem := pinProblem(ref, comment); problem != "" {
			errs = append(errs, fmt.Errorf("%s:%d: uses %s: %s", name, line(m[0]), ref, problem))
		}
	}
	for _, m := range repositoryRE.FindAllStringSubmatchIndex(text, -1) {
		if strings.EqualFold(text[m[2]:m[3]], ActionRepo) {
			errs = append(errs, fmt.Errorf("%s:%d: checks out %s: run the published image instead (uses: docker://%s:<version>), so private copies, forks and pinned callers run what they chose", name, line(m[0]), ActionRepo, ImageRepo))
		}
	}
	return errs
}

// pinProblem says why ref is not pinned, or "" when it is.
func pinProblem(ref, comment string) string {
	switch {
	case strings.HasPrefix(ref, "./"):
		return ""
	case strings.HasPrefix(ref, "docker://"):
		if pinnedImageRE.MatchString(ref) {
			return ""
		}
		return "pin the image by digest (image@sha256:...) or use our release tag " + ImageRepo + ":vX.Y.Z"
	}
	path, at, ok := strings.Cut(ref, "@")
	if !ok {
		return "no version: pin it to a full commit SHA with a # vX.Y.Z comment"
	}
	if strings.HasPrefix(strings.ToLower(path), ActionRepo+"/") || strings.EqualFold(path, ActionRepo) {
		if _, err := ParseVersion(at); err == nil || regexp.MustCompile(`^v[0-9]+$`).MatchString(at) {
			return ""
		}
		return "this repository's workflows and action are used at a release tag (@v1 or @v1.2.3)"
	}
	if !shaRE.MatchString(at) {
		return fmt.Sprintf("@%s is not a full commit SHA: pin it to the commit of the release (git rev-parse %s^{commit}) with a # %s comment", at, at, at)
	}
	if !tagCommentRE.MatchString(comment) {
		return "pinned to a SHA but without a # vX.Y.Z comment naming the version, which Dependabot and reviewers read"
	}
	return ""
}
