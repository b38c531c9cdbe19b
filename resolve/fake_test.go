package resolve

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
)

// fakeGitHub is an in-memory Fetcher: files by repository, path and commit,
// refs by repository and name. It counts calls and can answer slowly.
type fakeGitHub struct {
	mu      sync.Mutex
	files   map[string][]byte // owner/repo/path@commit (owner/repo lower case)
	refs    map[string]string // owner/repo@ref → commit
	private map[string]bool   // owner/repo whose every call is ErrNotFound
	broken  map[string]bool   // owner/repo whose every call fails with a server error
	fail    map[string]error  // owner/repo whose content calls fail with this error
	delay   time.Duration

	// branches names the refs that are branches; every other ref is a tag.
	branches map[string]bool // owner/repo@name
	parents  map[string][]string
	perPage  int // branches and tags per page (default 100)
	// tagObjects are annotated tag objects by SHA: what each points to.
	tagObjects map[string]tagObject
	tagFail    error // when set, every TagObject call fails with it

	contentCalls, shaCalls, refCalls int
	log                              []string
}

func newFake() *fakeGitHub {
	return &fakeGitHub{files: map[string][]byte{}, refs: map[string]string{}, private: map[string]bool{}, broken: map[string]bool{}, fail: map[string]error{},
		branches: map[string]bool{}, parents: map[string][]string{}, perPage: 100, tagObjects: map[string]tagObject{}}
}

type tagObject struct{ object, kind string }

// annotated records an annotated tag object, as GitHub's fork network
// serves one: under every repository's name, a fork's included.
func (f *fakeGitHub) annotated(sha, object, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagObjects[sha] = tagObject{object, kind}
}

func (f *fakeGitHub) TagObject(ctx context.Context, owner, repo, sha string) (string, string, error) {
	if err := f.wait(ctx); err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refCalls++
	f.log = append(f.log, "tag object "+owner+"/"+repo+" "+sha)
	if err := f.access(owner, repo); err != nil {
		return "", "", err
	}
	if f.tagFail != nil {
		return "", "", f.tagFail
	}
	t, ok := f.tagObjects[sha]
	if !ok {
		return "", "", fmt.Errorf("GET git/tags/%s: 404: %w", sha, ErrNotFound)
	}
	return t.object, t.kind, nil
}

// peel follows tag objects to what they point to, as git does when it
// reads a tree at a tag object's SHA. Callers hold f.mu.
func (f *fakeGitHub) peel(ref string) string {
	for range 10 {
		t, ok := f.tagObjects[ref]
		if !ok {
			break
		}
		ref = t.object
	}
	return ref
}

func (f *fakeGitHub) Branches(ctx context.Context, owner, repo string, page int) ([]Ref, int, error) {
	return f.list(ctx, owner, repo, page, true)
}

func (f *fakeGitHub) Tags(ctx context.Context, owner, repo string, page int) ([]Ref, int, error) {
	return f.list(ctx, owner, repo, page, false)
}

func (f *fakeGitHub) list(ctx context.Context, owner, repo string, page int, branches bool) ([]Ref, int, error) {
	if err := f.wait(ctx); err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refCalls++
	kind := "tags"
	if branches {
		kind = "branches"
	}
	f.log = append(f.log, fmt.Sprintf("%s %s/%s page %d", kind, owner, repo, page))
	if err := f.access(owner, repo); err != nil {
		return nil, 0, err
	}
	prefix := repoKey(owner, repo) + "@"
	var all []Ref
	for k, sha := range f.refs {
		if name, ok := strings.CutPrefix(k, prefix); ok && f.branches[k] == branches {
			all = append(all, Ref{Name: name, SHA: sha})
		}
	}
	slices.SortFunc(all, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	from := (page - 1) * f.perPage
	if from >= len(all) {
		return nil, 0, nil
	}
	to := min(from+f.perPage, len(all))
	next := 0
	if to < len(all) {
		next = page + 1
	}
	return all[from:to], next, nil
}

func (f *fakeGitHub) Compare(ctx context.Context, owner, repo, base, head string) (string, error) {
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refCalls++
	f.log = append(f.log, "compare "+owner+"/"+repo+" "+base+"..."+head)
	if err := f.access(owner, repo); err != nil {
		return "", err
	}
	inBase, inHead := f.ancestors(base), f.ancestors(head)
	switch {
	case base == head:
		return "identical", nil
	case inBase[head]:
		return "behind", nil
	case inHead[base]:
		return "ahead", nil
	}
	for c := range inBase {
		if inHead[c] {
			return "diverged", nil
		}
	}
	return "", fmt.Errorf("GET compare %s...%s: 404: %w", base, head, ErrNotFound)
}

// ancestors returns sha and every commit in its history.
func (f *fakeGitHub) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	for todo := []string{sha}; len(todo) > 0; {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if !seen[c] {
			seen[c] = true
			todo = append(todo, f.parents[c]...)
		}
	}
	return seen
}

