package ghtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"time"
)

// treeEntry is one file of a tree. Trees are flat maps from a full path to a
// blob, which is all the product needs; the JSON they are served as has the
// documented shape.
type treeEntry struct {
	Mode string
	SHA  string
}

type commitObj struct {
	SHA     string
	Tree    string
	Parents []string
	Message string
	Author  string
	Date    time.Time
	seq     int
}

// Commit is a commit as tests see it.
type Commit struct {
	SHA     string
	Message string
	Parents []string
	Tree    string
	Files   map[string]string
}

func gitSHA(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) putBlob(content []byte) string {
	sha := gitSHA("blob", content)
	s.blobs[sha] = append([]byte(nil), content...)
	return sha
}

func (s *Server) putTree(entries map[string]treeEntry) string {
	var body []byte
	for _, p := range sortedKeys(entries) {
		e := entries[p]
		body = append(body, fmt.Sprintf("%s %s\x00%s", e.Mode, p, e.SHA)...)
	}
	sha := gitSHA("tree", body)
	cp := make(map[string]treeEntry, len(entries))
	for k, v := range entries {
		cp[k] = v
	}
	s.trees[sha] = cp
	return sha
}

func (s *Server) putCommit(tree string, parents []string, message string) *commitObj {
	s.seq++
	date := s.clock.Add(time.Duration(s.seq) * time.Minute)
	body := fmt.Sprintf("tree %s\n", tree)
	for _, p := range parents {
		body += fmt.Sprintf("parent %s\n", p)
	}
	body += fmt.Sprintf("author ghtest <ghtest@example.com> %d +0000\n\n%s", date.Unix(), message)
	c := &commitObj{
		SHA:     gitSHA("commit", []byte(body)),
		Tree:    tree,
		Parents: append([]string(nil), parents...),
		Message: message,
		Author:  "ghtest",
		Date:    date,
		seq:     s.seq,
	}
	s.commits[c.SHA] = c
	return c
}

func (s *Server) filesOf(treeSHA string) map[string]string {
	out := map[string]string{}
	for p, e := range s.trees[treeSHA] {
		out[p] = string(s.blobs[e.SHA])
	}
	return out
}

// overlay returns base with files written over it; an entry whose value is
// nil is deleted.
func (s *Server) overlay(base map[string]treeEntry, files map[string]*string) map[string]treeEntry {
	out := make(map[string]treeEntry, len(base)+len(files))
	for k, v := range base {
		out[k] = v
	}
	for p, c := range files {
		if c == nil {
			delete(out, p)
			continue
		}
		out[p] = treeEntry{Mode: "100644", SHA: s.putBlob([]byte(*c))}
	}
	return out
}

// resolve turns a branch name, "heads/x", "refs/heads/x" or a commit SHA into
// a commit.
func (s *Server) resolve(ref string) (*commitObj, bool) {
	if ref == "" {
		ref = s.defaultBranch
	}
	for _, name := range []string{ref, trimPrefixes(ref, "refs/", "heads/")} {
		if sha, ok := s.refs[name]; ok {
			return s.commits[sha], true
		}
	}
	c, ok := s.commits[ref]
	return c, ok
}

func trimPrefixes(s string, prefixes ...string) string {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
	}
	return s
}

// ancestors returns every commit reachable from sha, itself included.
func (s *Server) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur == "" || seen[cur] {
			continue
		}
		seen[cur] = true
		if c, ok := s.commits[cur]; ok {
			stack = append(stack, c.Parents...)
		}
	}
	return seen
}

// mergeBase is the newest commit reachable from both a and b.
func (s *Server) mergeBase(a, b string) string {
	inA := s.ancestors(a)
	best := ""
	for sha := range s.ancestors(b) {
		if inA[sha] && (best == "" || s.commits[sha].seq > s.commits[best].seq) {
			best = sha
		}
	}
	return best
}

// SeedBranch creates branch with a root commit holding files and returns the
// commit SHA. The first branch seeded becomes the default branch. Seeding an
// existing branch replaces its history.
func (s *Server) SeedBranch(branch string, files map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := map[string]treeEntry{}
	for p, c := range files {
		entries[p] = treeEntry{Mode: "100644", SHA: s.putBlob([]byte(c))}
	}
	c := s.putCommit(s.putTree(entries), nil, "Initial commit")
	s.refs[branch] = c.SHA
	if s.defaultBranch == "" {
		s.defaultBranch = branch
	}
	return c.SHA
}

