package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Ref is a branch or a tag and the commit it points to.
type Ref struct {
	Name string
	SHA  string
}

// RefFetcher is a Fetcher that can also tell whether a commit belongs to a
// repository, through GitHub's branch, tag, compare and tag object
// endpoints. Without it every SHA-pinned reference is reported unverified.
type RefFetcher interface {
	Fetcher
	// Branches returns one page (from 1) of owner/repo's branches and the
	// number of the next page, 0 after the last.
	Branches(ctx context.Context, owner, repo string, page int) ([]Ref, int, error)
	// Tags returns one page of owner/repo's tags, each with the commit it
	// points to (an annotated tag peeled), and the next page, 0 after the last.
	Tags(ctx context.Context, owner, repo string, page int) ([]Ref, int, error)
	// Compare returns GitHub's status of head against base (ahead, behind,
	// identical or diverged); ErrNotFound when they share no history.
	Compare(ctx context.Context, owner, repo, base, head string) (string, error)
	// TagObject returns the object an annotated tag object points to, its
	// SHA and type (commit, tag, tree or blob); ErrNotFound when sha is no
	// tag object of owner/repo's network.
	TagObject(ctx context.Context, owner, repo, sha string) (object, kind string, err error)
}

// maxTagDepth is how many annotated tag objects the check follows to a
// commit (git allows a tag of a tag; one is the usual case).
const maxTagDepth = 3

// commitVerdict is what the impostor check found about one pinned commit:
// impostor set when it concluded, unverified saying why it did not; commit
// is the commit an annotated tag object pinned instead of a commit points
// to, when it was one.
type commitVerdict struct {
	impostor   *bool
	unverified string
	commit     string
}

func reachable(commit string) commitVerdict {
	return commitVerdict{impostor: new(bool), commit: commit}
}

func impostor(commit string) commitVerdict {
	b := true
	return commitVerdict{impostor: &b, commit: commit}
}

// pinnedSHA returns the commit a remote reference is pinned to, in lower
// case, when its ref is a full SHA in any case.
func pinnedSHA(t target) (string, bool) {
	if t.local || t.invalid != "" || t.kind == targetNone || len(t.ref) != 40 {
		return "", false
	}
	sha := strings.ToLower(t.ref)
	return sha, input.IsFullSHA(sha)
}

// verifyCommit tells whether sha is reachable from a branch or a tag of
// owner/repo. GitHub serves a commit of any fork under the parent's name
// (owner/repo@<fork sha> runs the fork's code): an "impostor commit", the
// technique of the tj-actions, reviewdog and trivy compromises. A commit
// found reachable is remembered in an LRU cache (history only grows, and a
// force-push that drops it leaves it in the history of no tag only when
// someone rewrites the repository), and checked again once pushed out; an
// impostor or unverified verdict is checked again on the next run.
func (w *walk) verifyCommit(ctx context.Context, owner, repo, sha string) commitVerdict {
	f, ok := w.r.fetch.(RefFetcher)
	if !ok {
		return commitVerdict{unverified: "this resolver cannot list branches and tags"}
	}
	key := repoKey(owner, repo) + "@" + sha
	if commit, ok := w.r.verified.Get(key); ok {
		return reachable(commit)
	}
	v, _ := w.calls.do("commit "+key, func() (any, error) {
		s := &commitSearch{w: w, f: f, owner: owner, repo: repo, budget: w.r.cfg.maxCommitCalls}
		v := s.check(ctx, sha)
		if v.impostor != nil && !*v.impostor {
			w.r.verified.Add(key, v.commit)
			if v.commit != "" {
				w.r.verified.Add(repoKey(owner, repo)+"@"+v.commit, "")
			}
		}
		return v, nil
	})
	return v.(commitVerdict)
}

