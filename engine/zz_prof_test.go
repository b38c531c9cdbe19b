package engine

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/open-policy-agent/opa/v1/profiler"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/runpolicy/runpolicy/policies"
)

func TestZZProfile(t *testing.T) {
	kind := os.Getenv("KIND")
	n := 3000
	fmt.Sscan(os.Getenv("N"), &n)
	b, _ := policies.Bundle()
	ctx := context.Background()
	compiler, data, err := Compile(ctx, []Bundle{{Name: BuiltinName, Bundle: b}})
	if err != nil {
		t.Fatal(err)
	}
	in := scalingInput(t, kind, n)
	p := profiler.New()
	_, err = rego.New(rego.Query(DecisionQuery), rego.Compiler(compiler), rego.Store(inmem.NewFromObject(data)), rego.ParsedInput(in), rego.QueryTracer(p)).Eval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.ReportTopNResults(15, []string{"total_time_ns"}) {
		fmt.Printf("%8.1fms %7d evals %s:%d\n", float64(s.ExprTimeNs)/1e6, s.NumEval, s.Location.File, s.Location.Row)
	}
}
