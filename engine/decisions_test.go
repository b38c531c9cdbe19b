package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

var update = flag.Bool("update", false, "rewrite testdata/decisions.golden.json")

const (
	corpusDir       = "../test/testdata/corpus"
	decisionsGold   = "testdata/decisions.golden.json"
	featureBranch   = "feature/x"
	workflowRunJSON = corpusDir + "/payloads/workflow_run.requested.json"
)

// TestDecisionsGolden pins the built-in policies' full decisions on every
// corpus workflow and fixture, in four situations: the command line's
// local context, a workflow_run on a feature branch, the same run with
// every policy enforced and its options on, and with repository overrides
// over those. Any change in a decision shows up as a diff of the golden
// file; rewrite it with -update only when the change is intended.
func TestDecisionsGolden(t *testing.T) {
	files := corpusFiles(t)
	branch := branchContext(t)
	scenarios := []struct {
		name     string
		context  func(path string) input.Context
		settings map[string]any
	}{
		{"local", input.LocalContext, nil},
		{"branch", branch, nil},
		{"enforce", branch, enforceSettings()},
		{"overrides", branch, overrideSettings()},
	}

	got := map[string]map[string]*Decision{}
	ctx := context.Background()
	for _, sc := range scenarios {
		var opts []Option
		if sc.settings != nil {
			opts = append(opts, WithData(sc.settings))
		}
		e, err := New(ctx, nil, opts...)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := input.Parse(path, src)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			d, err := e.Eval(ctx, input.Build(f, sc.context(filepath.Base(path))))
			if err != nil {
				t.Fatalf("%s %s: %v", sc.name, path, err)
			}
			key := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
			if got[key] == nil {
				got[key] = map[string]*Decision{}
			}
			got[key][sc.name] = d
		}
	}

	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *update {
		if err := os.WriteFile(decisionsGold, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(decisionsGold)
	if err != nil {
		t.Fatalf("%v (run go test ./engine -run TestDecisionsGolden -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		diffDecisions(t, want, got)
	}
}

// diffDecisions names each file and scenario whose decision changed.
func diffDecisions(t *testing.T, want []byte, got map[string]map[string]*Decision) {
	t.Helper()
	var old map[string]map[string]json.RawMessage
	if err := json.Unmarshal(want, &old); err != nil {
		t.Fatalf("read %s: %v", decisionsGold, err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for sc, d := range got[k] {
			now, _ := json.MarshalIndent(d, "", "  ")
			var a, b any
			_ = json.Unmarshal(now, &a)
			_ = json.Unmarshal(old[k][sc], &b)
			if !jsonEqual(a, b) {
				t.Errorf("%s, %s: decision changed\n got: %s\nwant: %s", k, sc, now, old[k][sc])
			}
		}
	}
	if len(old) != len(got) {
		t.Errorf("golden has %d files, the corpus %d", len(old), len(got))
	}
	if !t.Failed() {
		t.Errorf("%s differs in layout only: rewrite it with -update", decisionsGold)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"workflows", "fixtures"} {
		matches, err := filepath.Glob(filepath.Join(corpusDir, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d corpus files, want the whole corpus", len(files))
	}
	sort.Strings(files)
	return files
}

// branchContext is a real workflow_run payload moved to a feature branch, so
// that the run is not on the default branch and its workflow counts as
// modified (the default branch's copy is unknown).
func branchContext(t *testing.T) func(path string) input.Context {
	t.Helper()
	raw, err := os.ReadFile(workflowRunJSON)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["workflow_run"].(map[string]any)["head_branch"] = featureBranch
	raw, err = json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	c, err := input.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.IsDefaultBranch {
		t.Fatal("the branch context is on the default branch")
	}
	return func(path string) input.Context {
		c := c
		c.WorkflowPath = ".github/workflows/" + path
		return c
	}
}

// enforceSettings enforces every policy and turns every option on, with a
// small allow list that has exact, owner, ref, glob, docker and block entries.
func enforceSettings() map[string]any {
	return map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"compromised_actions": map[string]any{"mode": "enforce"},
		"secret_exfiltration": map[string]any{"mode": "enforce"},
		"allowed_actions": map[string]any{
			"mode": "enforce",
			"allow": []any{
				"actions/*", "github/codeql-action/*", "step-security/harden-runner",
				"docker/*", "golang/govulncheck-action@v1", "ossf/scorecard-action@*",
				"google/osv-scanner-action/.github/workflows/*", "azure/*-action*",
				"docker://alpine*", "!actions/cache", "!actions/upload-artifact@v3",
			},
			"require_sha_pinning": true,
			"pinning_exempt":      []any{"actions/*"},
		},
		"runner_labels": map[string]any{
			"mode":       "enforce",
			"allowed":    []any{"ubuntu-latest", "ubuntu-2*", "self-hosted", "linux"},
			"disallowed": []any{"windows-*"},
		},
		"harden_runner": map[string]any{
			"mode":                 "enforce",
			"equivalent_actions":   []any{"acme/harden*"},
			"require_first_step":   true,
			"require_policy_store": true,
			"block_job_container":  true,
		},
	}}}
}

// overrideSettings are enforceSettings with repository overrides that
// match the payload's repository (octo-org/octo-repo), the more specific
// one last, and one that does not match.
func overrideSettings() map[string]any {
	s := enforceSettings()
	settings := s["runpolicy"].(map[string]any)["settings"].(map[string]any)
	settings["repositories"] = map[string]any{
		"octo-org/*": map[string]any{
			"allowed_actions": map[string]any{"allow": []any{"actions/checkout", "!actions/setup-go"}, "require_sha_pinning": false},
			"runner_labels":   map[string]any{"mode": "dry_run", "allowed": []any{"ubuntu-*"}},
			"harden_runner":   map[string]any{"target_labels": []any{"ubuntu-latest"}},
		},
		"octo-org/octo-*": map[string]any{
			"allowed_actions":     map[string]any{"mode": "dry_run"},
			"secret_exfiltration": map[string]any{"ignored_secrets": []any{"GITHUB_TOKEN", "NPM_*"}},
		},
		"other/*": map[string]any{"compromised_actions": map[string]any{"mode": "off"}},
	}
	return s
}
