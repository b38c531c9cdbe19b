package resolve

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitHub is an in-memory Fetcher: files by repository, path and commit,
// refs by repository and name. It counts calls and can answer slowly.
type fakeGitHub struct {
	mu      sync.Mutex
	files   map[string][]byte // owner/repo/path@commit (owner/repo lower case)
	refs    map[string]string // owner/repo@ref → commit
	private map[string]bool   // owner/repo whose every call is ErrNotFound
	broken  map[string]bool   // owner/repo whose every call fails with a server error
	delay   time.Duration

	contentCalls, shaCalls int
	log                    []string
}

func newFake() *fakeGitHub {
	return &fakeGitHub{files: map[string][]byte{}, refs: map[string]string{}, private: map[string]bool{}, broken: map[string]bool{}}
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
	if sha, ok := f.refs[repoKey(owner, repo)+"@"+ref]; ok {
		ref = sha
	}
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
	return f.contentCalls + f.shaCalls
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
	if !isFullSHA(at) {
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
	b, err := os.ReadFile(filepath.Join("..", "..", "test", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