// commit records a commit and its parents.
func (f *fakeGitHub) commit(sha string, parents ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parents[sha] = parents
}

// branch points a branch of owner/repo at a commit.
func (f *fakeGitHub) branch(repo, name, sha string) {
	f.tag(repo, name, sha)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.branches[strings.ToLower(repo)+"@"+name] = true
}

func (f *fakeGitHub) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contentCalls++
	f.log = append(f.log, "content "+owner+"/"+repo+"/"+path+"@"+ref)
	if err := f.access(owner, repo); err != nil {
		return nil, err
	}
	if err := f.fail[repoKey(owner, repo)]; err != nil {
		return nil, err
	}
	if sha, ok := f.refs[repoKey(owner, repo)+"@"+ref]; ok {
		ref = sha
	}
	ref = f.peel(ref)
	b, ok := f.files[repoKey(owner, repo)+"/"+path+"@"+ref]
	if !ok {
		return nil, fmt.Errorf("GET contents %s/%s/%s: 404: %w", owner, repo, path, ErrNotFound)
	}
	return b, nil
}

func (f *fakeGitHub) CommitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shaCalls++
	f.log = append(f.log, "sha "+owner+"/"+repo+"@"+ref)
	if err := f.access(owner, repo); err != nil {
		return "", err
	}
	sha, ok := f.refs[repoKey(owner, repo)+"@"+ref]
	if !ok {
		return "", fmt.Errorf("GET commits %s/%s@%s: 404: %w", owner, repo, ref, ErrNotFound)
	}
	return sha, nil
}

func (f *fakeGitHub) wait(ctx context.Context) error {
	if f.delay == 0 {
		return ctx.Err()
	}
	select {
	case <-time.After(f.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeGitHub) access(owner, repo string) error {
	switch {
	case f.private[repoKey(owner, repo)]:
		return fmt.Errorf("%s/%s: 404: %w", owner, repo, ErrNotFound)
	case f.broken[repoKey(owner, repo)]:
		return errors.New("502 Bad Gateway")
	}
	return nil
}

// calls returns the number of calls so far.
func (f *fakeGitHub) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contentCalls + f.shaCalls + f.refCalls
}

// tag points owner/repo@ref at a commit.
func (f *fakeGitHub) tag(repo, ref, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs[strings.ToLower(repo)+"@"+ref] = sha
}

// file stores content at owner/repo/path@commit.
func (f *fakeGitHub) file(repo, path, sha string, content []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[strings.ToLower(repo)+"/"+path+"@"+sha] = content
}

// action publishes an action: "owner/repo[/dir]@ref" gets a commit derived
// from the reference (unless ref is already a SHA) and its metadata file.
func (f *fakeGitHub) action(ref string, metadata []byte) string {
	return f.publish(ref, "action.yml", metadata)
}

func (f *fakeGitHub) publish(ref, file string, content []byte) string {
	name, at, _ := strings.Cut(ref, "@")
	parts := strings.SplitN(name, "/", 3)
	repo := parts[0] + "/" + parts[1]
	dir := ""
	if len(parts) == 3 {
		dir = parts[2]
	}
	sha := at
	if !input.IsFullSHA(at) {
		sha = fakeSHA(repo + "@" + at)
		f.tag(repo, at, sha)
	}
	p := file
	if dir != "" {
		p = dir + "/" + file
	}
	f.file(repo, p, sha, content)
	return sha
}

// node publishes JavaScript actions, which use nothing further.
func (f *fakeGitHub) node(refs ...string) {
	for _, r := range refs {
		f.action(r, []byte("name: x\nruns:\n  using: node20\n  main: index.js\n"))
	}
}

// composite returns the metadata of a composite action whose steps use refs.
func composite(refs ...string) []byte {
	var b strings.Builder
	b.WriteString("name: c\nruns:\n  using: composite\n  steps:\n")
	for _, r := range refs {
		fmt.Fprintf(&b, "    - uses: %s\n", r)
	}
	return []byte(b.String())
}

// fakeSHA derives a stable 40-hex commit from a name ("owner/repo@tag").
func fakeSHA(name string) string {
	sum := sha1.Sum([]byte(name))
	return hex.EncodeToString(sum[:])
}

// corpus reads a file of the repository's test corpus.
func corpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "test", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
