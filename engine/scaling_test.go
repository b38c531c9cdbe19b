package engine

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/runpolicy/runpolicy/engine/input"
)

// scalingKinds are the parts of the input a hostile or huge workflow can
// grow, each by n references: n distinct actions used, n distinct secrets
// read, n jobs, n steps of one job.
var scalingKinds = []string{"uses", "secrets", "jobs", "steps"}

// scalingInput is a run on a feature branch of a modified workflow (so
// every built-in policy judges it in full) with n references of kind.
func scalingInput(tb testing.TB, kind string, n int) ast.Value {
	tb.Helper()
	const path = ".github/workflows/ci.yml"
	f, err := input.Parse(path, []byte("name: CI\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"))
	if err != nil {
		tb.Fatal(err)
	}
	c := input.LocalContext(path)
	c.Run.Branch, c.Run.IsDefaultBranch = "feature", false
	d := input.Build(f, c)
	d.Workflow.Modified, d.Workflow.DefaultBranchSHA256 = true, nil
	job := func(id string, line int) *input.Job {
		return &input.Job{Name: id, Line: line, RunsOn: input.RunsOn{Labels: []string{"ubuntu-latest"}}, Secrets: []string{}}
	}
	runStep := func(i, line int) input.Step {
		return input.Step{Index: i, Line: line, Run: true, With: map[string]string{}}
	}
	d.Jobs, d.Uses = map[string]*input.Job{}, []input.Use{}
	d.Secrets = input.Secrets{Names: []string{}, Refs: []input.SecretRef{}}
	switch kind {
	case "uses":
		j := job("build", 4)
		for i := range n {
			u := input.ParseUses(fmt.Sprintf("owner%d/action%d@v%d", i, i, i%7+1), false)
			step := i
			u.Job, u.Step, u.Line = "build", &step, 7+i
			d.Uses = append(d.Uses, u)
			j.Steps = append(j.Steps, input.Step{Index: i, Line: 7 + i, Uses: &d.Uses[len(d.Uses)-1], With: map[string]string{}})
		}
		for i := range j.Steps { // append moved the uses: point the steps at their final place
			j.Steps[i].Uses = &d.Uses[i]
		}
		d.Jobs["build"] = j
	case "secrets":
		j := job("build", 4)
		j.Steps = []input.Step{runStep(0, 7)}
		d.Jobs["build"] = j
		zero := 0
		for i := range n {
			name := fmt.Sprintf("SECRET_%d", i)
			d.Secrets.Names = append(d.Secrets.Names, name)
			d.Secrets.Refs = append(d.Secrets.Refs, input.SecretRef{Name: name, Job: "build", Step: &zero, Context: input.CtxEnv, Line: 8 + i})
		}
	case "jobs":
		for i := range n {
			id := fmt.Sprintf("job%d", i)
			j := job(id, 4+3*i)
			j.Steps = []input.Step{runStep(0, 6+3*i)}
			d.Jobs[id] = j
		}
	case "steps":
		j := job("build", 4)
		for i := range n {
			j.Steps = append(j.Steps, runStep(i, 7+i))
		}
		d.Jobs["build"] = j
	default:
		tb.Fatalf("unknown kind %s", kind)
	}
	return d.Value()
}

// BenchmarkScaling is one decision of the built-in policies on an input
// with 1,000, 10,000 and 100,000 references of each kind. Every policy
// must stay linear (or n log n): ns/op divided by n should not grow with n.
func BenchmarkScaling(b *testing.B) {
	e := benchEngine(b)
	ctx := context.Background()
	for _, kind := range scalingKinds {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				in := scalingInput(b, kind, n)
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := e.EvalValue(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/ref")
				// CPU time, garbage collection included, depends less on
				// what else the machine runs than wall time does.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(n), "cpu-ns/ref")
			})
		}
	}
}

// evalEvents counts the evaluation steps OPA traces for one decision: a
// measure of the policies' work that, unlike time, does not depend on the
// machine or its load.
type evalEvents struct{ n int }

func (c *evalEvents) Enabled() bool               { return true }
func (c *evalEvents) TraceEvent(topdown.Event)    { c.n++ }
func (c *evalEvents) Config() topdown.TraceConfig { return topdown.TraceConfig{} }

// TestScalingIsLinear checks that the built-in policies' cost per
// reference stays within 2× from 1,000 to 100,000 references of each kind,
// counting allocations and evaluation steps rather than time: a rule that
// is quadratic through nested iteration allocates and steps per pair.
// Evaluation steps are traced, which costs far more than the evaluation,
// so they are compared from 1,000 to 10,000, and so are allocations with
// -short. Times are in BENCHMARKS.md
// (BenchmarkScaling): a lookup that scans inside a built-in function (x in
// an array) shows there and not here.
func TestScalingIsLinear(t *testing.T) {
	e := builtinEngine(t, nil)
	ctx := context.Background()
	rev := e.cur.Load()
	large := 100000
	if testing.Short() {
		large = 10000 // building and judging 100,000 references of each kind takes seconds
	}
	for _, kind := range scalingKinds {
		t.Run(kind, func(t *testing.T) {
			allocs := map[int]float64{}
			for _, n := range []int{1000, large} {
				in := scalingInput(t, kind, n)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if _, err := e.EvalValue(ctx, in); err != nil {
					t.Fatal(err)
				}
				runtime.ReadMemStats(&after)
				allocs[n] = float64(after.Mallocs-before.Mallocs) / float64(n)
			}
			steps := map[int]float64{}
			for _, n := range []int{1000, 10000} {
				c := &evalEvents{}
				q := rego.New(rego.Query(DecisionQuery), rego.Compiler(rev.compiler), rego.Store(rev.store), rego.ParsedInput(scalingInput(t, kind, n)), rego.QueryTracer(c))
				if _, err := q.Eval(ctx); err != nil {
					t.Fatal(err)
				}
				steps[n] = float64(c.n) / float64(n)
			}
			for _, m := range []struct {
				what         string
				per          map[int]float64
				small, large int
			}{{"allocations", allocs, 1000, large}, {"evaluation steps", steps, 1000, 10000}} {
				s, l := m.per[m.small], m.per[m.large]
				t.Logf("%s per reference: %.1f at %d, %.1f at %d", m.what, s, m.small, l, m.large)
				if l > 2*s {
					t.Errorf("%s per %s reference grew from %.1f at %d to %.1f at %d: a policy is superlinear", m.what, kind, s, m.small, l, m.large)
				}
			}
		})
	}
}
