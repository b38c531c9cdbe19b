package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// declared is a custom policy whose METADATA declares its settings: mode
// dry_run, a list and a flag. Its finding says which settings it saw.
const declared = `# METADATA
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#     - name: teams
#       type: strings
#       default: ["core"]
#     - name: strict
#       default: false
package runpolicy.policies.declared

import data.runpolicy.lib

deny contains {"message": sprintf("teams=%v strict=%v", [s.teams, s.strict])} if {
	input.workflow.name == "CI"
	s := lib.settings("declared")
}
`

func TestMetadataDefaults(t *testing.T) {
	settings := func(s map[string]any) map[string]any {
		return map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"declared": s}}}
	}
	tests := []struct {
		name      string
		data      map[string]any
		wantAllow bool
		wantMode  string
		wantMsg   string
	}{
		{"the METADATA defaults apply", nil, true, "dry_run", `teams=["core"] strict=false`},
		{"settings win over them", settings(map[string]any{"mode": "enforce", "teams": []any{"web"}}), false, "enforce", `teams=["web"] strict=false`},
		{"a repository override wins over them", map[string]any{"runpolicy": map[string]any{"settings": map[string]any{"repositories": map[string]any{
			"local/*": map[string]any{"declared": map[string]any{"mode": "enforce", "strict": true}},
		}}}}, false, "enforce", `teams=["core"] strict=true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(context.Background(), []Bundle{testBundle("mine", "r1", nil, map[string]string{"declared.rego": declared})}, WithData(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			in := ast.MustParseTerm(`{"workflow": {"name": "CI"}, "repository": {"full_name": "local/local"}}`).Value
			d, err := e.EvalValue(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tt.wantAllow || len(d.Violations) != 1 {
				t.Fatalf("allow = %v, violations = %+v; want allow %v and one violation", d.Allow, d.Violations, tt.wantAllow)
			}
			if v := d.Violations[0]; v.Mode != tt.wantMode || v.Message != tt.wantMsg {
				t.Errorf("violation = %s %q, want %s %q", v.Mode, v.Message, tt.wantMode, tt.wantMsg)
			}
		})
	}
}

func TestMetadataDefaultsAreChecked(t *testing.T) {
	tests := []struct {
		name, replace, with, data, want string
	}{
		{"an invalid default mode names the METADATA", "default: dry_run", "default: dryrun", "",
			"declared.rego:1: settings.declared.mode: must be enforce, dry_run or off, got dryrun"},
		{"a declared type is checked", "", "", `{"runpolicy": {"settings": {"declared": {"teams": "core"}}}}`,
			"settings.declared.teams: must be a list of strings, got core"},
		{"a boolean default makes a boolean", "", "", `{"runpolicy": {"settings": {"declared": {"strict": "yes"}}}}`,
			`settings.declared.strict: must be true or false`},
		{"an unknown type is refused", "type: strings", "type: list", "",
			"declared.rego:1: policy declared, setting teams: type must be boolean, strings or any, got list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := declared
			if tt.replace != "" {
				src = strings.Replace(src, tt.replace, tt.with, 1)
			}
			var opts []Option
			if tt.data != "" {
				var doc map[string]any
				if err := json.Unmarshal([]byte(tt.data), &doc); err != nil {
					t.Fatal(err)
				}
				opts = append(opts, WithData(doc))
			}
			_, err := New(context.Background(), []Bundle{testBundle("mine", "r1", nil, map[string]string{"declared.rego": src})}, opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
