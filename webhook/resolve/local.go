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

// compareOwn compares the file an own reference ran (e.file, read at the head
// commit) with the default branch's copy: nil when they are the same. A file
// that could not be read or compared is modified, with the reason; only a
// GitHub failure other than "not found" is an error.
func (w *walk) compareOwn(ctx context.Context, it item, e expansion) (*input.ModifiedFile, error) {
	t := it.target
	f := &input.ModifiedFile{Path: e.file, Uses: it.raw}
	if f.Path == "" {
		f.Path = t.path
	}
	if e.unresolved != "" {
		f.Change, f.Reason = input.ChangeUnknown, "unreadable at the head commit: "+e.unresolved
		return f, nil
	}
	sum := e.digest
	f.SHA256 = &sum
	base, err := w.baseDigest(ctx, t)
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
		return nil, fmt.Errorf("compare %s with the default branch: %w", f.Path, err)
	case base == sum:
		return nil, nil
	default:
		f.Change = input.ChangeDiffers
	}
	return f, nil
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
		key := repoKey(t.owner, t.repo) + "/" + p + "@" + commit
		if a, ok := w.r.bases.Get(key); ok {
			if a.notFound {
				continue
			}
			return a.sha, nil
		}
		v, err := w.calls.do("base "+key, func() (any, error) {
			src, err := call(ctx, w, func(ctx context.Context) ([]byte, error) {
				return w.r.fetch.Content(ctx, t.owner, t.repo, p, commit)
			})
			switch {
			case errors.Is(err, ErrNotFound):
				w.r.bases.Add(key, answer{notFound: true})
				return answer{notFound: true}, nil
			case err != nil:
				return nil, err
			}
			a := answer{sha: digest(src)}
			w.r.bases.Add(key, a)
			return a, nil
		})
		if err != nil {
			return "", err
		}
		if a := v.(answer); !a.notFound {
			return a.sha, nil
		}
	}
	return "", fmt.Errorf("%s on the default branch: %w", t.path, ErrNotFound)
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
		if !isFullSHA(sha) {
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
