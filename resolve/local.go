package resolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
)

// This file holds what the walk does with the run's own repository: local
// references (./ and $/) and the comparison of the files they run with the
// default branch's copies.

// isLocalUse reports whether u names a path of a repository rather than
// another repository: ./ (the workspace) or $/ (the file's own repository).
func isLocalUse(u input.Use) bool {
	raw := strings.TrimSpace(u.Raw)
	return u.Kind == input.KindLocal || raw == "." || strings.HasPrefix(raw, "./") || strings.HasPrefix(raw, "$/")
}

// target is targetOf for the walk. With WithLocalOnly, references to other
// repositories are left as they are (not looked inside, not marked), and the
// resolution is incomplete.
func (w *walk) target(u input.Use, caller, self location) target {
	if w.r.cfg.localOnly && !isLocalUse(u) {
		if u.Kind != input.KindDocker && !strings.HasPrefix(strings.TrimSpace(u.Raw), "docker://") {
			w.mu.Lock()
			w.skipped = true
			w.mu.Unlock()
		}
		return target{kind: targetNone}
	}
	return targetOf(u, w.workspace, caller, self)
}

// own reports whether t is a file of the run's repository at the head
// commit that the run executes, and must be compared with the default
// branch's copy.
func (w *walk) own(t target) bool {
	return w.compare && t.local && t.invalid == "" && t.kind != targetNone &&
		repoKey(t.owner, t.repo) == repoKey(w.workspace.owner, w.workspace.repo) && t.ref == w.workspace.ref
}

// addModified records a modified file once per path. add calls it level by
// level in document order, so the order does not depend on fetch timing.
func (w *walk) addModified(f input.ModifiedFile) {
	wf := &w.doc.Workflow
	for _, have := range wf.ModifiedFiles {
		if have.Path == f.Path {
			return
		}
	}
	wf.ModifiedFiles = append(wf.ModifiedFiles, f)
	wf.Modified = true
}

