package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	// data.runpolicy.packages and data.runpolicy.prepared.
	data map[string]any
}

func loadPolicySet(ctx context.Context, v variant) (*policySet, error) {
	b, err := policies.Bundle()
	if err != nil {
		return nil, err
	}
	mods, data, err := engine.Modules([]engine.Bundle{{Name: engine.BuiltinName, Bundle: b}}, v.data...)
	if err != nil {
		return nil, err
	}
	schemas, err := policies.Schemas()
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().WithSchemas(schemas).WithUseTypeCheckAnnotations(true)
	if compiler.Compile(mods); compiler.Failed() {
		return nil, fmt.Errorf("compile the built-in bundle: %w", compiler.Errors)
	}
	p := &policySet{modules: b.Modules, compiler: compiler, data: data}

	// The engine lists the policy packages and indexes the list settings
	// once per load; a sidecar's bundle would ship both in its data.
	rp, _ := data["runpolicy"].(map[string]any)
	if rp == nil {
		return nil, fmt.Errorf("the built-in bundle has no data.runpolicy")
	}
	rp["packages"] = packageNames(compiler)
	prepared, err := p.evalData(ctx, "data.runpolicy.main.prepared")
	if err != nil {
		return nil, err
	}
	rp["prepared"] = prepared
	return p, nil
}

// packageNames lists the packages directly under data.runpolicy.policies.
func packageNames(c *ast.Compiler) []any {
	seen := map[string]bool{}
	for _, m := range c.Modules {
		parts := strings.Split(strings.TrimPrefix(m.Package.Path.String(), "data."), ".")
		if len(parts) >= 3 && parts[0] == "runpolicy" && parts[1] == "policies" {
			seen[parts[2]] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

func (p *policySet) evalData(ctx context.Context, query string) (any, error) {
	rs, err := rego.New(rego.Query(query), rego.Compiler(p.compiler), rego.Store(inmem.NewFromObject(p.data))).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("evaluate %s: undefined", query)
	}
	return rs[0].Expressions[0].Value, nil
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