// SeedSymlink adds a commit on top of branch that makes p a symlink
// (mode 120000) to target, a path relative to p's directory as git stores
// it, and returns the new SHA. It panics if the branch does not exist.
func (s *Server) SeedSymlink(branch, p, target string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.refs[branch]
	if !ok {
		panic(fmt.Sprintf("ghtest: SeedSymlink: no branch %q", branch))
	}
	entries := map[string]treeEntry{}
	for k, e := range s.trees[s.commits[head].Tree] {
		entries[k] = e
	}
	entries[p] = treeEntry{Mode: "120000", SHA: s.putBlob([]byte(target))}
	c := s.putCommit(s.putTree(entries), []string{head}, "Add symlink "+p)
	s.refs[branch] = c.SHA
	return c.SHA
}

// Advance adds a commit on top of branch that writes files over its tree, as
// if someone else pushed (the base moving under an open pull request), and
// returns the new SHA. It panics if the branch does not exist.
func (s *Server) Advance(branch string, files map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.refs[branch]
	if !ok {
		panic(fmt.Sprintf("ghtest: Advance: no branch %q", branch))
	}
	changes := map[string]*string{}
	for p, c := range files {
		changes[p] = &c
	}
	tree := s.putTree(s.overlay(s.trees[s.commits[head].Tree], changes))
	c := s.putCommit(tree, []string{head}, fmt.Sprintf("Update %d files", len(files)))
	s.refs[branch] = c.SHA
	return c.SHA
}

// SetDefaultBranch changes the branch used when contents are read without a
// ref.
func (s *Server) SetDefaultBranch(branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultBranch = branch
}

// MergePR merges an open pull request the way GitHub's merge button does: a
// merge commit on the base branch whose parents are the base head and the PR
// head, carrying the changes the PR made since the merge base. The pull
// request is closed and marked merged, and GET /commits/{sha}/pulls for the
// returned merge SHA lists it. It panics if the PR is not open.
func (s *Server) MergePR(number int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(number)
	if p == nil || p.State != "open" {
		panic(fmt.Sprintf("ghtest: MergePR: no open pull request #%d", number))
	}
	baseHead, headHead := s.refs[p.Base], s.refs[p.Head]
	mb := s.mergeBase(baseHead, headHead)
	before, after := map[string]treeEntry{}, s.trees[s.commits[headHead].Tree]
	if mb != "" {
		before = s.trees[s.commits[mb].Tree]
	}
	merged := map[string]treeEntry{}
	for k, v := range s.trees[s.commits[baseHead].Tree] {
		merged[k] = v
	}
	for path, e := range after {
		if before[path] != e {
			merged[path] = e
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			delete(merged, path)
		}
	}
	msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", p.Number, s.owner, p.Head, p.Title)
	c := s.putCommit(s.putTree(merged), []string{baseHead, headHead}, msg)
	s.refs[p.Base] = c.SHA
	p.State = "closed"
	p.Merged = true
	p.MergedAt = c.Date
	p.ClosedAt = c.Date
	p.UpdatedAt = c.Date
	p.MergeCommitSHA = c.SHA
	p.HeadSHA = headHead
	return c.SHA
}

// Files returns the files at ref (a branch name or commit SHA), or nil if
// the ref does not exist.
func (s *Server) Files(ref string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolve(ref)
	if !ok {
		return nil
	}
	return s.filesOf(c.Tree)
}

// Branches returns every branch and the commit it points to.
func (s *Server) Branches() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.refs))
	for k, v := range s.refs {
		out[k] = v
	}
	return out
}

// Commits lists every commit reachable from branch (or a commit SHA), newest
// first, or nil if it does not exist.
func (s *Server) Commits(ref string) []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.resolve(ref)
	if !ok {
		return nil
	}
	var list []*commitObj
	for sha := range s.ancestors(head.SHA) {
		list = append(list, s.commits[sha])
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq > list[j].seq })
	out := make([]Commit, 0, len(list))
	for _, c := range list {
		out = append(out, Commit{
			SHA: c.SHA, Message: c.Message, Parents: append([]string(nil), c.Parents...),
			Tree: c.Tree, Files: s.filesOf(c.Tree),
		})
	}
	return out
}

func mustParseURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}