// compareOwn compares the files an own reference runs with the default
// branch's copies: the file read at the head commit (e.file, a reusable
// workflow or an action's metadata), and for a JavaScript or Dockerfile
// action the files its metadata names. It returns those that differ. A
// file that could not be read or compared is modified, with the reason; only
// a GitHub failure other than "not found" is an error.
func (w *walk) compareOwn(ctx context.Context, it item, e expansion) ([]input.ModifiedFile, error) {
	t := it.target
	f := input.ModifiedFile{Path: e.file, Uses: it.raw}
	if f.Path == "" {
		f.Path = t.path
	}
	if e.unresolved != "" {
		f.Change, f.Reason = input.ChangeUnknown, "unreadable at the head commit: "+e.unresolved
		return []input.ModifiedFile{f}, nil
	}
	var out []input.ModifiedFile
	sum := e.digest
	f.SHA256 = &sum
	base, err := w.baseDigest(ctx, t)
	if err := w.judge(&f, base, err); err != nil {
		return nil, err
	}
	if f.Change != "" {
		out = append(out, f)
	}
	for _, name := range e.runs {
		f := input.ModifiedFile{Path: path.Join(t.path, name), Uses: it.raw}
		if f.Path == ".." || strings.HasPrefix(f.Path, "../") || path.IsAbs(name) {
			f.Path, f.Change, f.Reason = name, input.ChangeUnknown, "the file the action runs is outside the repository"
			out = append(out, f)
			continue
		}
		head, err := w.digestAt(ctx, t.owner, t.repo, f.Path, t.ref)
		var le *limitError
		switch {
		case errors.As(err, &le):
			w.hit(le.limit)
			f.Change, f.Reason = input.ChangeUnknown, "not read at the head commit: "+le.msg
		case errors.Is(err, ErrNotFound):
			f.Change, f.Reason = input.ChangeUnknown, "unreadable at the head commit: "+err.Error()
		case err != nil:
			return nil, fmt.Errorf("compare %s with the default branch: %w", f.Path, err)
		default:
			f.SHA256 = &head
			base, err := w.baseFileDigest(ctx, t.owner, t.repo, f.Path)
			if err := w.judge(&f, base, err); err != nil {
				return nil, err
			}
		}
		if f.Change != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// judge sets f.Change from the default branch's digest of the file (or
// the error looking for it); it stays empty when the copies are the same.
func (w *walk) judge(f *input.ModifiedFile, base string, err error) error {
	var le *limitError
	switch {
	case errors.As(err, &le):
		w.hit(le.limit)
		f.Change, f.Reason = input.ChangeUnknown, "not compared with the default branch: "+le.msg
	case errors.Is(err, errUncomparable):
		f.Change, f.Reason = input.ChangeUnknown, err.Error()
	case errors.Is(err, ErrNotFound):
		f.Change = input.ChangeNew
	case err != nil:
		return fmt.Errorf("compare %s with the default branch: %w", f.Path, err)
	case base != *f.SHA256:
		f.Change = input.ChangeDiffers
	}
	return nil
}

// baseDigest returns the SHA-256 of t's file on the default branch (for an
// action, its action.yml or else action.yaml, as GitHub looks them up), or
// ErrNotFound. The branch is looked up once per run, since it moves; the
// copies are cached by path and commit, so a callee many runs share is
// fetched once per default-branch commit.
func (w *walk) baseDigest(ctx context.Context, t target) (string, error) {
	commit, err := w.defaultCommit(ctx)
	if err != nil {
		return "", err
	}
	files := []string{t.path}
	if t.kind == targetAction {
		files = []string{path.Join(t.path, "action.yml"), path.Join(t.path, "action.yaml")}
	}
	for _, p := range files {
		sum, err := w.digestAt(ctx, t.owner, t.repo, p, commit)
		if !errors.Is(err, ErrNotFound) {
			return sum, err
		}
	}
	return "", fmt.Errorf("%s on the default branch: %w", t.path, ErrNotFound)
}

// baseFileDigest is baseDigest for one file.
func (w *walk) baseFileDigest(ctx context.Context, owner, repo, p string) (string, error) {
	commit, err := w.defaultCommit(ctx)
	if err != nil {
		return "", err
	}
	return w.digestAt(ctx, owner, repo, p, commit)
}

// digestAt returns the SHA-256 of the file at p in owner/repo at commit, or
// ErrNotFound. Only the digest is kept, so a file of any size the Fetcher
// serves is compared. Digests at a commit SHA are cached; within a run one
// file is fetched once.
func (w *walk) digestAt(ctx context.Context, owner, repo, p, commit string) (string, error) {
	key := repoKey(owner, repo) + "/" + p + "@" + commit
	notFound := fmt.Errorf("%s/%s/%s@%s: %w", owner, repo, p, commit, ErrNotFound)
	cacheable := input.IsFullSHA(commit)
	if cacheable {
		if a, ok := w.r.bases.Get(key); ok {
			if a.notFound {
				return "", notFound
			}
			return a.sha, nil
		}
	}
	v, err := w.calls.do("digest "+key, func() (any, error) {
		src, err := call(ctx, w, func(ctx context.Context) ([]byte, error) {
			return w.r.fetch.Content(ctx, owner, repo, p, commit)
		})
		a := answer{notFound: errors.Is(err, ErrNotFound)}
		switch {
		case a.notFound:
		case err != nil:
			return nil, err
		default:
			a.sha = digest(src)
		}
		if cacheable {
			w.r.bases.Add(key, a)
		}
		return a, nil
	})
	if err != nil {
		return "", err
	}
	if a := v.(answer); !a.notFound {
		return a.sha, nil
	}
	return "", notFound
}

// defaultCommit returns the commit the repository's default branch points
// to, looked up once per run.
func (w *walk) defaultCommit(ctx context.Context) (string, error) {
	branch := w.doc.Repository.DefaultBranch
	owner, repo := w.workspace.owner, w.workspace.repo
	if branch == "" {
		return "", fmt.Errorf("%w: the repository's default branch is unknown", errUncomparable)
	}
	v, err := w.calls.do("default branch", func() (any, error) {
		sha, err := call(ctx, w, func(ctx context.Context) (string, error) {
			return w.r.fetch.CommitSHA(ctx, owner, repo, branch)
		})
		switch {
		case errors.Is(err, ErrNotFound):
			return "", fmt.Errorf("%w: default branch %s of %s/%s not found", errUncomparable, branch, owner, repo)
		case err != nil:
			return "", err
		}
		sha = strings.ToLower(strings.TrimSpace(sha))
		if !input.IsFullSHA(sha) {
			return "", fmt.Errorf("%w: default branch %s of %s/%s: the lookup returned %q, not a commit SHA", errUncomparable, branch, owner, repo, sha)
		}
		return sha, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
