package engine

import (
	"context"
	"slices"
	"testing"
)

func TestPoliciesFromMetadata(t *testing.T) {
	custom := testBundle("custom", "r1", nil, map[string]string{"mine.rego": `# METADATA
# title: Mine
# description: Denies what I say.
# related_resources:
#   - ref: https://example.com/mine
#   - ref: https://example.com/more
# custom:
#   severity: 7.2
package runpolicy.policies.mine

# METADATA
# title: not the policy's title
deny contains "no" if input.workflow.name == "no"
`, "bare.rego": `package runpolicy.policies.bare

deny contains "no" if input.workflow.name == "no"
`})
	e, err := New(context.Background(), []Bundle{custom})
	if err != nil {
		t.Fatal(err)
	}
	ps := e.Policies()
	for _, name := range []string{"allowed_actions", "compromised_actions", "harden_runner", "impostor_commits", "runner_labels", "secret_exfiltration", "vulnerable_actions", "workflow_syntax"} {
		p, ok := ps[name]
		if !ok || p.Title == "" || p.Description == "" || len(p.URLs) == 0 {
			t.Errorf("built-in %s: %+v, want title, description and related_resources from its METADATA", name, p)
		}
	}
	mine := ps["mine"]
	if mine.Title != "Mine" || mine.Description != "Denies what I say." || mine.Severity != "7.2" ||
		!slices.Equal(mine.URLs, []string{"https://example.com/mine", "https://example.com/more"}) {
		t.Errorf("mine = %+v", mine)
	}
	if bare, ok := ps["bare"]; !ok || bare.Name != "bare" || bare.Title != "" || bare.Description != "" || bare.URLs != nil {
		t.Errorf("a policy without METADATA: %+v, %v; want listed with its name only", bare, ok)
	}
	for name := range ps {
		if name == "main" || name == "lib" || name == "config" {
			t.Errorf("%s is not a policy", name)
		}
	}
}
