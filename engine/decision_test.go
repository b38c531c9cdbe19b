package engine

import (
	"encoding/json"
	"testing"
)

func TestDecodeSortsFindings(t *testing.T) {
	// As OPA's set order can give them: by job first.
	raw := `{"allow": false, "violations": [
		{"job": "a", "line": 3, "message": "m", "mode": "enforce", "policy": "zeta"},
		{"job": "b", "line": 9, "message": "m", "mode": "dry_run", "policy": "alpha"},
		{"job": "b", "line": 2, "message": "n", "mode": "dry_run", "policy": "alpha"},
		{"job": "b", "line": 2, "message": "m", "mode": "dry_run", "policy": "alpha"},
		{"message": "no job", "mode": "dry_run", "policy": "alpha"}
	], "warnings": [
		{"message": "w2", "policy": "b"},
		{"message": "w1", "policy": "a"}
	]}`
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		policy, job string
		line        int
		message     string
	}
	want := []key{{"alpha", "", 0, "no job"}, {"alpha", "b", 2, "m"}, {"alpha", "b", 2, "n"}, {"alpha", "b", 9, "m"}, {"zeta", "a", 3, "m"}}
	if len(d.Violations) != len(want) {
		t.Fatalf("got %d violations, want %d", len(d.Violations), len(want))
	}
	for i, v := range d.Violations {
		if got := (key{v.Policy, v.Job, v.Line, v.Message}); got != want[i] {
			t.Errorf("violation %d = %+v, want %+v", i, got, want[i])
		}
	}
	if d.Warnings[0].Message != "w1" || d.Warnings[1].Message != "w2" {
		t.Errorf("warnings in order %q, %q; want w1, w2", d.Warnings[0].Message, d.Warnings[1].Message)
	}
	if d.Allow {
		t.Error("allow = true, want false as decoded")
	}
}
