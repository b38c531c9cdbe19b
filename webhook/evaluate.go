package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/errgroup"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
)

// evaluate judges a request's run: it completes a job's run from GitHub,
// fetches the workflow file at the head commit and on the default branch
// in parallel, normalizes it (parsed facts cached by content digest),
// resolves transitive references and evaluates the document. It returns
// the request as completed.
func (j *judge) evaluate(ctx context.Context, req request, timers map[string]int64) (request, *input.Document, *engine.Decision, error) {
	if req.unreadable != nil {
		return req, nil, nil, &evalError{"bad_payload", fmt.Errorf("read run context: %w", req.unreadable)}
	}
	begin := time.Now()
	if !req.complete {
		var err error
		if req, err = j.completeRun(ctx, req); err != nil {
			return req, nil, nil, err
		}
		if dynamicWorkflow(req.run.Path) {
			return req, nil, nil, fmt.Errorf("%w: GitHub-managed workflow %s", errSkipRun, req.run.Path)
		}
	}
	t, rc := &req.run, req.context
	// A fork's branch may be named like the default branch: only the
	// repository's own default branch is its own copy.
	onDefault := rc.Run.IsDefaultBranch && strings.EqualFold(t.HeadRepository, t.Repository)
	compare := !onDefault && t.DefaultBranch != ""
	head, base, err := j.fetchWorkflow(ctx, t, compare)
	if err != nil {
		return req, nil, nil, err
	}
	timers["timer_fetch_ns"] = time.Since(begin).Nanoseconds()

	// Normalizing and evaluating is the CPU-heavy part of judging; bound
	// how many runs do it at once so that acknowledging deliveries never
	// waits for a core.
	release, err := j.cpu.acquire(ctx)
	if err != nil {
		return req, nil, nil, err
	}
	begin = time.Now()
	facts, err := j.parse(t.Path, head)
	if err != nil {
		release()
		return req, nil, nil, err
	}
	if compare {
		rc.DefaultBranchKnown = true
		if base != nil {
			sum := digest(base)
			rc.DefaultBranchSHA256 = &sum
		}
	}
	doc := input.Build(facts, rc)
	timers["timer_parse_ns"] = time.Since(begin).Nanoseconds()

	var r Resolver
	if j.resolver != nil {
		r = j.resolver(t.Installation)
	}
	if r == nil {
		defer release()
		if !doc.Run.IsDefaultBranch {
			uncompared(doc)
		}
		result, err := j.eval(ctx, doc, timers)
		if err == nil {
			result, err = j.approved(ctx, doc, result, timers)
		}
		return req, doc, result, err
	}
	// Resolving transitive references takes round trips to GitHub. Judge
	// the direct references meanwhile: when they already deny the run,
	// the cancel does not wait for the rest.
	resolveCtx, cancelResolve := context.WithCancel(ctx)
	defer cancelResolve()
	type resolution struct {
		doc *input.Document
		err error
		d   time.Duration
	}
	resolved := make(chan resolution, 1)
	go func() {
		begin := time.Now()
		d, err := r.Resolve(resolveCtx, doc)
		resolved <- resolution{d, err, time.Since(begin)}
	}()
	direct, err := j.eval(ctx, doc, timers)
	if err == nil {
		direct, err = j.approved(ctx, doc, direct, timers)
	}
	release()
	if err != nil {
		return req, doc, nil, err
	}
	if !direct.Allow {
		timers["counter_resolve_skipped"] = 1 // the direct references denied the run
		return req, doc, direct, nil
	}
	res := <-resolved
	if res.err != nil {
		return req, doc, nil, fmt.Errorf("resolve references of %s: %w", t.Path, res.err)
	}
	timers["timer_resolve_ns"] = res.d.Nanoseconds()
	if release, err = j.cpu.acquire(ctx); err != nil {
		return req, res.doc, nil, err
	}
	defer release()
	result, err := j.eval(ctx, res.doc, timers)
	if err == nil {
		result, err = j.approved(ctx, res.doc, result, timers)
	}
	return req, res.doc, result, err
}

// completeRun fetches a job's run from GitHub and completes the request
// from it (request.withRun).
func (j *judge) completeRun(ctx context.Context, req request) (request, error) {
	owner, name := req.run.owner()
	raw, err := j.clients(req.run.Installation).RunJSON(ctx, owner, name, req.run.ID)
	if err != nil {
		return req, err
	}
	return req.withRun(raw)
}

