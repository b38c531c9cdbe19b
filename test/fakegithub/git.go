package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The fake's git data: branches and tags per repository, a commit graph,
// and fork networks. Like GitHub, a repository serves every commit of its
// fork network under its own name (GET /repos/{o}/{r}/commits/{sha}, the
// contents at that sha, compare): the property impostor commits abuse.

// SetBranch points a branch of repo at sha.
func (s *Server) SetBranch(repo, name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs[fileKey{repo: repo, ref: name}] = sha
	s.refKind[fileKey{repo: strings.ToLower(repo), ref: name}] = "branch"
}

// SetTag points a tag of repo at sha (a lightweight tag).
func (s *Server) SetTag(repo, name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs[fileKey{repo: repo, ref: name}] = sha
	s.refKind[fileKey{repo: strings.ToLower(repo), ref: name}] = "tag"
}

// tagObject is an annotated tag object: the object it points to and
// that object's type (commit or tag), pushed to repo (lower case).
type tagObject struct {
	repo, name, object, kind string
}

// AddTagObject records an annotated tag object named name, pushed to repo,
// pointing to object of kind (commit, tag, tree or blob), and returns its
// SHA (git's, over a fixed tagger). Like GitHub, every repository of repo's
// fork network serves it: GET /repos/{o}/{r}/git/tags/{sha}, and contents
// and commits at its SHA read the commit it leads to. The tag ref is
// SetTag's, pointing at the commit, as GET /tags lists an annotated tag.
func (s *Server) AddTagObject(repo, name, object, kind string) string {
	body := fmt.Sprintf("object %s\ntype %s\ntag %s\ntagger Monalisa Octocat <octocat@github.com> 1700000000 +0000\n\n%s\n", object, kind, name, name)
	sum := sha1.Sum([]byte(fmt.Sprintf("tag %d\x00%s", len(body), body)))
	sha := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tagObjects[sha] = tagObject{repo: strings.ToLower(repo), name: name, object: object, kind: kind}
	return sha
}

// tagObjectOf returns the tag object sha names when repo's network holds
// it. Callers hold s.mu.
func (s *Server) tagObjectOf(repo, sha string) (tagObject, bool) {
	t, ok := s.tagObjects[strings.ToLower(sha)]
	return t, ok && s.network(t.repo) == s.network(repo)
}

// peel follows the tag objects of repo's network from ref to what they
// point to, as git resolves a ref. Callers hold s.mu.
func (s *Server) peel(repo, ref string) string {
	for range 10 {
		t, ok := s.tagObjectOf(repo, ref)
		if !ok {
			break
		}
		ref = t.object
	}
	return ref
}

// getTag answers GET /repos/{o}/{r}/git/tags/{tag_sha}: the tag object
// with what it points to; 404 when sha is no tag object of the network (a
// commit, a tree, nothing).
func (s *Server) getTag(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	repo, sha := repoOf(r), r.PathValue("sha")
	s.mu.Lock()
	t, ok := s.tagObjectOf(repo, sha)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/tags#get-a-tag")
		return
	}
	sha = strings.ToLower(sha)
	objectPath := map[string]string{"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[t.kind]
	writeJSON(w, http.StatusOK, map[string]any{
		"node_id": "TA_" + sha[:12],
		"tag":     t.name,
		"sha":     sha,
		"url":     fmt.Sprintf("%s/repos/%s/git/tags/%s", s.URL(), repo, sha),
		"message": t.name + "\n",
		"tagger":  map[string]any{"name": "Monalisa Octocat", "email": "octocat@github.com", "date": "2023-11-14T22:13:20Z"},
		"object": map[string]any{"sha": t.object, "type": t.kind,
			"url": fmt.Sprintf("%s/repos/%s/git/%s/%s", s.URL(), repo, objectPath, t.object)},
		"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
	})
}

// AddCommit records a commit pushed to repo and its parents.
func (s *Server) AddCommit(repo, sha string, parents ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parents[sha] = parents
	s.commitRepo[sha] = strings.ToLower(repo)
}

// AddFork makes fork a fork of parent: both share one network of commits.
func (s *Server) AddFork(fork, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forkOf[strings.ToLower(fork)] = strings.ToLower(parent)
}

// network is the root repository of repo's fork network. Callers hold s.mu.
func (s *Server) network(repo string) string {
	repo = strings.ToLower(repo)
	for i := 0; i < 100; i++ {
		parent, ok := s.forkOf[repo]
		if !ok {
			break
		}
		repo = parent
	}
	return repo
}

// visible reports whether commit sha can be read through repo: it was
// pushed to a repository of the same network. Callers hold s.mu.
func (s *Server) visible(repo, sha string) bool {
	owner, ok := s.commitRepo[sha]
	return ok && s.network(owner) == s.network(repo)
}

// refsOf lists repo's branches or tags by name. Callers hold s.mu.
func (s *Server) refsOf(repo, kind string) []map[string]any {
	var names []string
	shas := map[string]string{}
	for k, sha := range s.refs {
		if strings.EqualFold(k.repo, repo) && k.path == "" && s.refKind[fileKey{repo: strings.ToLower(k.repo), ref: k.ref}] == kind {
			names = append(names, k.ref)
			shas[k.ref] = sha
		}
	}
	slices.Sort(names)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "sha": shas[n]})
	}
	return out
}