// commitSearch is one impostor check, within its own cap of API calls.
type commitSearch struct {
	w           *walk
	f           RefFetcher
	owner, repo string
	budget      int
	// listed is set once every tag and branch was listed: heads holds
	// them, bases their distinct commits in the order they are compared.
	listed bool
	heads  []Ref
	bases  []string
}

var errCommitCap = errors.New("commit check cap")

// check decides on sha. A SHA that no branch or tag reaches may be an
// annotated tag object (what `git rev-parse v4` prints for an annotated
// tag), which GitHub runs as the commit it points to: then that commit is
// searched for, within the same cap. The tag object is not trusted for
// itself: a fork's tag object is served under the parent's name too.
func (s *commitSearch) check(ctx context.Context, sha string) commitVerdict {
	found, err := s.reachable(ctx, "commit "+sha, sha)
	switch {
	case err != nil:
		return commitVerdict{unverified: err.Error()}
	case found:
		return reachable("")
	}
	commit, err := s.peel(ctx, sha)
	switch {
	case err != nil:
		return commitVerdict{unverified: err.Error()}
	case commit == "": // a commit of a fork, or no tag object leading to a commit
		return impostor("")
	}
	if _, ok := s.w.r.verified.Get(repoKey(s.owner, s.repo) + "@" + commit); ok {
		return reachable(commit)
	}
	found, err = s.reachable(ctx, fmt.Sprintf("commit %s of tag object %s", commit, sha), commit)
	switch {
	case err != nil:
		return commitVerdict{unverified: err.Error(), commit: commit}
	case found:
		return reachable(commit)
	}
	return impostor(commit)
}

// reachable looks for a commit: first among the heads of the tags and
// branches (a commit pinned at a release is found with one or two list
// calls), then in the history of each branch (usual default names first)
// and each tag. The heads are listed once per check. what names the
// commit in errors.
func (s *commitSearch) reachable(ctx context.Context, what, sha string) (bool, error) {
	if !s.listed {
		if found, err := s.list(ctx, what, sha); found || err != nil {
			return found, err
		}
	}
	for _, r := range s.heads {
		if strings.EqualFold(r.SHA, sha) {
			return true, nil
		}
	}
	for i, base := range s.bases {
		status, err := s.compare(ctx, base, sha)
		if errors.Is(err, errCommitCap) {
			return false, fmt.Errorf("%s: not in the history of the %d of %d branch and tag heads of %s compared before the cap of %d API calls", what, i, len(s.bases), s.name(), s.w.r.cfg.maxCommitCalls)
		}
		if err != nil {
			return false, s.failed(what, fmt.Sprintf("comparing with %s", base), err)
		}
		if status == "behind" || status == "identical" { // head is in base's history
			return true, nil
		}
	}
	return false, nil
}

// list lists every tag and branch, stopping early when one points at sha.
func (s *commitSearch) list(ctx context.Context, what, sha string) (bool, error) {
	tags, found, err := s.pages(ctx, what, "tags", s.f.Tags, sha)
	if found || err != nil {
		return found, err
	}
	branches, found, err := s.pages(ctx, what, "branches", s.f.Branches, sha)
	if found || err != nil {
		return found, err
	}
	slices.SortStableFunc(branches, func(a, b Ref) int { return defaultRank(a.Name) - defaultRank(b.Name) })
	seen := map[string]bool{}
	for _, r := range append(branches, tags...) {
		if c := strings.ToLower(r.SHA); !seen[c] {
			seen[c] = true
			s.bases = append(s.bases, c)
		}
	}
	s.heads, s.listed = append(tags, branches...), true
	return false, nil
}

