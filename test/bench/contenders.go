package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/rhysd/actionlint"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

// Names of the contenders, in the order of the table.
const (
	rpCold     = "runpolicy in process, cold"
	rpWarm     = "runpolicy in process, warm"
	opaLimit   = "OPA rego package, prepared (engine's limit)"
	opaSidecar = "opa run --server (sidecar), HTTP"
	opaEval    = "opa eval, a process per decision"
	parserOnly = "actionlint.Parse (parser's limit)"
	// rpNormalize is the cold contender without the evaluation: where its
	// cost beyond the engine's limit goes.
	rpNormalize = "runpolicy normalize only, cold (no evaluation)"
)

// scenario is everything one variant of settings needs to run one
// workload through every contender.
type scenario struct {
	variant  variant
	workload workload
	eng      *engine.Engine
	limit    rego.PreparedEvalQuery
	opa      string // the opa binary
	bundle   string // the variant's bundle directory
	inputs   []prepared
}

// prepared is one workflow of the workload, normalized once for the
// contenders that start from the input document.
type prepared struct {
	wf    workflow
	run   input.Context
	value ast.Value // the input document as OPA's value
	body  []byte    // {"input": …} for the sidecar
	file  string    // the input document for opa eval
}

func newScenario(eng *engine.Engine, limit rego.PreparedEvalQuery, opa, bundle, dir string, v variant, w workload) (*scenario, error) {
	s := &scenario{variant: v, workload: w, eng: eng, limit: limit, opa: opa, bundle: bundle}
	for i, wf := range w.files {
		facts, err := input.Parse(wf.name, wf.src)
		if err != nil {
			return nil, err
		}
		run := runContext(wf.name)
		doc := input.Build(facts, run)
		body, err := json.Marshal(map[string]any{"input": doc})
		if err != nil {
			return nil, fmt.Errorf("%s: encode the input: %w", wf.name, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("input-%s-%d.json", w.name, i))
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, raw, 0o644); err != nil {
			return nil, err
		}
		s.inputs = append(s.inputs, prepared{wf: wf, run: run, value: doc.Value(), body: body, file: file})
	}
	return s, nil
}

func (s *scenario) input(i int) prepared { return s.inputs[i%len(s.inputs)] }

// coldTask is runpolicy as the server runs it on a workflow it has never
// seen: hash the bytes, miss the cache, parse and normalize, add the run
// context, evaluate. Each decision's bytes differ by a comment line.
func (s *scenario) coldTask(ctx context.Context, cache *input.Cache, seq *atomic.Int64) task {
	return s.cold(cache, seq, func(d *input.Document) (any, error) { return s.eng.Eval(ctx, d) })
}

// cold returns the task that, for decision i, makes the input document
// from bytes never seen (hash them, miss the cache, parse and normalize,
// add the run context) and hands it to finish.
func (s *scenario) cold(cache *input.Cache, seq *atomic.Int64, finish func(*input.Document) (any, error)) task {
	return func(i int) func() (any, error) {
		in := s.input(i)
		src := edited(in.wf.src, int(seq.Add(1)))
		return func() (any, error) {
			facts, err := cache.Get(in.wf.name, src)
			if err != nil {
				return nil, err
			}
			return finish(input.Build(facts, in.run))
		}
	}
}

// warmCache returns a cache that holds the facts of every input.
func (s *scenario) warmCache() *input.Cache {
	c := input.NewCache(1024)
	for _, in := range s.inputs {
		if _, err := c.Get(in.wf.name, in.wf.src); err != nil {
			panic(err) // agree parsed every input already
		}
	}
	return c
}

// warmTask is the same on a workflow whose content was seen before: the
// cache returns its facts.
func (s *scenario) warmTask(ctx context.Context, cache *input.Cache) task {
	return func(i int) func() (any, error) {
		in := s.input(i)
		return func() (any, error) {
			facts, err := cache.Get(in.wf.name, in.wf.src)
			if err != nil {
				return nil, err
			}
			return s.eng.Eval(ctx, input.Build(facts, in.run))
		}
	}
}

