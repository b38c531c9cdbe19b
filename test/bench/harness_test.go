package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine"
)

// TestHarness runs `go run ./test/bench -short` in process: one decision
// per contender on the typical workflow, after which the four decision
// contenders must have agreed. It builds the stock opa command from go.mod
// (the Go build cache makes that quick after the first time).
func TestHarness(t *testing.T) {
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	opa, err := buildOPA(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("short run", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(ctx, config{short: true, root: root, opa: opa}, &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		for _, name := range []string{rpCold, rpWarm, opaLimit, opaSidecar, opaEval, parserOnly} {
			if !strings.Contains(out.String(), "| "+name+" |") {
				t.Errorf("no row for %q in:\n%s", name, out.String())
			}
		}
		if !strings.Contains(out.String(), "every contender agreed") {
			t.Errorf("the short run does not say the contenders agreed:\n%s", out.String())
		}
	})

	// A contender that judges with other settings than runpolicy must stop
	// the harness: here the rego package and the sidecar run with the
	// allowed_actions policy off, which drops findings on the typical
	// workflow.
	t.Run("a contender judging something else is caught", func(t *testing.T) {
		workloads, err := loadWorkloads(root)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.New(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		off := variant{name: "allowed_actions off", data: []map[string]any{{"runpolicy": map[string]any{"settings": map[string]any{
			"allowed_actions": map[string]any{"mode": "off"},
		}}}}}
		ps, err := loadPolicySet(ctx, off)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		bundle := filepath.Join(dir, "bundle")
		if err := ps.writeBundle(bundle); err != nil {
			t.Fatal(err)
		}
		limit, err := ps.prepare(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newScenario(eng, limit, opa, bundle, dir, variants()[0], workloads[0])
		if err != nil {
			t.Fatal(err)
		}
		srv, err := startServer(ctx, opa, bundle, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		err = s.agree(ctx, srv)
		if err == nil || !strings.Contains(err.Error(), "but runpolicy decided") {
			t.Fatalf("agree = %v, want a disagreement", err)
		}
	})
}
