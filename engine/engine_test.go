package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// aggregator is a minimal runpolicy.main for tests that leave the built-in
// bundle out: it reports every deny of every policy package with mode
// enforce unless settings say otherwise.
const aggregator = `package runpolicy.main

default allow := false

mode(name) := m if {
	m := data.runpolicy.settings[name].mode
} else := "enforce"

violations := [object.union(v, {"policy": name, "mode": mode(name)}) |
	some name
	mode(name) != "off"
	some v in data.runpolicy.policies[name].deny
]

allow if count([v | some v in violations; v.mode == "enforce"]) == 0

decision := {"allow": allow, "violations": violations, "warnings": []}

config_errors contains sprintf("%s: unknown mode %q", [name, m]) if {
	some name, s in data.runpolicy.settings
	m := s.mode
	not m in {"enforce", "dry_run", "off"}
}
`

func testBundle(name, revision string, data map[string]any, modules map[string]string) Bundle {
	b := &bundle.Bundle{Data: data}
	b.Manifest.Revision = revision
	for path, src := range modules {
		b.Modules = append(b.Modules, bundle.ModuleFile{Path: path, Raw: []byte(src)})
	}
	return Bundle{Name: name, Bundle: b}
}

func mustEngine(t *testing.T, bundles []Bundle, opts ...Option) *Engine {
	t.Helper()
	e, err := New(context.Background(), bundles, append([]Option{WithoutBuiltin()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func evalName(t *testing.T, e *Engine, name string) *Decision {
	t.Helper()
	in := ast.NewObject(ast.Item(ast.StringTerm("workflow"), ast.ObjectTerm(ast.Item(ast.StringTerm("name"), ast.StringTerm(name)))))
	d, err := e.EvalValue(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const denyCI = `package runpolicy.policies.no_ci

deny contains {"message": "CI is not allowed", "line": 3} if input.workflow.name == "CI"
`

func TestEvalAggregatesModes(t *testing.T) {
	tests := []struct {
		name      string
		settings  map[string]any
		wantAllow bool
		wantMode  string // "" means no violation
	}{
		{"default mode enforces", nil, false, "enforce"},
		{"dry run reports but allows", map[string]any{"no_ci": map[string]any{"mode": "dry_run"}}, true, "dry_run"},
		{"off does nothing", map[string]any{"no_ci": map[string]any{"mode": "off"}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]any{}
			if tt.settings != nil {
				data = map[string]any{"runpolicy": map[string]any{"settings": tt.settings}}
			}
			e := mustEngine(t, []Bundle{testBundle("main", "r1", nil, map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI})}, WithData(data))
			d := evalName(t, e, "CI")
			if d.Allow != tt.wantAllow {
				t.Errorf("allow = %v, want %v", d.Allow, tt.wantAllow)
			}
			if tt.wantMode == "" {
				if len(d.Violations) != 0 {
					t.Errorf("violations = %+v, want none", d.Violations)
				}
				return
			}
			if len(d.Violations) != 1 {
				t.Fatalf("violations = %+v, want one", d.Violations)
			}
			v := d.Violations[0]
			if v.Policy != "no_ci" || v.Mode != tt.wantMode || v.Line != 3 || v.Message != "CI is not allowed" {
				t.Errorf("violation = %+v", v)
			}
			if d.Revisions["main"] != "r1" {
				t.Errorf("revisions = %v", d.Revisions)
			}
		})
	}
}

func TestDataMergesOverBundles(t *testing.T) {
	defaults := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"no_ci": map[string]any{"mode": "dry_run", "other": 1}}}}
	override := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"no_ci": map[string]any{"mode": "enforce"}}}}
	b := testBundle("main", "r1", defaults, map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI})
	e := mustEngine(t, []Bundle{b}, WithData(override))
	if d := evalName(t, e, "CI"); d.Allow || d.Violations[0].Mode != "enforce" {
		t.Errorf("override did not win: %+v", d)
	}
	// The bundle's own data must not have been modified by the merge.
	if got := defaults["runpolicy"].(map[string]any)["settings"].(map[string]any)["no_ci"].(map[string]any)["mode"]; got != "dry_run" {
		t.Errorf("bundle data mutated: mode = %v", got)
	}
}

