package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

// TestDataUnderstoodWhole: a --data file is understood whole or refused
// with the file and line of the key at fault. Each of these loaded before
// and changed nothing, so the run looked configured when it was not.
func TestDataUnderstoodWhole(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		policy     []string
		want       string
	}{
		{"settings at the top", "settings:\n  allowed_actions:\n    mode: enforce\n", nil,
			"x.yaml:1: data.settings: unknown top-level key"},
		{"misspelt runpolicy key", "runpolicy:\n  setting:\n    allowed_actions:\n      mode: enforce\n", nil,
			"x.yaml:2: data.runpolicy.setting is reserved"},
		{"unknown built-in setting", "runpolicy:\n  settings:\n    allowed_actions:\n      mode: enforce\n      alow: []\n", nil,
			"x.yaml:5: settings.allowed_actions.alow: unknown setting"},
		{"unknown setting in an override", "runpolicy:\n  settings:\n    repositories:\n      \"acme/*\":\n        harden_runner:\n          require_frist_step: true\n", nil,
			`x.yaml:6: settings.repositories["acme/*"].harden_runner.require_frist_step: unknown setting`},
		{"undeclared setting of a custom policy", "runpolicy:\n  settings:\n    no_pr_target_checkout:\n      mode: dry_run\n      strict: true\n", []string{"../../examples/custom-policy"},
			"x.yaml:5: settings.no_pr_target_checkout.strict: unknown setting (no_pr_target_checkout declares mode in its METADATA custom.settings)"},
		{"quoted boolean", "runpolicy:\n  settings:\n    allowed_actions:\n      allow_local: \"no\"\n", nil,
			`x.yaml:4: settings.allowed_actions.allow_local: must be true or false, got the string "no"`},
		{"json", "{\n  \"settings\": {}\n}\n", nil, "x.json:2: data.settings: unknown top-level key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "x.yaml"
			if strings.HasPrefix(tc.body, "{") {
				name = "x.json"
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := newEngine(context.Background(), tc.policy, []string{path}, false)
			if err == nil || !strings.Contains(err.Error(), filepath.Dir(path)+"/"+tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestUnquotedOff: the custom-policy example's settings write `mode: off`
// unquoted, which YAML reads as false; it switches the policy off instead
// of failing the load.
func TestUnquotedOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.yaml")
	body := "runpolicy:\n  settings:\n    harden_runner:\n      mode: off\n      require_first_step: yes\n    repositories:\n      \"acme/docs-*\":\n        no_pr_target_checkout: {mode: off}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := newEngine(context.Background(), []string{"../../examples/custom-policy"}, []string{path}, false)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := input.Parse(".github/workflows/ci.yml", []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Eval(context.Background(), input.Build(facts, input.LocalContext(".github/workflows/ci.yml")))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Violations {
		if v.Policy == "harden_runner" {
			t.Errorf("harden_runner is off, yet reported %+v", v)
		}
	}
}
