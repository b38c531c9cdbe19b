package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/policies"
)

func BenchmarkPE(b *testing.B) {
	bun, _ := policies.Bundle()
	mods, _, _ := engine.Modules([]engine.Bundle{{Name: "builtin", Bundle: bun}})
	raw, _ := os.ReadFile("/tmp/rpb/data.json")
	var data map[string]any
	util.UnmarshalJSON(raw, &data)
	c := ast.NewCompiler()
	c.Compile(mods)
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	rawIn, _ := os.ReadFile("/tmp/rpb-input.json")
	var in any
	json.Unmarshal(rawIn, &in)
	v, _ := ast.InterfaceToValue(in)
	q := "data.runpolicy.main.decision"
	pq, err := rego.New(rego.Query(q), rego.Compiler(c), rego.Store(store), rego.StoreReadAST(true)).PrepareForEval(context.Background(), rego.WithPartialEval())
	if err != nil {
		b.Fatal(err)
	}
	rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(v))
	j, _ := json.Marshal(rs)
	b.Log(len(j), err)
	b.Run("pe", func(b *testing.B) {
		for b.Loop() {
			pq.Eval(context.Background(), rego.EvalParsedInput(v))
		}
	})
}
