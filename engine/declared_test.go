package engine

import (
	"context"
	"strings"
	"testing"
)

// TestDeclaredSettingsValidate: the settings a policy declares in its
// METADATA are the ones runpolicy.config accepts, with their types, for a
// custom policy as for the built-in ones; a declaration runpolicy cannot
// read fails the load naming the policy's file.
func TestDeclaredSettingsValidate(t *testing.T) {
	const team = `# METADATA
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#     - name: labels
#       type: strings
#       default: []
#       description: labels to judge
#     - name: strict
#       type: boolean
#       default: false
#       description: deny instead of warn
package runpolicy.policies.team

deny contains "no" if input.workflow.name == "no"
`
	tests := []struct {
		name     string
		policy   string
		settings map[string]any
		wantErr  string
	}{
		{"declared", team, obj("team", obj("labels", []any{"a"}, "strict", true)), ""},
		{"unknown", team, obj("team", obj("lables", []any{"a"})), "settings.team.lables: unknown setting (team declares labels, mode, strict in its METADATA custom.settings)"},
		{"not a list of strings", team, obj("team", obj("labels", "a")), "settings.team.labels: must be a list of strings, got a"},
		{"not a boolean", team, obj("team", obj("strict", "yes")), `settings.team.strict: must be true or false, got the string "yes" (write it unquoted)`},
		{"built-in", team, obj("allowed_actions", obj("allow", "actions/*")), "settings.allowed_actions.allow: must be a list of strings, got actions/*"},
		{"built-in unknown", team, obj("harden_runner", obj("require_frist_step", true)), "settings.harden_runner.require_frist_step: unknown setting (harden_runner declares approvable, block_job_container, equivalent_actions, mode, require_first_step, require_policy_store, target_labels in its METADATA custom.settings)"},
		{"bad declaration", strings.Replace(team, "type: strings", "type: list", 1), nil, "team.rego:1: policy team, setting labels: type must be boolean, strings or any, got list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBundle("team", "r1", nil, map[string]string{"team.rego": tt.policy})
			_, err := New(context.Background(), []Bundle{b}, WithData(obj("runpolicy", obj("settings", tt.settings))))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
