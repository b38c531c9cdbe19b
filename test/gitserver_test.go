package test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// policyRepo is a git repository of policies on disk, served over
// loopback by git's smart HTTP protocol (go-git's own server, as in
// bundles' tests): a git bundle source the server fetches like any other.
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
	p.srv = httptest.NewServer(gitHandler(dir))
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

type dirLoader string

// Load opens the repository afresh for every request, so new commits show.
func (d dirLoader) Load(*transport.Endpoint) (storer.Storer, error) {
	r, err := git.PlainOpen(string(d))
	if err != nil {
		return nil, err
	}
	return r.Storer, nil
}

// gitHandler answers git's smart HTTP protocol, upload-pack only.
func gitHandler(dir string) http.Handler {
	srv := server.NewServer(dirLoader(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, _ := transport.NewEndpoint("http://" + r.Host + "/policies.git")
		sess, err := srv.NewUploadPackSession(ep, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			if r.URL.Query().Get("service") != transport.UploadPackServiceName {
				http.Error(w, "only upload-pack", http.StatusForbidden)
				return
			}
			ar, err := sess.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			_ = ar.Encode(w)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			req := packp.NewUploadPackRequest()
			if err := req.Decode(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := sess.UploadPack(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			_ = resp.Encode(w)
		default:
			http.NotFound(w, r)
		}
	})
}
