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
// repository, through GitHub's branch, tag and compare endpoints. Without
// it every SHA-pinned reference is reported unverified.
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
}

// commitVerdict is what the impostor check found about one pinned commit:
// impostor set when it concluded, unverified saying why it did not.
type commitVerdict struct {
	impostor   *bool
	unverified string
}

var (
	notImpostor = commitVerdict{impostor: new(bool)}
	isImpostor  = func() commitVerdict { b := true; return commitVerdict{impostor: &b} }()
)

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
	if _, ok := w.r.verified.Get(key); ok {
		return notImpostor
	}
	v, _ := w.calls.do("commit "+key, func() (any, error) {
		s := &commitSearch{w: w, f: f, owner: owner, repo: repo, sha: sha, budget: w.r.cfg.maxCommitCalls}
		found, err := s.run(ctx)
		switch {
		case err != nil:
			return commitVerdict{unverified: err.Error()}, nil
		case found:
			w.r.verified.Add(key, struct{}{})
			return notImpostor, nil
		}
		return isImpostor, nil
	})
	return v.(commitVerdict)
}

// commitSearch is one impostor check, within its own cap of API calls.
type commitSearch struct {
	w                 *walk
	f                 RefFetcher
	owner, repo, sha  string
	budget            int
	compared, targets int
}

var errCommitCap = errors.New("commit check cap")

// run looks for the commit: first among the heads of the tags and branches
// (a commit pinned at a release is found with one or two list calls), then
// in the history of each branch (usual default names first) and each tag.
func (s *commitSearch) run(ctx context.Context) (bool, error) {
	tags, found, err := s.heads(ctx, "tags", s.f.Tags)
	if found || err != nil {
		return found, err
	}
	branches, found, err := s.heads(ctx, "branches", s.f.Branches)
	if found || err != nil {
		return found, err
	}
	slices.SortStableFunc(branches, func(a, b Ref) int { return defaultRank(a.Name) - defaultRank(b.Name) })
	seen := map[string]bool{}
	var bases []string
	for _, r := range append(branches, tags...) {
		if sha := strings.ToLower(r.SHA); !seen[sha] {
			seen[sha] = true
			bases = append(bases, sha)
		}
	}
	s.targets = len(bases)
	for _, base := range bases {
		status, err := s.compare(ctx, base)
		if err != nil {
			return false, err
		}
		s.compared++
		if status == "behind" || status == "identical" { // head is in base's history
			return true, nil
		}
	}
	return false, nil
}

// heads lists every page of the repository's tags or branches, stopping
// early when one points at the commit.
func (s *commitSearch) heads(ctx context.Context, what string, list func(context.Context, string, string, int) ([]Ref, int, error)) ([]Ref, bool, error) {
	var all []Ref
	for page := 1; page > 0; {
		refs, next, err := commitCall(ctx, s, func(ctx context.Context) ([]Ref, int, error) {
			return list(ctx, s.owner, s.repo, page)
		})
		if err != nil {
			return nil, false, s.failed(fmt.Sprintf("listing the %s", what), err)
		}
		for _, r := range refs {
			if strings.EqualFold(r.SHA, s.sha) {
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

func (s *commitSearch) compare(ctx context.Context, base string) (string, error) {
	status, _, err := commitCall(ctx, s, func(ctx context.Context) (string, int, error) {
		st, err := s.f.Compare(ctx, s.owner, s.repo, base, s.sha)
		return st, 0, err
	})
	if errors.Is(err, ErrNotFound) {
		return "diverged", nil // no common history: not contained
	}
	if err != nil {
		return "", s.failed(fmt.Sprintf("comparing with %s", base), err)
	}
	return status, nil
}

// failed words why the check stopped.
func (s *commitSearch) failed(doing string, err error) error {
	name := s.owner + "/" + s.repo
	var le *limitError
	switch {
	case errors.Is(err, errCommitCap) && s.targets == 0:
		return fmt.Errorf("commit %s: %s of %s took the whole cap of %d API calls", s.sha, doing, name, s.w.r.cfg.maxCommitCalls)
	case errors.Is(err, errCommitCap):
		return fmt.Errorf("commit %s: not in the history of the %d of %d branch and tag heads of %s compared before the cap of %d API calls", s.sha, s.compared, s.targets, name, s.w.r.cfg.maxCommitCalls)
	case errors.As(err, &le):
		s.w.hit(le.limit)
		return fmt.Errorf("commit %s of %s: %s", s.sha, name, le.msg)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("commit %s: %s of %s: %w (deleted or private)", s.sha, doing, name, err)
	}
	return fmt.Errorf("commit %s: %s of %s: %s", s.sha, doing, name, oneline.Fold(err.Error()))
}

// commitCall is call within the check's own cap.
func commitCall[T any](ctx context.Context, s *commitSearch, f func(context.Context) (T, int, error)) (T, int, error) {
	var zero T
	if s.budget <= 0 {
		return zero, 0, errCommitCap
	}
	s.budget--
	type result struct {
		v    T
		next int
	}
	r, err := call(ctx, s.w, func(ctx context.Context) (result, error) {
		v, next, err := f(ctx)
		return result{v, next}, err
	})
	return r.v, r.next, err
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
