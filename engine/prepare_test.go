package engine

import (
	"strings"
	"testing"
)

// TestLoadDerivesData checks what the engine adds to the data at load
// time: the policy packages it compiled, and the aggregator's prepared
// value, which policies read instead of rebuilding indexes per decision.
func TestLoadDerivesData(t *testing.T) {
	probe := `package runpolicy.policies.probe

default prepared := "none"

prepared := data.internal.runpolicy.prepared

deny contains {"message": sprintf("%v %v", [data.internal.runpolicy.packages, prepared])} if input.workflow.name == "CI"
`
	tests := []struct {
		name    string
		modules map[string]string
		want    string
	}{
		{"with a prepared rule", map[string]string{
			"main.rego": aggregator, "no_ci.rego": denyCI, "probe.rego": probe,
			"prepared.rego": "package runpolicy.main\n\nprepared := {\"lists\": count(data.runpolicy.settings.lists)}\n",
		}, `["no_ci", "probe"] {"lists": 2}`},
		{"without one", map[string]string{"main.rego": aggregator, "no_ci.rego": denyCI, "probe.rego": probe}, `["no_ci", "probe"] none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"lists": []any{"a", "b"}}}}
			e := mustEngine(t, []Bundle{testBundle("main", "r1", nil, tt.modules)}, WithData(data))
			var got []string
			for _, v := range evalName(t, e, "CI").Violations {
				if v.Policy == "probe" {
					got = append(got, v.Message)
				}
			}
			if strings.Join(got, "|") != tt.want {
				t.Errorf("probe saw %q, want %q", got, tt.want)
			}
		})
	}
}
