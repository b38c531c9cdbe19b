package main

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

// The benchmarks below split runpolicy's cold decision into its parts, for
// profiling (go test -bench . -cpuprofile): the harness measures the whole.

func typicalWorkflow(b *testing.B) workflow {
	b.Helper()
	root, err := repoRoot()
	if err != nil {
		b.Fatal(err)
	}
	ws, err := loadWorkloads(root)
	if err != nil {
		b.Fatal(err)
	}
	return ws[0].files[0]
}

func BenchmarkParser(b *testing.B) {
	wf := typicalWorkflow(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if w, _ := actionlint.Parse(edited(wf.src, i)); w == nil {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	wf := typicalWorkflow(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := input.Parse(wf.name, edited(wf.src, i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildValue(b *testing.B) {
	wf := typicalWorkflow(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		f, err := input.Parse(wf.name, edited(wf.src, i))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_ = input.Build(f, runContext(wf.name)).Value()
	}
}

func BenchmarkDecision(b *testing.B) {
	wf := typicalWorkflow(b)
	ctx := context.Background()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ps, err := loadPolicySet(ctx, variant{name: "default"})
	if err != nil {
		b.Fatal(err)
	}
	limit, err := ps.prepare(ctx)
	if err != nil {
		b.Fatal(err)
	}
	s, err := newScenario(eng, limit, "", "", b.TempDir(), variant{name: "default"}, workload{name: "typical", files: []workflow{wf}})
	if err != nil {
		b.Fatal(err)
	}
	warm := input.NewCache(16)
	var seq atomic.Int64
	tasks := map[string]task{
		"cold":      s.coldTask(ctx, input.NewCache(1024), &seq),
		"warm":      s.warmTask(ctx, warm),
		"limit":     s.limitTask(ctx),
		"normalize": s.normalizeTask(input.NewCache(1024), &seq),
	}
	for name, t := range tasks {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := t(i)(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
