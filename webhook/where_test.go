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
		if got := where(tt.v, ""); got != tt.want {
			t.Errorf("where(%+v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestLineURL: a finding links its line of the workflow file at the head
// commit, on the run's server, with the path escaped so that no file name
// breaks out of the link.
func TestLineURL(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		t    target
		line int
		want string
	}{
		{target{Repository: "acme/api", HeadSHA: sha, Path: ".github/workflows/ci.yml"}, 12,
			"https://github.com/acme/api/blob/" + sha + "/.github/workflows/ci.yml#L12"},
		{target{Repository: "acme/api", HeadSHA: sha, Path: ".github/workflows/ci.yml", URL: "https://ghe.example/acme/api/actions/runs/1"}, 3,
			"https://ghe.example/acme/api/blob/" + sha + "/.github/workflows/ci.yml#L3"},
		{target{Repository: "acme/api", HeadSHA: sha, Path: ".github/workflows/a) [x](y.yml"}, 1,
			"https://github.com/acme/api/blob/" + sha + "/.github/workflows/a%29%20%5Bx%5D%28y.yml#L1"},
		{target{Repository: "acme/api", HeadSHA: sha, Path: ".github/workflows/ci.yml"}, 0, ""},
	} {
		if got := lineURL(&tc.t, tc.line); got != tc.want {
			t.Errorf("lineURL(%s, %d) = %q, want %q", tc.t.Path, tc.line, got, tc.want)
		}
	}
}
