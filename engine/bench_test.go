package engine

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

// typicalWorkflow is the corpus's largest workflow, which the older
// benchmarks use; BenchmarkEvaluate also measures a median-sized one.
const typicalWorkflow = "../test/testdata/corpus/workflows/ossf__scorecard__main.yml"

// medianWorkflow is a workflow of the corpus's median size (3.4 KB).
const medianWorkflow = "../test/testdata/corpus/workflows/google__osv-scanner-action__osv-scanner-reusable.yml"

func benchEngine(b *testing.B, opts ...Option) *Engine {
	b.Helper()
	e, err := New(context.Background(), nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkNormalizeEvaluate is the command line's and a cold server's path:
// workflow bytes and run context to a decision with the built-in bundle.
func BenchmarkNormalizeEvaluate(b *testing.B) {
	src, err := os.ReadFile(typicalWorkflow)
	if err != nil {
		b.Fatal(err)
	}
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f, err := input.Parse(typicalWorkflow, src)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Eval(ctx, input.Build(f, input.LocalContext(typicalWorkflow))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdDecision is the harness's cold contender on the typical
// workflow (test/bench): bytes never seen before (a comment line differs
// each time) to a decision, normalizing included.
func BenchmarkColdDecision(b *testing.B) {
	const path = "../test/testdata/corpus/workflows/palantir__policy-bot__build.yml"
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		f, err := input.Parse(path, fmt.Appendf(src[:len(src):len(src)], "\n# %d\n", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Eval(ctx, input.Build(f, input.LocalContext(path))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate is one decision on a normalized document: the median
// and the largest corpus workflow, with the default settings and with
// 10,000-entry lists.
func BenchmarkEvaluate(b *testing.B) {
	for _, wf := range []struct{ name, path string }{{"typical", medianWorkflow}, {"largest", typicalWorkflow}} {
		src, err := os.ReadFile(wf.path)
		if err != nil {
			b.Fatal(err)
		}
		f, err := input.Parse(wf.path, src)
		if err != nil {
			b.Fatal(err)
		}
		in := input.Build(f, input.LocalContext(wf.path)).Value()
		for _, settings := range []struct {
			name string
			opts []Option
		}{{"default", nil}, {"entries=10000", []Option{WithData(largeSettings(10000))}}} {
			b.Run(wf.name+"/"+settings.name, func(b *testing.B) {
				e := benchEngine(b, settings.opts...)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.EvalValue(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEvaluateSettingsSize compares a decision with 10 and with 10,000
// allow-list entries and compromised actions: exact names and owner/* entries
// are object lookups, so the two should cost about the same.
func BenchmarkEvaluateSettingsSize(b *testing.B) {
	src, err := os.ReadFile(typicalWorkflow)
	if err != nil {
		b.Fatal(err)
	}
	f, err := input.Parse(typicalWorkflow, src)
	if err != nil {
		b.Fatal(err)
	}
	in := input.Build(f, input.LocalContext(typicalWorkflow)).Value()
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			e := benchEngine(b, WithData(largeSettings(n)))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.EvalValue(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// largeSettings enforces an allow list of n entries (exact names, owner/*
// and a few globs) and adds n compromised actions.
func largeSettings(n int) map[string]any {
	allow := []any{"actions/*", "github/*", "step-security/harden-runner", "ossf/*", "codecov/*"}
	compromised := map[string]any{}
	for i := 0; len(allow) < n; i++ {
		switch i % 3 {
		case 0:
			allow = append(allow, fmt.Sprintf("org-%d/action-%d", i, i))
		case 1:
			allow = append(allow, fmt.Sprintf("org-%d/*", i))
		default:
			allow = append(allow, fmt.Sprintf("org-%d/action-%d@v%d", i, i, i%7))
		}
	}
	for i := 0; i < n; i++ {
		compromised[fmt.Sprintf("evil-%d/action-%d", i, i)] = map[string]any{
			"advisories":   []any{fmt.Sprintf("GHSA-test-%d", i)},
			"summary":      "generated for the benchmark",
			"all_versions": i%2 == 0,
			"commits":      map[string]any{fmt.Sprintf("%040x", i): true},
			"versions":     map[string]any{"v1": true},
			"ranges":       []any{map[string]any{"introduced": "0", "fixed": "2.0.0"}},
		}
	}
	return map[string]any{"runpolicy": map[string]any{
		"settings":    map[string]any{"allowed_actions": map[string]any{"mode": "enforce", "allow": allow}},
		"compromised": map[string]any{"actions": compromised},
	}}
}
