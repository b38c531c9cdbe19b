package resolve

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
)

// The resolver exists for these decisions: the built-in policies judge what
// hides behind a composite action, a reusable workflow and a moved tag.
func TestBuiltinPoliciesSeeTransitiveUses(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gh := newFake()
	gh.action("tj-actions/eslint-changed-files@v1", corpus(t, "actions/tj-actions__eslint-changed-files__action.yml"))
	gh.action("tj-actions/changed-files@v23", corpus(t, "actions/tj-actions__changed-files__v35__action.yml"))
	gh.node("reviewdog/action-setup@v1", "tj-actions/glob@v17.2.5", "tj-actions/json2file@v1.4.2", "actions/checkout@v4", "evil/exfiltrate@v1")
	gh.publish("acme/shared@v2", ".github/workflows/build.yml",
		[]byte("on: workflow_call\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: evil/exfiltrate@v1\n"))
	r := New(gh)

	tests := []struct {
		name     string
		workflow []byte
		setup    func()
		policy   string
		message  string // substring of a violation of policy, with the chain
	}{
		{
			name:     "composite action calls a compromised action",
			workflow: steps("tj-actions/eslint-changed-files@v1"),
			policy:   "compromised_actions",
			message:  "tj-actions/eslint-changed-files@v1 → reviewdog/action-setup@v1",
		},
		{
			name:     "reusable workflow uses a disallowed action",
			workflow: []byte("on: push\njobs:\n  call:\n    uses: acme/shared/.github/workflows/build.yml@v2\n"),
			policy:   "allowed_actions",
			message:  "acme/shared/.github/workflows/build.yml@v2 → evil/exfiltrate@v1",
		},
		{
			name:     "tag moved to a malicious commit",
			workflow: steps("tj-actions/changed-files@v46"),
			setup: func() {
				gh.tag("tj-actions/changed-files", "v46", "0e58ed8671d6b60d0890c21b07f8835ace038e67")
				gh.file("tj-actions/changed-files", "action.yml", "0e58ed8671d6b60d0890c21b07f8835ace038e67", []byte("runs:\n  using: node20\n  main: index.js\n"))
			},
			policy:  "compromised_actions",
			message: "commit 0e58ed8671d6b60d0890c21b07f8835ace038e67 is a known malicious commit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			doc := workflowDoc(t, ".github/workflows/ci.yml", tt.workflow)
			before, err := eng.Eval(ctx, doc)
			if err != nil {
				t.Fatal(err)
			}
			if v := find(before, tt.policy, tt.message); v != "" {
				t.Fatalf("without resolving, %s already reports %q", tt.policy, v)
			}
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			resolved, err := r.Resolve(ctx, doc)
			if err != nil {
				t.Fatal(err)
			}
			after, err := eng.Eval(ctx, resolved)
			if err != nil {
				t.Fatal(err)
			}
			if find(after, tt.policy, tt.message) == "" {
				t.Errorf("%s did not report %q:\nviolations %+v\nwarnings %+v", tt.policy, tt.message, after.Violations, after.Warnings)
			}
		})
	}
}

// find returns the message of a violation or warning of policy that contains want.
func find(d *engine.Decision, policy, want string) string {
	for _, v := range append(append([]engine.Violation{}, d.Violations...), d.Warnings...) {
		if v.Policy == policy && strings.Contains(v.Message, want) {
			return v.Message
		}
	}
	return ""
}
