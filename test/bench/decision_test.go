package main

import (
	"encoding/json"
	"testing"

	"github.com/runpolicy/runpolicy/engine"
)

// TestVerdictOf checks that runpolicy's typed decision and OPA's raw
// decision reduce to the same verdict when, and only when, they say the
// same thing.
func TestVerdictOf(t *testing.T) {
	step := 0
	typed := &engine.Decision{
		Allow: false,
		Violations: []engine.Violation{
			{Policy: "allowed_actions", Mode: "enforce", Message: "evil/x@v1 is not allowed", Job: "build", Step: &step, Uses: "evil/x@v1", Line: 12},
			{Policy: "secret_exfiltration", Mode: "dry_run", Message: "reads secrets"},
		},
		Warnings: []engine.Violation{{Policy: "runner_labels", Message: "dynamic", Job: "build", Line: 3}},
	}
	raw := func(edit func(v []any)) map[string]any {
		v := []any{
			map[string]any{"policy": "allowed_actions", "mode": "enforce", "message": "evil/x@v1 is not allowed", "job": "build", "step": json.Number("0"), "uses": "evil/x@v1", "line": json.Number("12"), "via": []any{}},
			map[string]any{"policy": "secret_exfiltration", "mode": "dry_run", "message": "reads secrets", "line": json.Number("0")},
		}
		if edit != nil {
			edit(v)
		}
		return map[string]any{"allow": false, "violations": v, "warnings": []any{
			map[string]any{"policy": "runner_labels", "message": "dynamic", "job": "build", "line": 3.0},
		}}
	}
	want, err := verdictOf(typed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		raw   any
		equal bool
	}{
		{"same decision", raw(nil), true},
		{"another message", raw(func(v []any) { v[1].(map[string]any)["message"] = "reads nothing" }), false},
		{"no step", raw(func(v []any) { delete(v[0].(map[string]any), "step") }), false},
		{"another line", raw(func(v []any) { v[0].(map[string]any)["line"] = json.Number("13") }), false},
		{"a finding less", map[string]any{"allow": false, "violations": raw(nil)["violations"].([]any)[:1], "warnings": raw(nil)["warnings"]}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verdictOf(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if (got.String() == want.String()) != tt.equal {
				t.Errorf("equal = %v, want %v:\n%s\n%s", !tt.equal, tt.equal, got, want)
			}
		})
	}
	for _, bad := range []any{nil, "allow", map[string]any{"allow": "yes"}, map[string]any{"allow": true, "violations": "none"}} {
		if _, err := verdictOf(bad); err == nil {
			t.Errorf("verdictOf(%v) = nil error, want one", bad)
		}
	}
}