// uncompared marks every local action and reusable workflow of a run off
// the default branch as modified when no resolver compares them with the
// default branch's copies: what runpolicy did not read is not unmodified.
func uncompared(doc *input.Document) {
	for _, u := range doc.Uses {
		raw := strings.TrimSpace(u.Raw)
		if u.Kind != input.KindLocal && !strings.HasPrefix(raw, "./") && !strings.HasPrefix(raw, "$/") {
			continue
		}
		f := input.ModifiedFile{Path: strings.TrimPrefix(strings.TrimPrefix(raw, "$/"), "./"), Uses: u.Raw,
			Change: input.ChangeUnknown, Reason: "not compared: resolve is off"}
		if !slices.ContainsFunc(doc.Workflow.ModifiedFiles, func(m input.ModifiedFile) bool { return m.Path == f.Path }) {
			doc.Workflow.Modified = true
			doc.Workflow.ModifiedFiles = append(doc.Workflow.ModifiedFiles, f)
		}
	}
}

// fetchWorkflow reads the workflow file at the head commit (from the fork
// for a fork's pull request) and, when compare is set, the same path on the
// default branch, in parallel. base is nil when the default branch has no
// such file: the workflow is new.
//
// One failing does not cancel the other: its answer may be a rate limit,
// which the client must see to hold the installation's calls back.
func (j *judge) fetchWorkflow(ctx context.Context, t *target, compare bool) (head, base []byte, err error) {
	client := j.clients(t.Installation)
	var g errgroup.Group
	g.Go(func() error {
		owner, name := split(t.HeadRepository)
		var err error
		head, err = client.Content(ctx, owner, name, t.Path, t.HeadSHA)
		return err
	})
	if compare {
		g.Go(func() error {
			owner, name := t.owner()
			var err error
			base, err = client.Content(ctx, owner, name, t.Path, t.DefaultBranch)
			if errors.Is(err, github.ErrNotFound) {
				base, err = nil, nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return head, base, nil
}

// eval evaluates a document, timing it, within eval_timeout: a document
// that makes the policies run longer is the workflow's doing
// (eval_timeout), while an evaluation the job's own end stopped is not.
func (j *judge) eval(ctx context.Context, doc *input.Document, timers map[string]int64) (*engine.Decision, error) {
	begin := time.Now()
	evalCtx, cancel := context.WithTimeout(ctx, j.evalTimeout)
	defer cancel()
	result, err := j.engine.Eval(evalCtx, doc)
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(evalCtx.Err(), context.DeadlineExceeded):
		return nil, &evalError{"eval_timeout", fmt.Errorf("evaluation stopped after %s: %w", j.evalTimeout, err)}
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("evaluation: %w", ctx.Err())
	case err != nil:
		return nil, &evalError{"evaluation_error", err}
	}
	timers["timer_rego_query_eval_ns"] += time.Since(begin).Nanoseconds()
	return result, nil
}

// parse normalizes a workflow file once per content (input.Cache, which
// the benchmark measures as runpolicy in process).
func (j *judge) parse(path string, src []byte) (*input.Facts, error) {
	f, err := j.facts.Get(path, src)
	if err != nil {
		return nil, &evalError{"bad_workflow", fmt.Errorf("parse: %w", err)} // err names the file
	}
	return f, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resolvers keeps one resolver per installation, made on first use.
type resolvers struct {
	make  func(installation int64) Resolver
	cache *lru.Cache[int64, Resolver]
}

func newResolvers(make func(installation int64) Resolver) *resolvers {
	cache, _ := lru.New[int64, Resolver](1024)
	return &resolvers{make: make, cache: cache}
}

// get returns the installation's resolver.
func (r *resolvers) get(installation int64) Resolver {
	if res, ok := r.cache.Get(installation); ok {
		return res
	}
	res := r.make(installation)
	r.cache.Add(installation, res)
	return res
}

// slots is a counting semaphore.
type slots chan struct{}

func newSlots(n int) slots { return make(slots, n) }

// acquire takes a slot and returns its release.
func (s slots) acquire(ctx context.Context) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