// pages lists every page of the repository's tags or branches, stopping
// early when one points at sha.
func (s *commitSearch) pages(ctx context.Context, what, kind string, list func(context.Context, string, string, int) ([]Ref, int, error), sha string) ([]Ref, bool, error) {
	doing := "listing the " + kind
	var all []Ref
	for page := 1; page > 0; {
		refs, next, err := commitCall(ctx, s, func(ctx context.Context) ([]Ref, int, error) {
			return list(ctx, s.owner, s.repo, page)
		})
		if errors.Is(err, errCommitCap) {
			return nil, false, fmt.Errorf("%s: %s of %s took the whole cap of %d API calls", what, doing, s.name(), s.w.r.cfg.maxCommitCalls)
		}
		if err != nil {
			return nil, false, s.failed(what, doing, err)
		}
		for _, r := range refs {
			if strings.EqualFold(r.SHA, sha) {
				return nil, true, nil
			}
		}
		all = append(all, refs...)
		if next <= page {
			break
		}
		page = next
	}
	return all, false, nil
}

func (s *commitSearch) compare(ctx context.Context, base, head string) (string, error) {
	status, _, err := commitCall(ctx, s, func(ctx context.Context) (string, int, error) {
		st, err := s.f.Compare(ctx, s.owner, s.repo, base, head)
		return st, 0, err
	})
	if errors.Is(err, ErrNotFound) {
		return "diverged", nil // no common history: not contained
	}
	return status, err
}

// peel returns the commit sha leads to when it is an annotated tag object
// (through at most maxTagDepth tags); "" when it is none (GitHub's 404:
// a fork's commit, or no object at all), or when the tags end at a tree or
// a blob or go deeper, which GitHub may run but no branch or tag vouches for.
func (s *commitSearch) peel(ctx context.Context, sha string) (string, error) {
	obj := sha
	for range maxTagDepth {
		target, kind, err := commitCall(ctx, s, func(ctx context.Context) (string, string, error) {
			return s.f.TagObject(ctx, s.owner, s.repo, obj)
		})
		switch {
		case errors.Is(err, errCommitCap):
			return "", fmt.Errorf("commit %s: on no branch or tag of %s, and the cap of %d API calls came before asking whether it is an annotated tag object", sha, s.name(), s.w.r.cfg.maxCommitCalls)
		case errors.Is(err, ErrNotFound) && obj == sha:
			return "", nil
		case err != nil:
			return "", s.failed("commit "+sha, fmt.Sprintf("reading tag object %s", obj), err)
		}
		target = strings.ToLower(target)
		if !input.IsFullSHA(target) {
			return "", fmt.Errorf("commit %s: tag object %s of %s points to %q, not an object SHA", sha, obj, s.name(), oneline.Fold(target))
		}
		switch kind {
		case "commit":
			return target, nil
		case "tag":
			obj = target
		default:
			return "", nil
		}
	}
	return "", nil
}

func (s *commitSearch) name() string { return s.owner + "/" + s.repo }

// failed words why the check stopped: what names the commit, doing the call.
func (s *commitSearch) failed(what, doing string, err error) error {
	var le *limitError
	switch {
	case errors.As(err, &le):
		s.w.hit(le.limit)
		return fmt.Errorf("%s of %s: %s", what, s.name(), le.msg)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%s: %s of %s: %w (deleted or private)", what, doing, s.name(), err)
	}
	return fmt.Errorf("%s: %s of %s: %s", what, doing, s.name(), oneline.Fold(err.Error()))
}

// commitCall is call within the check's own cap.
func commitCall[T, U any](ctx context.Context, s *commitSearch, f func(context.Context) (T, U, error)) (T, U, error) {
	var zeroT T
	var zeroU U
	if s.budget <= 0 {
		return zeroT, zeroU, errCommitCap
	}
	s.budget--
	type result struct {
		t T
		u U
	}
	r, err := call(ctx, s.w, func(ctx context.Context) (result, error) {
		t, u, err := f(ctx)
		return result{t, u}, err
	})
	return r.t, r.u, err
}

// defaultRank puts the usual default branch names first: most pinned
// commits are in the default branch's history.
func defaultRank(name string) int {
	switch name {
	case "main", "master":
		return 0
	}
	return 1
}
