package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/internal/bounded"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/resolve"
)

// resolveFlags are the flags that say where eval and input read what a
// workflow runs: the repository's own actions and reusable workflows (./
// and $/) from the checkout, always; other repositories and tags through
// the GitHub API with --resolve.
type resolveFlags struct {
	enabled     bool
	token       string
	apiURL      string
	repoRoot    string
	commitCalls int
}

func (r *resolveFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&r.enabled, "resolve", false, "follow composite actions, reusable workflows and tags of other repositories through the GitHub API")
	fs.StringVar(&r.token, "github-token", os.Getenv("GITHUB_TOKEN"), "GitHub `TOKEN` for --resolve (default $GITHUB_TOKEN; public repositories work without one, rate-limited)")
	apiURL := os.Getenv("GITHUB_API_URL")
	if apiURL == "" {
		apiURL = github.DefaultAPIURL
	}
	fs.StringVar(&r.apiURL, "github-api-url", apiURL, "GitHub REST API `URL` (GitHub Enterprise Server: https://HOST/api/v3)")
	fs.IntVar(&r.commitCalls, "resolve-max-commit-calls", resolve.DefaultMaxCommitCalls, "API `CALLS` one impostor-commit check may make before it reports the commit unverified")
	fs.StringVar(&r.repoRoot, "repo-root", "", "the checkout `DIR` that ./ and $/ references are read from (default: the git top level of the workflow file)")
}

// resolver reads the repository's own references from the checkout; with
// --resolve, everything else through the GitHub API, and without it nothing
// else, as if there were no resolver.
func (r *resolveFlags) resolver() (*resolve.Resolver, error) {
	if !r.enabled {
		return resolve.New(checkoutFetcher{}, resolve.WithLocalOnly()), nil
	}
	client, err := github.NewTokenClient(r.apiURL, r.token)
	if err != nil {
		return nil, err
	}
	return resolve.New(checkoutFetcher{remote: client}, resolve.WithMaxCommitCalls(r.commitCalls)), nil
}

// checkoutFetcher serves the run's own repository from the checkout that
// holds the workflow: the working tree at the ref the resolver reads local
// references at (head_sha of --event, else HEAD), and other commits of the
// repository (the default branch's copies that local callees are compared
// with) from its git objects. Other repositories go to remote, or are not
// found without one.
type checkoutFetcher struct {
	remote resolve.RefFetcher
}

// checkoutKey is the ctx key of the *checkout of the document being resolved.
type checkoutKey struct{}

// checkout is the repository on disk a document's local references are read from.
type checkout struct {
	root        string // working tree
	owner, repo string // the document's repository
	ref         string // the ref the resolver reads the working tree at

	once sync.Once
	git  *git.Repository // nil when root is no git repository
}

func (c *checkout) is(owner, repo string) bool {
	return strings.EqualFold(owner, c.owner) && strings.EqualFold(repo, c.repo)
}

func (c *checkout) repository() *git.Repository {
	c.once.Do(func() {
		c.git, _ = git.PlainOpenWithOptions(c.root, &git.PlainOpenOptions{DetectDotGit: true})
	})
	return c.git
}

func (f checkoutFetcher) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	c, ok := ctx.Value(checkoutKey{}).(*checkout)
	switch {
	case ok && c.is(owner, repo) && ref == c.ref:
		return c.workingTree(path)
	case ok && c.is(owner, repo):
		return c.atCommit(path, ref)
	case f.remote != nil:
		return f.remote.Content(ctx, owner, repo, path, ref)
	}
	return nil, fmt.Errorf("%s/%s/%s@%s: not read without --resolve: %w", owner, repo, path, ref, resolve.ErrNotFound)
}

func (f checkoutFetcher) CommitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	c, ok := ctx.Value(checkoutKey{}).(*checkout)
	switch {
	case ok && c.is(owner, repo):
		return c.commit(ref)
	case f.remote != nil:
		return f.remote.CommitSHA(ctx, owner, repo, ref)
	}
	return "", fmt.Errorf("%s/%s@%s: not looked up without --resolve: %w", owner, repo, ref, resolve.ErrNotFound)
}

// Branches, Tags, Compare and TagObject serve the impostor-commit check, which only
// other repositories need: the checkout's own commits are what runs.
func (f checkoutFetcher) Branches(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	if f.remote == nil || f.own(ctx, owner, repo) {
		return nil, 0, fmt.Errorf("%s/%s branches: not listed from the checkout: %w", owner, repo, resolve.ErrNotFound)
	}
	return f.remote.Branches(ctx, owner, repo, page)
}

func (f checkoutFetcher) Tags(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	if f.remote == nil || f.own(ctx, owner, repo) {
		return nil, 0, fmt.Errorf("%s/%s tags: not listed from the checkout: %w", owner, repo, resolve.ErrNotFound)
	}
	return f.remote.Tags(ctx, owner, repo, page)
}

func (f checkoutFetcher) Compare(ctx context.Context, owner, repo, base, head string) (string, error) {
	if f.remote == nil || f.own(ctx, owner, repo) {
		return "", fmt.Errorf("%s/%s compare: not compared in the checkout: %w", owner, repo, resolve.ErrNotFound)
	}
	return f.remote.Compare(ctx, owner, repo, base, head)
}