// known reports whether the fake has anything of repo. Callers hold s.mu.
func (s *Server) known(repo string) bool {
	repo = strings.ToLower(repo)
	for k := range s.refKind {
		if k.repo == repo {
			return true
		}
	}
	if _, ok := s.forkOf[repo]; ok {
		return true
	}
	for _, r := range s.commitRepo {
		if r == repo {
			return true
		}
	}
	return false
}

// listRefs answers GET /repos/{o}/{r}/branches and /tags: pages of
// per_page (default 30, at most 100) with GitHub's Link header.
func (s *Server) listRefs(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.requireToken(w, r) {
			return
		}
		repo := repoOf(r)
		s.mu.Lock()
		known, all := s.known(repo), s.refsOf(repo, kind)
		s.mu.Unlock()
		if !known {
			doc := "https://docs.github.com/rest/branches/branches#list-branches"
			if kind == "tag" {
				doc = "https://docs.github.com/rest/repos/repos#list-repository-tags"
			}
			writeError(w, http.StatusNotFound, "Not Found", doc)
			return
		}
		perPage, page := 30, 1
		if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 {
			perPage = min(n, 100)
		}
		if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 0 {
			page = n
		}
		last := max((len(all)+perPage-1)/perPage, 1)
		from, to := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
		body := make([]map[string]any, 0, to-from)
		for _, ref := range all[from:to] {
			sha := ref["sha"].(string)
			commit := map[string]any{"sha": sha, "url": fmt.Sprintf("%s/repos/%s/commits/%s", s.URL(), repo, sha)}
			if kind == "branch" {
				body = append(body, map[string]any{"name": ref["name"], "commit": commit, "protected": false})
			} else {
				body = append(body, map[string]any{"name": ref["name"], "commit": commit,
					"zipball_url": fmt.Sprintf("%s/repos/%s/zipball/refs/tags/%s", s.URL(), repo, ref["name"]),
					"tarball_url": fmt.Sprintf("%s/repos/%s/tarball/refs/tags/%s", s.URL(), repo, ref["name"]),
					"node_id":     "REF_" + sha[:8]})
			}
		}
		if links := pageLinks(s.URL()+r.URL.Path, r.URL.Query(), page, last); links != "" {
			w.Header().Set("Link", links)
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// pageLinks is GitHub's Link header for page of last.
func pageLinks(base string, q url.Values, page, last int) string {
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf("<%s?%s>; rel=%q", base, q.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(page-1, "prev"), link(1, "first"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	return strings.Join(parts, ", ")
}

// resolveRef turns a branch, tag or commit SHA into a commit of repo's
// network. Callers hold s.mu.
func (s *Server) resolveRef(repo, ref string) (string, bool) {
	if sha, ok := s.refs[fileKey{repo: repo, ref: ref}]; ok {
		return sha, true
	}
	if s.visible(repo, ref) {
		return ref, true
	}
	return "", false
}

// ancestors is sha and its whole history. Callers hold s.mu.
func (s *Server) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	for todo := []string{sha}; len(todo) > 0; {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if !seen[c] {
			seen[c] = true
			todo = append(todo, s.parents[c]...)
		}
	}
	return seen
}

// compare answers GET /repos/{o}/{r}/compare/{base}...{head}: status
// ahead, behind, identical or diverged with ahead_by and behind_by; 404
// when a side is unknown or the two share no history.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	const doc = "https://docs.github.com/rest/commits/commits#compare-two-commits"
	repo := repoOf(r)
	base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	s.mu.Lock()
	baseSHA, okBase := s.resolveRef(repo, base)
	headSHA, okHead := s.resolveRef(repo, head)
	var inBase, inHead map[string]bool
	if okBase && okHead {
		inBase, inHead = s.ancestors(baseSHA), s.ancestors(headSHA)
	}
	s.mu.Unlock()
	if !okBase || !okHead {
		writeError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	var ahead, behind, common []string
	for c := range inHead {
		if !inBase[c] {
			ahead = append(ahead, c)
		}
	}
	for c := range inBase {
		if !inHead[c] {
			behind = append(behind, c)
		} else {
			common = append(common, c)
		}
	}
	// The merge base is the common commit no other common commit descends from.
	s.mu.Lock()
	mergeBase := ""
	for _, c := range common {
		best := true
		for _, d := range common {
			if d != c && s.ancestors(d)[c] {
				best = false
				break
			}
		}
		if best && (mergeBase == "" || c < mergeBase) {
			mergeBase = c
		}
	}
	s.mu.Unlock()
	if mergeBase == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", base, head), doc)
		return
	}
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(ahead) == 0:
		status = "behind"
	case len(behind) == 0:
		status = "ahead"
	}
	slices.Sort(ahead)
	perPage := 250
	if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 250)
	}
	commits := []map[string]any{}
	for _, c := range ahead[:min(perPage, len(ahead))] {
		commits = append(commits, map[string]any{"sha": c})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":               fmt.Sprintf("%s/repos/%s/compare/%s...%s", s.URL(), repo, base, head),
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         len(behind),
		"total_commits":     len(ahead),
		"base_commit":       map[string]any{"sha": baseSHA},
		"merge_base_commit": map[string]any{"sha": mergeBase},
		"commits":           commits,
		"files":             []any{},
	})
}
