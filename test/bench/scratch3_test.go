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

func BenchmarkQueries(b *testing.B) {
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
	for _, q := range []string{"data.runpolicy.main.decision", "data.runpolicy.policies.allowed_actions.deny", "data.runpolicy.policies.compromised_actions.deny",
		"data.runpolicy.policies.secret_exfiltration.deny", "data.runpolicy.policies.harden_runner.deny", "data.runpolicy.policies.runner_labels.deny",
		"data.runpolicy.main.violations", "data.runpolicy.main.active", "data.runpolicy.lib.settings(\"allowed_actions\")", "data.runpolicy.lib.patterns(\"allowed_actions\", \"allow\")", "data.runpolicy.policies.allowed_actions.allowed", "data.runpolicy.policies.compromised_actions.warn", "data.runpolicy.policies.runner_labels.warn"} {
		pq, err := rego.New(rego.Query(q), rego.Compiler(c), rego.Store(store), rego.StoreReadAST(true)).PrepareForEval(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				pq.Eval(context.Background(), rego.EvalParsedInput(v))
			}
		})
	}
}
