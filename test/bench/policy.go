package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/policies"
)

// policySet is the built-in bundle with one variant's settings, as the
// contenders that do not go through runpolicy's engine see it: the same
// compiled modules and the same data the engine holds.
type policySet struct {
	modules  []bundle.ModuleFile // the built-in bundle's modules, tests left out
	compiler *ast.Compiler
	// data is the built-in data with the variant's settings deep-merged
	// over it, plus what the engine derives at load time:
	// data.internal.runpolicy.packages and data.internal.runpolicy.prepared.
	data map[string]any
}

func loadPolicySet(ctx context.Context, v variant) (*policySet, error) {
	b, err := policies.Bundle()
	if err != nil {
		return nil, err
	}
	// The same compiled modules and data the engine holds, including what it
	// derives at load time; a sidecar's bundle ships both in its data.
	compiler, data, err := engine.Compile(ctx, []engine.Bundle{{Name: engine.BuiltinName, Bundle: b}}, v.data...)
	if err != nil {
		return nil, err
	}
	return &policySet{modules: b.Modules, compiler: compiler, data: data}, nil
}

// prepare prepares the decision query once, as an embedder of OPA's rego
// package would: the engine's limit.
func (p *policySet) prepare(ctx context.Context) (rego.PreparedEvalQuery, error) {
	store := inmem.NewFromObjectWithOpts(p.data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	return rego.New(
		rego.Query(engine.DecisionQuery),
		rego.Compiler(p.compiler),
		rego.Store(store),
		rego.StoreReadAST(true),
	).PrepareForEval(ctx)
}

// writeBundle writes the set as a bundle directory stock opa loads with
// --bundle: the policy modules and one data.json.
func (p *policySet) writeBundle(dir string) error {
	for _, m := range p.modules {
		path := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(m.Path, "/")))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, m.Raw, 0o644); err != nil {
			return err
		}
	}
	data, err := json.Marshal(p.data)
	if err != nil {
		return fmt.Errorf("encode data.json: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "data.json"), data, 0o644)
}
