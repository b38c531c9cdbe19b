package test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runpolicy/runpolicy/internal/gittest"
)

// policyRepo is a git repository of policies on disk, served over
// loopback by git's smart HTTP protocol (gittest.Handler, as in bundles'
// tests): a git bundle source the server fetches like any other.
type policyRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
	srv  *httptest.Server
}

func newPolicyRepo(t *testing.T) *policyRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &policyRepo{t: t, dir: dir, repo: repo}
	p.srv = httptest.NewServer(gittest.Handler(dir, nil))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the repository's clone URL.
func (p *policyRepo) URL() string { return p.srv.URL + "/policies.git" }

// commit writes files and commits them on branch, creating the branch
// from HEAD when it does not exist yet.
func (p *policyRepo) commit(branch string, files map[string]string) {
	p.t.Helper()
	wt, err := p.repo.Worktree()
	if err != nil {
		p.t.Fatal(err)
	}
	if head, err := p.repo.Head(); err == nil && head.Name().Short() != branch {
		ref := plumbing.NewBranchReferenceName(branch)
		_, err := p.repo.Reference(ref, false)
		if err := wt.Checkout(&git.CheckoutOptions{Branch: ref, Create: err != nil}); err != nil {
			p.t.Fatalf("checkout %s: %v", branch, err)
		}
	}
	for name, content := range files {
		path := filepath.Join(p.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			p.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		p.t.Fatal(err)
	}
	if _, err := wt.Commit("policies on "+branch, &git.CommitOptions{
		Author: &object.Signature{Name: "Security Team", Email: "security@example.com", When: time.Now()},
	}); err != nil {
		p.t.Fatal(err)
	}
}
