package gh

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// ErrNotFastForward is returned when a branch moved on between reading its
// head and pointing it at a commit made on that head.
var ErrNotFastForward = errors.New("the branch moved on meanwhile (not a fast-forward)")

// maxUpdateAttempts bounds how often UpdateFiles starts again on a branch
// that others keep pushing to.
const maxUpdateAttempts = 4

// UpdateFiles makes at most one commit on branch that replaces each of
// files with what edit returns for its current content (nil when the file
// does not exist). Files whose content edit returns unchanged are not
// written; when none changes, nothing is written and changed is false, so a
// rerun adds no commit. The branch only moves forward: when someone pushed
// meanwhile, it reads the new head and edits again. The commit is made
// through the Git Data API without an author, so GitHub signs it and shows
// it as verified.
//
// GitHub API: GET /repos/{owner}/{repo}/git/ref/heads/{branch},
// GET /repos/{owner}/{repo}/contents/{path}?ref={sha} (each file),
// CommitFiles' calls, then
// PATCH /repos/{owner}/{repo}/git/refs/heads/{branch} without force
func (c *Client) UpdateFiles(ctx context.Context, branch string, files []string, message string, edit func(file string, old []byte) ([]byte, error)) (sha string, changed bool, err error) {
	for attempt := 1; ; attempt++ {
		head, err := c.BranchHead(ctx, branch)
		if err != nil {
			return "", false, err
		}
		writes := map[string][]byte{}
		for _, file := range files {
			old, _, err := c.ReadFile(ctx, head, file)
			if err != nil {
				return "", false, err
			}
			content, err := edit(file, old)
			if err != nil {
				return "", false, fmt.Errorf("edit %s at %s: %w", file, head, err)
			}
			if !bytes.Equal(content, old) {
				writes[file] = content
			}
		}
		if len(writes) == 0 {
			return head, false, nil
		}
		sha, err := c.CommitFiles(ctx, head, writes, message)
		if err != nil {
			return "", false, err
		}
		err = c.fastForward(ctx, branch, sha)
		if err == nil {
			return sha, true, nil
		}
		if !errors.Is(err, ErrNotFastForward) || attempt >= maxUpdateAttempts {
			return "", false, err
		}
	}
}

// fastForward points branch at sha when sha descends from its head.
//
// GitHub API: PATCH /repos/{owner}/{repo}/git/refs/heads/{branch} (force false)
func (c *Client) fastForward(ctx context.Context, branch, sha string) error {
	err := c.call(ctx, true, func(ctx context.Context, api *github.Client) (*github.Response, error) {
		_, resp, err := api.Git.UpdateRef(ctx, c.owner, c.repo, &github.Reference{
			Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)},
		}, false)
		return resp, err
	})
	if validationMentions(err, "fast forward") {
		return c.wrap(ErrNotFastForward, "update branch %q to %s", branch, sha)
	}
	return c.wrap(err, "update branch %q to %s", branch, sha)
}