func (f checkoutFetcher) TagObject(ctx context.Context, owner, repo, sha string) (string, string, error) {
	if f.remote == nil || f.own(ctx, owner, repo) {
		return "", "", fmt.Errorf("%s/%s tag object %s: not read from the checkout: %w", owner, repo, sha, resolve.ErrNotFound)
	}
	return f.remote.TagObject(ctx, owner, repo, sha)
}

func (f checkoutFetcher) own(ctx context.Context, owner, repo string) bool {
	c, ok := ctx.Value(checkoutKey{}).(*checkout)
	return ok && c.is(owner, repo)
}

// workingTree reads a file of the checkout, confined to it (a symbolic link
// out of the repository is not followed) and bounded as the server's GitHub
// client bounds a file; the resolver applies its own, smaller limit to what
// it parses.
func (c *checkout) workingTree(path string) ([]byte, error) {
	root, err := os.OpenRoot(c.root)
	if err != nil {
		return nil, fmt.Errorf("repository root %s: %w", c.root, err)
	}
	defer root.Close()
	file, err := root.Open(filepath.FromSlash(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s in %s: %w", path, c.root, resolve.ErrNotFound)
	}
	if err != nil {
		if strings.Contains(err.Error(), "escapes") {
			return nil, fmt.Errorf("%s in %s: a link out of the repository: %w", path, c.root, resolve.ErrNotFound)
		}
		return nil, fmt.Errorf("%s in %s: %w", path, c.root, err)
	}
	defer file.Close()
	if info, err := file.Stat(); err == nil && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in %s: not a regular file: %w", path, c.root, resolve.ErrNotFound)
	}
	b, err := bounded.ReadAll(file, github.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", path, c.root, err)
	}
	return b, nil
}

// commit resolves a branch, tag or commit of the checkout's git repository;
// a branch is looked for locally, then as origin's.
func (c *checkout) commit(ref string) (string, error) {
	r := c.repository()
	if r == nil {
		return "", fmt.Errorf("%s@%s: %s is not a git repository: %w", c.owner+"/"+c.repo, ref, c.root, resolve.ErrNotFound)
	}
	for _, name := range []string{"refs/heads/" + ref, "refs/remotes/origin/" + ref, "refs/tags/" + ref, ref} {
		h, err := r.ResolveRevision(plumbing.Revision(name))
		if err == nil {
			return h.String(), nil
		}
	}
	return "", fmt.Errorf("%s@%s: no such branch, tag or commit in %s: %w", c.owner+"/"+c.repo, ref, c.root, resolve.ErrNotFound)
}

// atCommit reads a file at a commit of the checkout's git repository.
func (c *checkout) atCommit(path, ref string) ([]byte, error) {
	sha, err := c.commit(ref)
	if err != nil {
		return nil, err
	}
	commit, err := c.repository().CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return nil, fmt.Errorf("%s@%s in %s: %w", path, ref, c.root, resolve.ErrNotFound)
	}
	file, err := commit.File(path)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, fmt.Errorf("%s@%s in %s: %w", path, ref, c.root, resolve.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s@%s in %s: %w", path, ref, c.root, err)
	}
	if file.Size > github.MaxFileSize {
		return nil, fmt.Errorf("%s@%s in %s: %d bytes, more than the %d allowed", path, ref, c.root, file.Size, github.MaxFileSize)
	}
	s, err := file.Contents()
	if err != nil {
		return nil, fmt.Errorf("%s@%s in %s: %w", path, ref, c.root, err)
	}
	return []byte(s), nil
}

// resolveDocument follows the document's references, its own from the
// checkout. Without --resolve a document with no local reference is left as
// it is.
func resolveDocument(ctx context.Context, r *resolve.Resolver, doc *input.Document, workflowPath, repoRoot string, remote bool) (*input.Document, error) {
	if !remote && !hasLocal(doc) {
		return doc, nil
	}
	if repoRoot == "" {
		repoRoot = findRepoRoot(workflowPath)
	}
	ref := doc.Run.HeadSHA
	if ref == "" {
		ref = "HEAD" // as the resolver asks for the working tree when there is no commit
	}
	ctx = context.WithValue(ctx, checkoutKey{}, &checkout{root: repoRoot, owner: doc.Repository.Owner, repo: doc.Repository.Name, ref: ref})
	out, err := r.Resolve(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("%s: resolve: %s", workflowPath, oneline.Error(err))
	}
	return out, nil
}

// hasLocal reports whether the document uses a path of its own repository.
func hasLocal(doc *input.Document) bool {
	for _, u := range doc.Uses {
		if u.Kind == input.KindLocal { // ./ and $/ alike (ParseUses)
			return true
		}
	}
	return false
}

// findRepoRoot is the git top level of the workflow file; outside git, the
// folder that holds its .github folder, or the current directory.
func findRepoRoot(workflowPath string) string {
	abs, err := filepath.Abs(workflowPath)
	if err != nil {
		return "."
	}
	if r, err := git.PlainOpenWithOptions(filepath.Dir(abs), &git.PlainOpenOptions{DetectDotGit: true}); err == nil {
		if wt, err := r.Worktree(); err == nil {
			return wt.Filesystem.Root()
		}
	}
	for dir := filepath.Dir(abs); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if filepath.Base(dir) == ".github" {
			return filepath.Dir(dir)
		}
	}
	return "."
}
