package bundles

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/policies"
)

// testTimeout bounds one test rule, as `opa test --timeout` does.
const testTimeout = 30 * time.Second

// runTests runs a bundle's *_test.rego modules with OPA's tester against
// the set it would be activated with (plus the built-in bundle when the
// engine carries it), so tests can use the built-in library and the
// settings as they will be. Any failing or erroring test refuses the
// revision.
func runTests(ctx context.Context, builtin bool, allow []string, set []engine.Bundle, tests []bundle.ModuleFile) error {
	if len(tests) == 0 {
		return nil
	}
	// A bundle's tests run at activation, on the server: they get no more
	// network than its policies.
	caps, err := engine.Capabilities(allow...)
	if err != nil {
		return fmt.Errorf("tests: %w", err)
	}
	if builtin {
		b, err := policies.Bundle()
		if err != nil {
			return err
		}
		set = append([]engine.Bundle{{Name: engine.BuiltinName, Bundle: b}}, set...)
	}
	mods, data, err := engine.Modules(set)
	if err != nil {
		return fmt.Errorf("tests: %w", err)
	}
	for _, t := range tests {
		mod := t.Parsed
		if mod == nil {
			if mod, err = ast.ParseModuleWithOpts(t.Path, string(t.Raw), ast.ParserOptions{RegoVersion: ast.RegoV1}); err != nil {
				return fmt.Errorf("tests: %w", err)
			}
		}
		mods["test:"+t.Path] = mod
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithCapabilities(caps)).
		SetStore(store).
		SetModules(mods).
		SetTimeout(testTimeout).
		RunTests(ctx, nil)
	if err != nil {
		return fmt.Errorf("tests: %w", err)
	}
	var failed []string
	total := 0
	for r := range ch {
		if r.Skip {
			continue
		}
		total++
		switch {
		case r.Error != nil:
			failed = append(failed, fmt.Sprintf("%s.%s (%v)", r.Package, r.Name, r.Error))
		case r.Fail:
			failed = append(failed, r.Package+"."+r.Name)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tests: %w", err)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%d of %d tests failed: %s", len(failed), total, strings.Join(failed, ", "))
	}
	return nil
}
