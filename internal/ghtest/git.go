package ghtest

import (
	"encoding/base64"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

const gitDocs = "https://docs.github.com/rest/git"

// ContentsInlineLimit is the largest file the contents API returns inline
// with its default (object) media type: a larger one (up to 100 MB) comes
// with "encoding": "none" and empty content, and is read with the raw
// media type or the blob API.
const ContentsInlineLimit = 1 << 20

// wantsRaw reports whether the request asks for a raw media type
// (application/vnd.github.raw+json, application/vnd.github.raw,
// application/vnd.github.v3.raw).
func wantsRaw(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		a = strings.TrimSpace(strings.ToLower(a))
		if strings.HasPrefix(a, "application/vnd.github.raw") || strings.HasPrefix(a, "application/vnd.github.v3.raw") {
			return true
		}
	}
	return false
}

func writeRaw(w http.ResponseWriter, content []byte) {
	w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}

func (s *Server) apiURL(r *http.Request, p string) string {
	prefix := ""
	if strings.HasPrefix(r.URL.Path, "/api/v3/") {
		prefix = "/api/v3"
	}
	return "http://" + r.Host + prefix + "/repos/" + s.owner + "/" + s.repo + "/" + p
}

func (s *Server) htmlURL(p string) string {
	return "https://github.com/" + s.owner + "/" + s.repo + "/" + p
}

func (s *Server) refJSON(r *http.Request, branch, sha string) map[string]any {
	return map[string]any{
		"ref":     "refs/heads/" + branch,
		"node_id": "REF_" + sha[:10],
		"url":     s.apiURL(r, "git/refs/heads/"+branch),
		"object": map[string]any{
			"type": "commit",
			"sha":  sha,
			"url":  s.apiURL(r, "git/commits/"+sha),
		},
	}
}

// GET /repos/{owner}/{repo}/git/ref/heads/{branch}
func (s *Server) getRef(w http.ResponseWriter, r *http.Request, m []string) {
	sha, ok := s.refs[m[1]]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", gitDocs+"/refs#get-a-reference")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(r, m[1], sha))
}

