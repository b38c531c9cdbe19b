package webhook

import (
	"testing"

	"github.com/runpolicy/runpolicy/engine"
)

// TestWhereCountsStepsFromOne checks that reports name steps as people
// count them, while the violation's step stays the input's 0-based index.
func TestWhereCountsStepsFromOne(t *testing.T) {
	zero, two := 0, 2
	tests := []struct {
		v    engine.Violation
		want string
	}{
		{engine.Violation{Job: "build", Step: &zero, Line: 7}, "job `build`, step 1, line 7"},
		{engine.Violation{Job: "build", Step: &two, Uses: "a/b@v1"}, "job `build`, step 3, `a/b@v1`"},
		{engine.Violation{Job: "build", Line: 4}, "job `build`, line 4"},
	}
	for _, tt := range tests {
		if got := where(tt.v); got != tt.want {
			t.Errorf("where(%+v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
