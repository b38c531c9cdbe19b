// Package resolve follows the action and reusable workflow references of an
// input document to the code they really run. A composite action is a list
// of further actions; a reusable workflow is a list of further jobs; a tag
// is a movable name for a commit. Policies that judge only the references
// written in the workflow file miss what hides behind them, so the resolver
// fetches each action's metadata and each called workflow through a
// Fetcher (the GitHub API in the server), adds what they use to the
// document with the chain that led there, and records the commit every tag
// points to now.
//
// Content at a commit cannot change, so it is cached forever (in a bounded
// LRU); what a tag points to is looked up for every run, except for the
// trusted owners' tags, which are cached for a short TTL. A reference
// pinned to a commit SHA is checked to be on a branch or tag of the
// repository it names (an impostor commit from a fork is not). One
// Resolver is shared by every run.
package resolve

import (
	"context"
	"errors"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/runpolicy/runpolicy/engine/input"
)

// ErrNotFound is what a Fetcher returns (wrapped or not) when a file, a ref
// or a whole repository does not exist or is not visible to it (private).
var ErrNotFound = errors.New("not found")

// ErrAuth is what a Fetcher returns (wrapped) when its own credentials are
// refused: no reference can be read, so Resolve fails rather than marking
// every reference unresolved.
var ErrAuth = errors.New("credentials refused")

// Fetcher reads repositories. Implementations must be safe for concurrent use.
type Fetcher interface {
	// Content returns the bytes of the file at path in owner/repo at ref (a
	// commit SHA, tag or branch).
	Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	// CommitSHA returns the full commit SHA that ref (a tag or branch) points to now.
	CommitSHA(ctx context.Context, owner, repo, ref string) (string, error)
}

// Resolver expands input documents. It is safe for concurrent use; its
// caches are shared by every call to Resolve.
type Resolver struct {
	fetch Fetcher
	cfg   config

	// actions and workflows hold what was read at a commit SHA, keyed by
	// repository, path and SHA. Entries never go stale, only out of the LRU.
	actions   *lru.Cache[string, *actionMeta]
	workflows *lru.Cache[string, *input.Facts]
	// tags maps a trusted owner's owner/repo@ref to the commit it pointed
	// to when looked up.
	tags *lru.Cache[string, answer]
	// missing holds the files found missing at a commit SHA, keyed
	// "action …" or "workflow …": the content cannot appear there, but
	// access can (a private repository made public, or shared with the
	// App), so they are asked about again after the TTL rather than never.
	missing *lru.Cache[string, answer]
	// bases holds the digests of the default branch's copies of local
	// callees, keyed by repository, path and the branch's commit SHA (a
	// missing copy as notFound): they cannot change either.
	bases *lru.Cache[string, answer]
	// verified holds the pinned commits found on a branch or tag, keyed
	// owner/repo@sha: reachable once, reachable for good, so kept until
	// the LRU pushes them out (then checked again). The value is the
	// commit an annotated tag object points to, "" for a commit.
	verified *lru.Cache[string, string]
	// inflight bounds the Fetcher calls of all runs together, so that many
	// runs at once stay below GitHub's limit on concurrent requests.
	inflight chan struct{}

	now   func() time.Time
	parse func(path string, src []byte) (*input.Facts, error)
}

// answer is what GitHub said about a tag or a file, kept for the tag TTL;
// notFound caches a missing one, so that a deleted tag or file used by many
// runs is asked about once.
type answer struct {
	sha      string
	notFound bool
	expires  time.Time
}

// New returns a Resolver that reads through f.
func New(f Fetcher, opts ...Option) *Resolver {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	actions, _ := lru.New[string, *actionMeta](cfg.cacheSize)
	workflows, _ := lru.New[string, *input.Facts](cfg.cacheSize)
	tags, _ := lru.New[string, answer](cfg.tagCacheSize)
	missing, _ := lru.New[string, answer](cfg.tagCacheSize)
	bases, _ := lru.New[string, answer](cfg.cacheSize)
	verified, _ := lru.New[string, string](cfg.cacheSize)
	return &Resolver{
		fetch:     f,
		cfg:       cfg,
		actions:   actions,
		workflows: workflows,
		tags:      tags,
		missing:   missing,
		bases:     bases,
		verified:  verified,
		inflight:  make(chan struct{}, cfg.maxInFlight),
		now:       time.Now,
		parse:     input.Parse,
	}
}

// Resolve returns a copy of doc whose Uses also hold every reference reached
// through composite actions and reusable workflows (Via set), whose tag
// references carry ResolvedSHA, and whose Resolution says how far the
// resolver got. doc itself, and the Facts it shares, are not modified.
//
// A reference that cannot be followed (not found, private, invalid file, a
// limit) gets Use.Unresolved and makes the resolution incomplete; it is not
// an error, and neither is any other Fetcher failure (too large, rate
// limit, server error): block_unresolved policies can deny what was not
// looked into. Resolve fails only when the context ends or the Fetcher's
// credentials are refused (ErrAuth).
func (r *Resolver) Resolve(ctx context.Context, doc *input.Document) (*input.Document, error) {
	out := *doc
	out.Uses = make([]input.Use, len(doc.Uses), len(doc.Uses)+len(doc.Uses)/2+8)
	copy(out.Uses, doc.Uses)
	// Resolving may add to the modified files: not to doc's.
	out.Workflow.ModifiedFiles = append(make([]input.ModifiedFile, 0, len(doc.Workflow.ModifiedFiles)), doc.Workflow.ModifiedFiles...)
	w := newWalk(r, &out)
	if err := w.run(ctx); err != nil {
		return nil, err
	}
	out.Resolution = w.resolution()
	return &out, nil
}

// repoKey is the case-insensitive name of a repository, as GitHub treats it.
func repoKey(owner, repo string) string {
	return strings.ToLower(owner) + "/" + strings.ToLower(repo)
}

// recall returns the answer cached under key in c while it is fresh.
func (r *Resolver) recall(c *lru.Cache[string, answer], key string) (answer, bool) {
	e, ok := c.Get(key)
	if !ok || !r.now().Before(e.expires) {
		return answer{}, false
	}
	return e, true
}

// remember caches an answer under key in c for the tag TTL.
func (r *Resolver) remember(c *lru.Cache[string, answer], key, sha string, notFound bool) {
	c.Add(key, answer{sha: sha, notFound: notFound, expires: r.now().Add(r.cfg.tagTTL)})
}