// POST /repos/{owner}/{repo}/git/refs
func (s *Server) createRef(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		Ref *string `json:"ref"`
		SHA *string `json:"sha"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Ref == nil || in.SHA == nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\", \"sha\" weren't supplied.", gitDocs+"/refs#create-a-reference")
		return
	}
	branch, ok := strings.CutPrefix(*in.Ref, "refs/heads/")
	if !ok || strings.Count(*in.Ref, "/") < 2 {
		writeError(w, http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.", gitDocs+"/refs#create-a-reference")
		return
	}
	if _, exists := s.refs[branch]; exists {
		writeError(w, http.StatusUnprocessableEntity, "Reference already exists", gitDocs+"/refs#create-a-reference")
		return
	}
	if _, ok := s.commits[*in.SHA]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist", gitDocs+"/refs#create-a-reference")
		return
	}
	s.refs[branch] = *in.SHA
	writeJSON(w, http.StatusCreated, s.refJSON(r, branch, *in.SHA))
}

// PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}
func (s *Server) updateRef(w http.ResponseWriter, r *http.Request, m []string) {
	var in struct {
		SHA   *string `json:"sha"`
		Force bool    `json:"force"`
	}
	if !decode(w, r, &in) {
		return
	}
	branch := m[1]
	old, exists := s.refs[branch]
	switch {
	case in.SHA == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.", gitDocs+"/refs#update-a-reference")
		return
	case !exists:
		writeError(w, http.StatusUnprocessableEntity, "Reference does not exist", gitDocs+"/refs#update-a-reference")
		return
	}
	if _, ok := s.commits[*in.SHA]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist", gitDocs+"/refs#update-a-reference")
		return
	}
	if !in.Force && !s.ancestors(*in.SHA)[old] {
		writeError(w, http.StatusUnprocessableEntity, "Update is not a fast forward", gitDocs+"/refs#update-a-reference")
		return
	}
	s.refs[branch] = *in.SHA
	writeJSON(w, http.StatusOK, s.refJSON(r, branch, *in.SHA))
}

// POST /repos/{owner}/{repo}/git/blobs
func (s *Server) createBlob(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Content == nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"content\" wasn't supplied.", gitDocs+"/blobs#create-a-blob")
		return
	}
	content := []byte(*in.Content)
	switch in.Encoding {
	case "", "utf-8":
	case "base64":
		b, err := base64.StdEncoding.DecodeString(*in.Content)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\ncontent is not valid Base64.", gitDocs+"/blobs#create-a-blob")
			return
		}
		content = b
	default:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nencoding must be utf-8 or base64.", gitDocs+"/blobs#create-a-blob")
		return
	}
	sha := s.putBlob(content)
	writeJSON(w, http.StatusCreated, map[string]any{"sha": sha, "url": s.apiURL(r, "git/blobs/"+sha)})
}

// GET /repos/{owner}/{repo}/git/blobs/{sha} — base64 content (up to 100 MB),
// or the bytes themselves for the raw media type.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, m []string) {
	content, ok := s.blobs[m[1]]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", gitDocs+"/blobs#get-a-blob")
		return
	}
	if wantsRaw(r) {
		writeRaw(w, content)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": m[1], "node_id": "B_" + m[1][:10], "size": len(content), "url": s.apiURL(r, "git/blobs/"+m[1]),
		"content": wrap60(base64.StdEncoding.EncodeToString(content)), "encoding": "base64",
	})
}

var validModes = map[string]string{"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree", "160000": "commit"}

// POST /repos/{owner}/{repo}/git/trees
func (s *Server) createTree(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string  `json:"path"`
			Mode    string  `json:"mode"`
			Type    string  `json:"type"`
			SHA     *string `json:"sha"`
			Content *string `json:"content"`
		} `json:"tree"`
	}
	if !decode(w, r, &in) {
		return
	}
	const doc = gitDocs + "/trees#create-a-tree"
	entries := map[string]treeEntry{}
	if in.BaseTree != "" {
		base, ok := s.trees[in.BaseTree]
		if !ok {
			// GitHub also accepts a commit SHA here and uses its tree.
			if c, isCommit := s.commits[in.BaseTree]; isCommit {
				base, ok = s.trees[c.Tree], true
			}
		}
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, "base_tree is not a valid tree oid", doc)
			return
		}
		for k, v := range base {
			entries[k] = v
		}
	}
	if in.Tree == nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"tree\" wasn't supplied.", doc)
		return
	}
	for _, e := range in.Tree {
		kind, okMode := validModes[e.Mode]
		switch {
		case e.Path == "" || strings.HasPrefix(e.Path, "/") || path.Clean(e.Path) != e.Path:
			writeError(w, http.StatusUnprocessableEntity, "tree.path contains a malformed path component", doc)
			return
		case !okMode:
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/mode', \""+e.Mode+"\" is not one of [\"100644\", \"100755\", \"040000\", \"160000\", \"120000\"].", doc)
			return
		case e.Type != kind:
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\ntype must match mode.", doc)
			return
		case kind != "blob":
			writeError(w, http.StatusUnprocessableEntity, "ghtest: only blob entries are supported", doc)
			return
		case e.Content != nil && e.SHA != nil:
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nOnly one of \"content\" or \"sha\" may be supplied.", doc)
			return
		case e.Content != nil:
			entries[e.Path] = treeEntry{Mode: e.Mode, SHA: s.putBlob([]byte(*e.Content))}
		case e.SHA != nil:
			if _, ok := s.blobs[*e.SHA]; !ok {
				writeError(w, http.StatusUnprocessableEntity, "tree.sha "+*e.SHA+" is not a valid blob", doc)
				return
			}
			entries[e.Path] = treeEntry{Mode: e.Mode, SHA: *e.SHA}
		default: // "sha": null deletes the file.
			delete(entries, e.Path)
		}
	}
	sha := s.putTree(entries)
	writeJSON(w, http.StatusCreated, s.treeJSON(r, sha))
}

func (s *Server) treeJSON(r *http.Request, sha string) map[string]any {
	t := s.trees[sha]
	items := make([]map[string]any, 0, len(t))
	for _, p := range sortedKeys(t) {
		e := t[p]
		items = append(items, map[string]any{
			"path": p, "mode": e.Mode, "type": validModes[e.Mode], "sha": e.SHA,
			"size": len(s.blobs[e.SHA]), "url": s.apiURL(r, "git/blobs/"+e.SHA),
		})
	}
	return map[string]any{"sha": sha, "url": s.apiURL(r, "git/trees/"+sha), "tree": items, "truncated": false}
}

func (s *Server) commitJSON(r *http.Request, c *commitObj) map[string]any {
	parents := make([]map[string]any, 0, len(c.Parents))
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{
			"sha": p, "url": s.apiURL(r, "git/commits/"+p), "html_url": s.htmlURL("commit/" + p),
		})
	}
	who := map[string]any{"name": c.Author, "email": "ghtest@example.com", "date": c.Date.Format(time.RFC3339)}
	return map[string]any{
		"sha":       c.SHA,
		"node_id":   "C_" + c.SHA[:10],
		"url":       s.apiURL(r, "git/commits/"+c.SHA),
		"html_url":  s.htmlURL("commit/" + c.SHA),
		"author":    who,
		"committer": who,
		"message":   c.Message,
		"tree":      map[string]any{"sha": c.Tree, "url": s.apiURL(r, "git/trees/"+c.Tree)},
		"parents":   parents,
		"verification": map[string]any{
			"verified": false, "reason": "unsigned", "signature": nil, "payload": nil,
		},
	}
}

// POST /repos/{owner}/{repo}/git/commits
func (s *Server) createCommit(w http.ResponseWriter, r *http.Request, _ []string) {
	var in struct {
		Message *string  `json:"message"`
		Tree    *string  `json:"tree"`
		Parents []string `json:"parents"`
	}
	if !decode(w, r, &in) {
		return
	}
	const doc = gitDocs + "/commits#create-a-commit"
	if in.Message == nil || in.Tree == nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\", \"tree\" weren't supplied.", doc)
		return
	}
	if _, ok := s.trees[*in.Tree]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "Tree SHA does not exist", doc)
		return
	}
	for _, p := range in.Parents {
		if _, ok := s.commits[p]; !ok {
			writeError(w, http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object", doc)
			return
		}
	}
	c := s.putCommit(*in.Tree, in.Parents, *in.Message)
	writeJSON(w, http.StatusCreated, s.commitJSON(r, c))
}

// GET /repos/{owner}/{repo}/git/commits/{sha}
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, m []string) {
	c, ok := s.commits[m[1]]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", gitDocs+"/commits#get-a-commit-object")
		return
	}
	writeJSON(w, http.StatusOK, s.commitJSON(r, c))
}

// GET /repos/{owner}/{repo}/contents/{path}?ref=
func (s *Server) getContents(w http.ResponseWriter, r *http.Request, m []string) {
	const doc = "https://docs.github.com/rest/repos/contents#get-repository-content"
	ref := r.URL.Query().Get("ref")
	c, ok := s.resolve(ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref, doc)
		return
	}
	want := strings.Trim(m[1], "/")
	tree := s.trees[c.Tree]
	if e, ok := tree[want]; ok {
		if e.Mode == "120000" {
			// GitHub answers for a symlink with the file it points to when
			// that is a regular file of the repository, otherwise with the
			// symlink itself (type symlink, its target, no content).
			target := string(s.blobs[e.SHA])
			if t, ok := tree[path.Join(path.Dir(want), target)]; ok && t.Mode != "120000" && !path.IsAbs(target) {
				if wantsRaw(r) {
					writeRaw(w, s.blobs[t.SHA])
					return
				}
				writeJSON(w, http.StatusOK, s.contentJSON(r, path.Join(path.Dir(want), target), t, c.SHA, true))
				return
			}
			out := s.contentJSON(r, want, e, c.SHA, false)
			out["type"], out["target"] = "symlink", target
			writeJSON(w, http.StatusOK, out)
			return
		}
		if wantsRaw(r) {
			writeRaw(w, s.blobs[e.SHA])
			return
		}
		writeJSON(w, http.StatusOK, s.contentJSON(r, want, e, c.SHA, true))
		return
	}
	// A directory: list its direct children.
	dirs := map[string]bool{}
	var files []string
	prefix := want + "/"
	if want == "" {
		prefix = ""
	}
	for p := range tree {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if d, _, isDir := strings.Cut(rest, "/"); isDir {
			dirs[d] = true
		} else {
			files = append(files, rest)
		}
	}
	if len(dirs) == 0 && len(files) == 0 {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	sort.Strings(files)
	var items []map[string]any
	for _, d := range sortedKeys(dirs) {
		p := prefix + d
		items = append(items, map[string]any{
			"type": "dir", "name": d, "path": p, "sha": "", "size": 0,
			"url":      s.apiURL(r, "contents/"+p+"?ref="+c.SHA),
			"html_url": s.htmlURL("tree/" + c.SHA + "/" + p),
		})
	}
	for _, f := range files {
		items = append(items, s.contentJSON(r, prefix+f, tree[prefix+f], c.SHA, false))
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) contentJSON(r *http.Request, p string, e treeEntry, commit string, withContent bool) map[string]any {
	blob := s.blobs[e.SHA]
	out := map[string]any{
		"type":         "file",
		"name":         path.Base(p),
		"path":         p,
		"sha":          e.SHA,
		"size":         len(blob),
		"url":          s.apiURL(r, "contents/"+p+"?ref="+commit),
		"git_url":      s.apiURL(r, "git/blobs/"+e.SHA),
		"html_url":     s.htmlURL("blob/" + commit + "/" + p),
		"download_url": "https://raw.githubusercontent.com/" + s.owner + "/" + s.repo + "/" + commit + "/" + p,
	}
	switch {
	case withContent && len(blob) > ContentsInlineLimit:
		out["encoding"], out["content"] = "none", ""
	case withContent:
		out["encoding"] = "base64"
		out["content"] = wrap60(base64.StdEncoding.EncodeToString(blob))
	}
	return out
}

// wrap60 breaks base64 into lines of 60 characters with a trailing newline,
// as GitHub's contents API does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}