// limitTask evaluates the pre-normalized input, already OPA's value type,
// with the query prepared once: what no wrapper around OPA can beat. Like
// the engine, it hands OPA a Cancel of its own, which spares a goroutine
// per evaluation.
func (s *scenario) limitTask(ctx context.Context) task {
	return func(i int) func() (any, error) {
		in := s.input(i)
		return func() (any, error) {
			cancel := topdown.NewCancel()
			defer context.AfterFunc(ctx, cancel.Cancel)()
			rs, err := s.limit.Eval(ctx, rego.EvalParsedInput(in.value), rego.EvalExternalCancel(cancel))
			if err != nil {
				return nil, err
			}
			if len(rs) == 0 || len(rs[0].Expressions) == 0 {
				return nil, fmt.Errorf("%s: undefined", engine.DecisionQuery)
			}
			return rs[0].Expressions[0].Value, nil
		}
	}
}

// sidecarTask POSTs the pre-normalized input to stock opa over loopback.
// Encoding the input is left out, which favours the sidecar.
func (s *scenario) sidecarTask(ctx context.Context, srv *opaServer) task {
	return func(i int) func() (any, error) {
		in := s.input(i)
		return func() (any, error) { return srv.decide(ctx, in.body) }
	}
}

// evalTask runs stock `opa eval` per decision and keeps the largest peak
// RSS of its processes.
func (s *scenario) evalTask(ctx context.Context, peak *peakRSS) task {
	return func(i int) func() (any, error) {
		// Spread the few runs over the workload's files.
		in := s.input(i * max(1, len(s.inputs)/5))
		return func() (any, error) {
			d, rss, err := evalOnce(ctx, s.opa, s.bundle, in.file)
			peak.add(rss)
			return d, err
		}
	}
}

// parseTask is actionlint's Parse of the same bytes the cold contender
// reads: the parser's limit.
func (s *scenario) parseTask(seq *atomic.Int64) task {
	return func(i int) func() (any, error) {
		in := s.input(i)
		src := edited(in.wf.src, int(seq.Add(1)))
		return func() (any, error) {
			wf, errs := actionlint.Parse(src)
			if wf == nil {
				return nil, fmt.Errorf("%s: actionlint: %v", in.wf.name, errs)
			}
			return wf, nil
		}
	}
}

// normalizeTask is the cold contender up to the evaluation: hash the bytes,
// miss the cache, parse and normalize, and build the input document as
// OPA's value.
func (s *scenario) normalizeTask(cache *input.Cache, seq *atomic.Int64) task {
	return s.cold(cache, seq, func(d *input.Document) (any, error) { return d.Value(), nil })
}

// peakRSS keeps the largest of several processes' peak RSS.
type peakRSS struct {
	mu   sync.Mutex
	peak uint64
}

func (p *peakRSS) add(n uint64) {
	p.mu.Lock()
	p.peak = max(p.peak, n)
	p.mu.Unlock()
}

func (p *peakRSS) get() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// agree makes one decision on every file of the workload with each
// decision contender and fails when they differ, so that a contender that
// silently evaluates something else cannot be measured. opa eval, being
// slow, judges only the first file.
func (s *scenario) agree(ctx context.Context, srv *opaServer) error {
	for i, in := range s.inputs {
		facts, err := input.NewCache(1).Get(in.wf.name, in.wf.src) // a fresh cache: the cold path
		if err != nil {
			return err
		}
		d, err := s.eng.Eval(ctx, input.Build(facts, in.run))
		if err != nil {
			return err
		}
		want, err := verdictOf(d)
		if err != nil {
			return err
		}
		if len(want.Violations)+len(want.Warnings) == 0 && len(s.inputs) == 1 {
			return fmt.Errorf("%s: runpolicy found nothing to report, so the check proves little: pick another input", in.wf.name)
		}
		others := map[string]task{opaLimit: s.limitTask(ctx), opaSidecar: s.sidecarTask(ctx, srv)}
		if i == 0 {
			others[opaEval] = s.evalTask(ctx, &peakRSS{})
		}
		for name, t := range others {
			res, err := t(i)()
			if err != nil {
				return fmt.Errorf("%s: %s: %w", in.wf.name, name, err)
			}
			got, err := verdictOf(res)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", in.wf.name, name, err)
			}
			if got.String() != want.String() {
				return fmt.Errorf("%s (%s settings): %s decided\n%s\nbut runpolicy decided\n%s", in.wf.name, s.variant.name, name, got, want)
			}
		}
	}
	return nil
}
