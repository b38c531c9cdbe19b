package resolve

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Names of the limits recorded in Resolution.Limits.
const (
	LimitDepth      = "depth"
	LimitReferences = "references"
	LimitFetches    = "fetches"
	LimitCycle      = "cycle"
)

// walk is the state of one Resolve call.
type walk struct {
	r   *Resolver
	doc *input.Document

	workspace location // where local actions are read: the run's repository at head_sha
	root      string   // key of the workflow being judged, to catch a workflow calling itself

	fetches atomic.Int64 // Fetcher calls made by this run
	calls   flight       // one fetch per distinct file or tag within the run

	// compare is set when the run is not on the default branch: every file
	// of the run's own repository read at the head commit is compared with
	// the default branch's copy, so that a workflow unchanged itself is
	// still modified when a local action or workflow it runs was changed.
	compare bool
	// skipped is set when WithLocalOnly left a remote reference unread.
	skipped bool

	mu     sync.Mutex
	limits map[string]bool
}

// item is a reference waiting to be expanded.
type item struct {
	idx       int      // index in doc.Uses
	raw       string   // the reference as written
	target    target   // what to fetch
	chain     []string // keys of the references that led here, outermost first
	actions   int      // composite actions among those references
	workflows int      // reusable workflows among those references
}

// expansion is what expanding one item found.
type expansion struct {
	resolvedSHA *string
	unresolved  string
	children    []input.Use          // position fields and Via not yet set
	caller      location             // where the children's local workflow references are read
	self        location             // where the children's $/ references are read: the file's own repository and commit
	file        string               // the file read, for an action its action.yml or action.yaml
	digest      string               // SHA-256 of the file read
	runs        []string             // the files an action runs besides its metadata, relative to its directory
	modified    []input.ModifiedFile // the files that are not the default branch's copies
	actions     int                  // the children's item.actions
	workflows   int                  // the children's item.workflows
	commit      commitVerdict
}

// Errors that make a reference unresolved rather than failing the run.
var (
	errInvalid = errors.New("invalid")
	// errUncomparable: the default branch's copy of a file cannot be read
	// (no default branch, or it cannot be found).
	errUncomparable = errors.New("no default-branch copy to compare with")
)

// limitError is a limit hit while expanding a reference.
type limitError struct{ limit, msg string }

func (e *limitError) Error() string { return e.msg }

func newWalk(r *Resolver, doc *input.Document) *walk {
	w := &walk{r: r, doc: doc, limits: map[string]bool{}}
	ref := doc.Run.HeadSHA
	if ref == "" {
		// The command line knows no commit; its Fetcher reads the working tree.
		ref = "HEAD"
	}
	w.workspace = location{owner: doc.Repository.Owner, repo: doc.Repository.Name, ref: ref}
	w.compare = !doc.Run.IsDefaultBranch
	if doc.Workflow.Path != "" {
		w.root = target{owner: w.workspace.owner, repo: w.workspace.repo, path: doc.Workflow.Path, ref: ref}.key()
	}
	return w
}