func TestLoadRefusesBadSetsAndKeepsTheOld(t *testing.T) {
	good := testBundle("main", "good", nil, map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI})
	e := mustEngine(t, []Bundle{good})
	tests := []struct {
		name    string
		bundles []Bundle
		wantErr string
	}{
		{"syntax error", []Bundle{testBundle("main", "broken", nil, map[string]string{"main.rego": aggregator, "no_ci.rego": "package runpolicy.policies.no_ci\n\ndeny contains {"})}, "rego_parse_error"},
		{"invalid settings", []Bundle{testBundle("main", "badmode", map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"no_ci": map[string]any{"mode": "enforced"}}}}, map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI})}, `unknown mode "enforced"`},
		{"rules added to another bundle's policy", []Bundle{good, testBundle("team", "t1", nil, map[string]string{"x.rego": "package runpolicy.policies.no_ci.extra\n\nx := 1\n"})}, `belongs to policy "no_ci" of bundle main`},
		{"overlapping roots", []Bundle{good, testBundle("team", "t1", nil, map[string]string{"x.rego": "package other\n\nx := 1\n"}), testBundle("team2", "t1", nil, map[string]string{"y.rego": "package other.y\n\ny := 1\n"})}, "overlaps"},
		{"no aggregator", []Bundle{testBundle("main", "empty", nil, map[string]string{"x.rego": "package other\n\nx := 1\n"})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Load(context.Background(), tt.bundles)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if _, err := e.EvalValue(context.Background(), ast.NewObject()); err == nil || !strings.Contains(err.Error(), "undefined") {
					t.Errorf("eval without aggregator: err = %v, want undefined", err)
				}
				if err := e.Load(context.Background(), []Bundle{good}); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tt.wantErr)
			}
			if rev := e.Revisions()["main"]; rev != "good" {
				t.Errorf("active revision = %q after a failed load, want good", rev)
			}
			if d := evalName(t, e, "CI"); d.Allow {
				t.Errorf("old policy no longer enforced after a failed load")
			}
		})
	}
}

func TestConcurrentEvalDuringSwaps(t *testing.T) {
	marker := func(rev string) Bundle {
		return testBundle("main", rev, nil, map[string]string{
			"main.rego": aggregator,
			"rev.rego":  "package runpolicy.policies.rev\n\ndeny contains {\"message\": \"" + rev + "\"} if input.workflow.name == \"CI\"\n",
		})
	}
	e := mustEngine(t, []Bundle{marker("r0")})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := ast.NewObject(ast.Item(ast.StringTerm("workflow"), ast.ObjectTerm(ast.Item(ast.StringTerm("name"), ast.StringTerm("CI")))))
				d, err := e.EvalValue(context.Background(), in)
				if err != nil {
					errs <- err.Error()
					return
				}
				if len(d.Violations) != 1 || d.Violations[0].Message != d.Revisions["main"] {
					errs <- "half-loaded decision: " + d.Revisions["main"]
					return
				}
			}
		}()
	}
	for i := 1; i <= 20; i++ {
		if err := e.Load(context.Background(), []Bundle{marker("r" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

func TestEmptyEngineWaitsForLoad(t *testing.T) {
	e, err := New(context.Background(), nil, WithoutBuiltin())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EvalValue(context.Background(), ast.NewObject()); err == nil || !strings.Contains(err.Error(), "no policy bundle") {
		t.Fatalf("eval before load: err = %v", err)
	}
	if err := e.Load(context.Background(), []Bundle{testBundle("main", "r1", nil, map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI})}); err != nil {
		t.Fatal(err)
	}
	if d := evalName(t, e, "CI"); d.Allow {
		t.Error("loaded policy not enforced")
	}
}

func TestConfigErrorsStayOneBoundedLine(t *testing.T) {
	settings := map[string]any{}
	for i := 0; i < 1000; i++ {
		settings["p"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+"_"+strings.Repeat("y", i/26)] = map[string]any{"mode": "bogus"}
	}
	_, err := New(context.Background(), []Bundle{testBundle("main", "r1", nil, map[string]string{"main.rego": aggregator})},
		WithoutBuiltin(), WithData(map[string]any{"runpolicy": map[string]any{"settings": settings}}))
	if err == nil {
		t.Fatal("invalid settings loaded")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 1000 || !strings.Contains(msg, "more") {
		t.Errorf("error is not one bounded line (%d bytes): %.200s", len(msg), msg)
	}
}

// TestEvalStopsWhenTheContextEnds checks that a cancelled or expired context
// stops an evaluation: the engine hands OPA its own Cancel rather than
// letting OPA watch the context.
func TestEvalStopsWhenTheContextEnds(t *testing.T) {
	// A policy that would take minutes: 10^7 × 10^7 pairs.
	slow := `package runpolicy.policies.slow

deny contains {"message": "slow"} if {
	some x in numbers.range(1, 10000000)
	some y in numbers.range(1, 10000000)
	x + y == 0
}
`
	e := mustEngine(t, []Bundle{testBundle("main", "r1", nil, map[string]string{"main.rego": aggregator, "slow.rego": slow})})
	in := ast.NewObject()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	for name, ctx := range map[string]context.Context{"cancelled before": cancelled, "deadline during": expired} {
		t.Run(name, func(t *testing.T) {
			_, err := e.EvalValue(ctx, in)
			if err == nil || !strings.Contains(err.Error(), "cancel") {
				t.Fatalf("err = %v, want the evaluation cancelled", err)
			}
		})
	}
}
