package resolve

import (
	"context"
	"fmt"
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

// Issue 14: a reference pinned to a fork's commit is denied by
// impostor_commits, directly and behind a composite action; a genuine
// pinned commit passes.
func TestImpostorCommitsPolicy(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gh := newFake()
	n := checkoutNetwork(gh)
	gh.action("acme/setup@v1", composite("actions/checkout@"+n.fork))
	r := New(gh)
	for _, tt := range []struct {
		name, uses string
		deny       string // substring of the impostor_commits violation, "" for none
	}{
		{"fork commit", "actions/checkout@" + n.fork, "actions/checkout@" + n.fork + " is pinned to commit " + n.fork + ", which is on no branch and no tag of actions/checkout"},
		{"fork commit behind a composite action", "acme/setup@v1", "acme/setup@v1 → actions/checkout@" + n.fork + " is pinned"},
		{"genuine commit", "actions/checkout@" + n.root, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resolved, err := r.Resolve(ctx, workflowDoc(t, ".github/workflows/ci.yml", steps(tt.uses)))
			if err != nil {
				t.Fatal(err)
			}
			d, err := eng.Eval(ctx, resolved)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range d.Violations {
				if v.Policy == "impostor_commits" {
					got = append(got, v.Message)
				}
			}
			switch {
			case tt.deny == "" && (len(got) > 0 || !d.Allow):
				t.Errorf("genuine commit denied: %+v", d.Violations)
			case tt.deny != "" && (len(got) != 1 || !strings.Contains(got[0], tt.deny) || d.Allow):
				t.Errorf("violations %q (allow %v), want one containing %q", got, d.Allow, tt.deny)
			}
		})
	}
}

// Issue 15: block_unresolved covers every reference the resolver did not
// look inside, whatever the reason: without it the run gets a warning,
// with it a denial, never an allow in silence.
func TestBlockUnresolvedCoversEveryReason(t *testing.T) {
	ctx := context.Background()
	strict, err := engine.New(ctx, nil, engine.WithData(map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"compromised_actions": map[string]any{"block_unresolved": true},
		"impostor_commits":    map[string]any{"block_unverified": true},
	}}}))
	if err != nil {
		t.Fatal(err)
	}
	lenient, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, uses string
		setup      func(gh *fakeGitHub)
		want       string // substring of the compromised_actions finding
	}{
		{"private repository", "acme/private@v1", func(gh *fakeGitHub) {
			gh.action("acme/private@v1", composite("evil/x@v1"))
			gh.private["acme/private"] = true
		}, "ref not found"},
		{"action.yml over the resolver's limit", "acme/huge@v1", func(gh *fakeGitHub) {
			gh.action("acme/huge@v1", []byte("name: x\n"+strings.Repeat("#", DefaultMaxFileSize)))
		}, "over the limit"},
		{"file over the client's limit", "acme/bigger@v1", func(gh *fakeGitHub) {
			gh.tag("acme/bigger", "v1", fakeSHA("bigger"))
			gh.fail["acme/bigger"] = fmt.Errorf("get acme/bigger/action.yml@%s: 20971520 bytes, more than the 10485760 allowed", fakeSHA("bigger"))
		}, "more than the 10485760 allowed"},
		{"GitHub error", "acme/flaky@v1", func(gh *fakeGitHub) {
			gh.broken["acme/flaky"] = true
		}, "502 Bad Gateway"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := newFake()
			tt.setup(gh)
			resolved, err := New(gh).Resolve(ctx, workflowDoc(t, ".github/workflows/ci.yml", steps(tt.uses)))
			if err != nil {
				t.Fatalf("Resolve: %v; want the reference marked unresolved", err)
			}
			d, err := strict.Eval(ctx, resolved)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow || !hasFinding(d.Violations, "compromised_actions", tt.want) {
				t.Errorf("block_unresolved: allow %v, violations %+v; want a denial containing %q", d.Allow, d.Violations, tt.want)
			}
			d, err = lenient.Eval(ctx, resolved)
			if err != nil {
				t.Fatal(err)
			}
			if !hasFinding(d.Warnings, "compromised_actions", tt.want) {
				t.Errorf("default settings: warnings %+v; want one containing %q", d.Warnings, tt.want)
			}
		})
	}
}

func hasFinding(vs []engine.Violation, policy, want string) bool {
	for _, v := range vs {
		if v.Policy == policy && strings.Contains(v.Message, want) {
			return true
		}
	}
	return false
}
