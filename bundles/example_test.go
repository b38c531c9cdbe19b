package bundles

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runpolicy/runpolicy/engine"
)

// TestExamplePolicyRepo serves examples/policy-repo from a git repository,
// as a team would publish it, and loads it beside the built-in bundle with
// its tests run: the example must activate and its policy must judge runs.
func TestExamplePolicyRepo(t *testing.T) {
	repo := newGitRepo(t)
	files := map[string]string{}
	err := filepath.WalkDir("../examples/policy-repo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../examples/policy-repo", p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sha := repo.commit("policies", files)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(eng, []SourceConfig{{Name: "org", URL: "file://" + repo.dir, Interval: time.Hour, RunTests: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatalf("the example policy repository does not load: %v", err)
	}
	if got := eng.Revisions()["org"]; got != sha {
		t.Errorf("org revision %q, want %s", got, sha)
	}

	in, err := ast.InterfaceToValue(map[string]any{
		"schema_version": 1,
		"repository":     map[string]any{"full_name": "acme/api", "owner": "acme", "name": "api", "default_branch": "main"},
		"run":            map[string]any{"from_fork": true, "head_repository": "mallory/api", "is_default_branch": false},
		"jobs":           map[string]any{"build": map[string]any{"line": 5, "runs_on": map[string]any{"labels": []any{"self-hosted"}}, "steps": []any{}}},
		"uses":           []any{},
		"workflow_job":   nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.EvalValue(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range d.Violations {
		if v.Policy == "fork_runners" && v.Mode == "enforce" && v.Job == "build" {
			found = true
		}
	}
	if !found || d.Allow {
		t.Errorf("a fork run on a self-hosted runner: allow %v, violations %+v; want an enforced fork_runners violation", d.Allow, d.Violations)
	}
}