// run expands the document level by level: every reference of one level in
// parallel, then their children in document order, so the result is the
// same whatever order the fetches finish in.
func (w *walk) run(ctx context.Context) error {
	var level []item
	for i, u := range w.doc.Uses {
		if len(u.Via) > 0 {
			continue // already transitive: the document was resolved before
		}
		it := item{idx: i, raw: u.Raw, target: w.target(u, w.workspace, w.workspace)}
		if w.root != "" {
			it.chain = []string{w.root}
			if it.target.kind == targetWorkflow && it.target.key() == w.root {
				w.hit(LimitCycle)
				w.doc.Uses[i].Unresolved = "cycle: the workflow calls itself"
				continue
			}
		}
		level = append(level, it)
	}
	for len(level) > 0 {
		found := make([]expansion, len(level))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(w.r.cfg.concurrency)
		for i := range level {
			g.Go(func() error {
				var err error
				found[i], err = w.expand(gctx, level[i])
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		level = w.add(level, found)
	}
	return nil
}

// add writes what a level found into the document and returns the next level.
func (w *walk) add(level []item, found []expansion) []item {
	var next []item
	for i, it := range level {
		e := found[i]
		parent := &w.doc.Uses[it.idx]
		if e.resolvedSHA != nil {
			parent.ResolvedSHA = e.resolvedSHA
		}
		if e.unresolved != "" {
			parent.Unresolved = e.unresolved
		}
		for _, f := range e.modified {
			w.addModified(f)
		}
		parent.Impostor, parent.ImpostorUnverified = e.commit.impostor, e.commit.unverified
		if c := e.commit.commit; c != "" { // pinned to an annotated tag object: the commit it runs
			parent.ResolvedSHA = &c
		}
		p := *parent // copy: appending below may move the slice
		chain := append(slices.Clip(it.chain), it.target.key())
		for j, c := range e.children {
			if len(w.doc.Uses) >= w.r.cfg.maxReferences {
				w.hit(LimitReferences)
				w.doc.Uses[it.idx].Unresolved = fmt.Sprintf("reference limit of %d reached", w.r.cfg.maxReferences)
				// Files of the repository left unread were not compared:
				// they count as modified.
				for _, c := range e.children[j:] {
					if t := w.target(c, e.caller, e.self); w.own(t) {
						w.addModified(input.ModifiedFile{Path: t.path, Uses: c.Raw, Change: input.ChangeUnknown,
							Reason: fmt.Sprintf("not read: the reference limit of %d was reached", w.r.cfg.maxReferences)})
					}
				}
				break
			}
			c.Job, c.Line = p.Job, p.Line
			c.Step = nil
			if p.Step != nil {
				step := *p.Step
				c.Step = &step
			}
			c.Via = make([]string, 0, len(p.Via)+1)
			c.Via = append(append(c.Via, p.Via...), p.Raw)
			c.ResolvedSHA, c.Unresolved, c.Impostor, c.ImpostorUnverified = nil, "", nil, ""
			t := w.target(c, e.caller, e.self)
			if t.kind != targetNone && t.invalid == "" && slices.Contains(chain, t.key()) {
				w.hit(LimitCycle)
				c.Unresolved = "cycle: " + strings.Join(append(slices.Clip(c.Via), c.Raw), " -> ")
				t = target{kind: targetNone}
			}
			w.doc.Uses = append(w.doc.Uses, c)
			if t.kind != targetNone || t.invalid != "" {
				next = append(next, item{idx: len(w.doc.Uses) - 1, raw: c.Raw, target: t, chain: chain, actions: e.actions, workflows: e.workflows})
			}
		}
	}
	return next
}

// expand fetches what one reference points to and, for a reference pinned
// to a commit, checks meanwhile that the commit belongs to the repository.
func (w *walk) expand(ctx context.Context, it item) (expansion, error) {
	sha, pinned := pinnedSHA(it.target)
	if !pinned {
		return w.expandContent(ctx, it)
	}
	verdict := make(chan commitVerdict, 1)
	go func() { verdict <- w.verifyCommit(ctx, it.target.owner, it.target.repo, sha) }()
	e, err := w.expandContent(ctx, it)
	e.commit = <-verdict
	return e, err
}

// expandContent fetches what one reference points to. Only the context's
// end fails the run: whatever else stops the resolver (not found, private,
// too large, a GitHub error, a limit) ends in e.unresolved, so that
// block_unresolved can deny it.
func (w *walk) expandContent(ctx context.Context, it item) (e expansion, err error) {
	t := it.target
	if t.invalid != "" {
		e.unresolved = t.invalid
		return e, nil
	}
	if t.kind == targetNone {
		return e, nil
	}
	if w.own(t) {
		// Runs after the errors below became e.unresolved: a file that
		// cannot be read is not unmodified.
		defer func() {
			if err == nil {
				e.modified, err = w.compareOwn(ctx, it, e)
			}
		}()
	}
	defer func() {
		if err == nil {
			return
		}
		var le *limitError
		switch {
		case errors.As(err, &le):
			w.hit(le.limit)
			e, err = expansion{resolvedSHA: e.resolvedSHA, file: e.file, unresolved: le.msg}, nil
		case errors.Is(err, ErrNotFound), errors.Is(err, errInvalid):
			e, err = expansion{resolvedSHA: e.resolvedSHA, file: e.file, unresolved: err.Error()}, nil
		case ctx.Err() != nil, errors.Is(err, ErrAuth):
			err = fmt.Errorf("resolving %s: %w", it.raw, err)
		default:
			w.r.cfg.logger.Debug("reference unresolved", "uses", it.raw, "err", err)
			e, err = expansion{resolvedSHA: e.resolvedSHA, file: e.file, unresolved: "could not be read: " + oneline.Fold(err.Error())}, nil
		}
	}()
	if t.kind == targetWorkflow && it.workflows+2 > w.r.cfg.workflowLevels {
		// The top-level workflow is level one and this call would be one more.
		return e, &limitError{LimitDepth, fmt.Sprintf("reusable workflows nested deeper than %d levels", w.r.cfg.workflowLevels)}
	}
	commit := t.ref
	if !t.local && !input.IsFullSHA(t.ref) {
		if sha, ok := w.ranAt(t); ok {
			commit = sha
		} else if commit, err = w.commitSHA(ctx, t.owner, t.repo, t.ref); err != nil {
			return e, err
		}
		e.resolvedSHA = &commit
	}
	if t.kind == targetWorkflow {
		f, err := w.workflow(ctx, t.owner, t.repo, t.path, commit)
		if err != nil {
			return e, err
		}
		for _, u := range f.Uses {
			if len(u.Via) == 0 {
				e.children = append(e.children, u)
			}
		}
		e.caller = location{owner: t.owner, repo: t.repo, ref: commit}
		e.self = e.caller
		e.file, e.digest = t.path, f.SHA256
		e.workflows = it.workflows + 1
		return e, nil
	}
	m, err := w.action(ctx, t.owner, t.repo, t.path, commit)
	if err != nil {
		return e, err
	}
	e.self = location{owner: t.owner, repo: t.repo, ref: commit}
	e.file, e.digest, e.runs = m.file, m.digest, m.runs
	switch {
	case m.using == "composite":
		if it.actions+1 > w.r.cfg.actionDepth {
			return e, &limitError{LimitDepth, fmt.Sprintf("composite actions nested deeper than %d levels", w.r.cfg.actionDepth)}
		}
		for _, raw := range m.uses {
			e.children = append(e.children, input.ParseUses(raw, false))
		}
		e.actions, e.workflows = it.actions+1, it.workflows
	case m.using == "docker" && strings.HasPrefix(m.image, "docker://"):
		e.children = []input.Use{input.ParseUses(m.image, false)}
		e.actions, e.workflows = it.actions, it.workflows
	}
	return e, nil
}

// ranAt returns the commit GitHub ran a reusable workflow at, when the run's
// payload says (referenced_workflows): what ran, even if the tag has moved
// since, and one tag lookup fewer.
func (w *walk) ranAt(t target) (string, bool) {
	if t.kind != targetWorkflow {
		return "", false
	}
	return w.doc.ReferencedWorkflowSHA(t.owner, t.repo, t.path, t.ref)
}

// commitSHA returns the commit owner/repo@ref points to, from the tag cache
// while it is fresh.
func (w *walk) commitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	key := repoKey(owner, repo) + "@" + ref
	notFound := fmt.Errorf("%s/%s@%s: ref %w (deleted, private or never existed)", owner, repo, ref, ErrNotFound)
	trusted := w.r.cfg.trustedOwners[strings.ToLower(owner)]
	// Anyone else's tag may have moved a second ago: ask again for every
	// run (the Fetcher makes it a conditional request, free when unchanged).
	if e, ok := w.r.recall(w.r.tags, key); ok && trusted {
		if e.notFound {
			return "", notFound
		}
		return e.sha, nil
	}
	v, err := w.calls.do("sha "+key, func() (any, error) {
		sha, err := call(ctx, w, func(ctx context.Context) (string, error) {
			return w.r.fetch.CommitSHA(ctx, owner, repo, ref)
		})
		switch {
		case errors.Is(err, ErrNotFound):
			if trusted {
				w.r.remember(w.r.tags, key, "", true)
			}
			return "", notFound
		case err != nil:
			return "", err
		}
		sha = strings.ToLower(strings.TrimSpace(sha))
		if !input.IsFullSHA(sha) {
			return "", fmt.Errorf("%s/%s@%s: %w: the lookup returned %q, not a commit SHA", owner, repo, ref, errInvalid, sha)
		}
		if trusted {
			w.r.remember(w.r.tags, key, sha, false)
		}
		return sha, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// action reads the metadata of the action in dir of owner/repo at commit.
func (w *walk) action(ctx context.Context, owner, repo, dir, commit string) (*actionMeta, error) {
	key := repoKey(owner, repo) + "/" + dir + "@" + commit
	cacheable := input.IsFullSHA(commit)
	if cacheable {
		if m, ok := w.r.actions.Get(key); ok {
			return m, nil
		}
	}
	notFound := fmt.Errorf("%s@%s: no action.yml or action.yaml: %w (deleted, private or never existed)", path.Join(owner, repo, dir), commit, ErrNotFound)
	if _, ok := w.r.recall(w.r.missing, "action "+key); ok { // only commit SHAs are remembered
		return nil, notFound
	}
	v, err := w.calls.do("action "+key, func() (any, error) {
		for _, name := range []string{"action.yml", "action.yaml"} {
			src, err := w.content(ctx, owner, repo, path.Join(dir, name), commit)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			m, err := decodeAction(src)
			if err != nil {
				return nil, fmt.Errorf("%s/%s/%s@%s: %w: %v", owner, repo, path.Join(dir, name), commit, errInvalid, err)
			}
			m.file, m.digest = path.Join(dir, name), digest(src)
			if cacheable {
				w.r.actions.Add(key, m)
			}
			return m, nil
		}
		if cacheable {
			w.r.remember(w.r.missing, "action "+key, "", true)
		}
		return nil, notFound
	})
	if err != nil {
		return nil, err
	}
	return v.(*actionMeta), nil
}

// workflow reads and parses the reusable workflow at p in owner/repo at commit.
func (w *walk) workflow(ctx context.Context, owner, repo, p, commit string) (*input.Facts, error) {
	key := repoKey(owner, repo) + "/" + p + "@" + commit
	cacheable := input.IsFullSHA(commit)
	if cacheable {
		if f, ok := w.r.workflows.Get(key); ok {
			return f, nil
		}
	}
	notFound := fmt.Errorf("%s/%s/%s@%s: workflow %w (deleted, private or never existed)", owner, repo, p, commit, ErrNotFound)
	if _, ok := w.r.recall(w.r.missing, "workflow "+key); ok { // only commit SHAs are remembered
		return nil, notFound
	}
	v, err := w.calls.do("workflow "+key, func() (any, error) {
		src, err := w.content(ctx, owner, repo, p, commit)
		if errors.Is(err, ErrNotFound) {
			if cacheable {
				w.r.remember(w.r.missing, "workflow "+key, "", true)
			}
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		f, err := w.r.parse(p, src)
		if err != nil {
			return nil, fmt.Errorf("%s/%s/%s@%s: %w workflow: %v", owner, repo, p, commit, errInvalid, err)
		}
		if cacheable {
			w.r.workflows.Add(key, f)
		}
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*input.Facts), nil
}

// content fetches one file, bounded in size.
func (w *walk) content(ctx context.Context, owner, repo, p, ref string) ([]byte, error) {
	src, err := call(ctx, w, func(ctx context.Context) ([]byte, error) {
		return w.r.fetch.Content(ctx, owner, repo, p, ref)
	})
	if err != nil {
		return nil, err
	}
	if len(src) > w.r.cfg.maxFileSize {
		return nil, fmt.Errorf("%s/%s/%s@%s: %w: %d bytes, over the limit of %d", owner, repo, p, ref, errInvalid, len(src), w.r.cfg.maxFileSize)
	}
	return src, nil
}

// call makes one Fetcher call within the run's fetch budget and the
// resolver's bound on calls in flight. Errors other than ErrNotFound are
// wrapped with what was being fetched by the caller.
func call[T any](ctx context.Context, w *walk, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if n := w.fetches.Add(1); n > int64(w.r.cfg.maxFetches) {
		w.fetches.Add(-1)
		return zero, &limitError{LimitFetches, fmt.Sprintf("fetch limit of %d reached", w.r.cfg.maxFetches)}
	}
	select {
	case w.r.inflight <- struct{}{}:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	defer func() { <-w.r.inflight }()
	return f(ctx)
}

// hit records that a limit was reached.
func (w *walk) hit(limit string) {
	w.mu.Lock()
	w.limits[limit] = true
	w.mu.Unlock()
	w.r.cfg.logger.Debug("resolver limit reached", "limit", limit, "repository", w.doc.Repository.FullName, "run", w.doc.Run.ID)
}

// resolution summarizes the walk. It is complete when no limit was hit and
// every reference could be looked into.
func (w *walk) resolution() *input.Resolution {
	res := &input.Resolution{Complete: len(w.limits) == 0 && !w.skipped, Fetches: int(w.fetches.Load()), Limits: []string{}}
	for l := range w.limits {
		res.Limits = append(res.Limits, l)
	}
	slices.Sort(res.Limits)
	for _, u := range w.doc.Uses {
		if u.Unresolved != "" {
			res.Complete = false
		}
	}
	return res
}

// flight runs each keyed call once per run; callers with the same key wait
// for the first one's result.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

func (f *flight) do(key string, fn func() (any, error)) (any, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flightCall{}
	}
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.val, c.err
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	c.val, c.err = fn()
	close(c.done)
	return c.val, c.err
}
