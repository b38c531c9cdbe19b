package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
)

// corpusDir holds the real workflows every contender judges.
const corpusDir = "test/testdata/corpus/workflows"

// workflow is one file of the corpus.
type workflow struct {
	name string
	src  []byte
}

// workload is the files a measurement cycles through, one per decision.
type workload struct {
	name  string
	files []workflow
}

// loadWorkloads reads the corpus and returns the three workloads: the
// typical workflow (median size), the largest, and all of them in turn.
func loadWorkloads(root string) ([]workload, error) {
	paths, err := filepath.Glob(filepath.Join(root, corpusDir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no workflows in %s", filepath.Join(root, corpusDir))
	}
	all := make([]workflow, 0, len(paths))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		all = append(all, workflow{name: filepath.Base(p), src: src})
	}
	bySize := slices.Clone(all)
	slices.SortFunc(bySize, func(a, b workflow) int {
		return cmp.Or(cmp.Compare(len(a.src), len(b.src)), strings.Compare(a.name, b.name))
	})
	return []workload{
		{name: "typical", files: []workflow{bySize[len(bySize)/2]}},
		{name: "largest", files: []workflow{bySize[len(bySize)-1]}},
		{name: "all", files: all},
	}, nil
}

// describe names the files of a workload for the report.
func (w workload) describe() string {
	if len(w.files) == 1 {
		return fmt.Sprintf("`%s` (%s)", w.files[0].name, size(len(w.files[0].src)))
	}
	total := 0
	for _, f := range w.files {
		total += len(f.src)
	}
	return fmt.Sprintf("all %d corpus workflows in turn (%s in total)", len(w.files), size(total))
}

// variant is a set of settings the policies run with.
type variant struct {
	name string
	data []map[string]any // passed to engine.WithData; merged into data.json for opa
}

// Sizes of the large-settings variant.
const (
	largeAllow       = 10_000
	largeCompromised = 10_000
)

func variants() []variant {
	return []variant{
		{name: "default"},
		{name: "large", data: []map[string]any{largeSettings()}},
	}
}

// largeSettings is an organization's settings at scale: an allow list of
// 10,000 entries (exact names, name@ref, owner/* and a few true globs, plus
// the default entries) and 10,000 more compromised actions.
func largeSettings() map[string]any {
	allow := []any{"actions/*", "github/*", "step-security/harden-runner"}
	for i := len(allow); i < largeAllow; i++ {
		var entry string
		switch {
		case i%1000 == 0:
			entry = fmt.Sprintf("team-%d-*/*", i) // a true glob: scanned
		case i%10 == 1:
			entry = fmt.Sprintf("vendor-%d/*", i)
		case i%10 == 2:
			entry = fmt.Sprintf("vendor-%d/action-%d@v%d", i, i, i%7)
		case i%10 == 3:
			entry = fmt.Sprintf("!vendor-%d/blocked-%d", i, i)
		default:
			entry = fmt.Sprintf("vendor-%d/action-%d", i, i)
		}
		allow = append(allow, entry)
	}
	compromised := make(map[string]any, largeCompromised)
	for i := range largeCompromised {
		compromised[fmt.Sprintf("evil-%d/action-%d", i, i)] = map[string]any{
			"advisories":   []any{fmt.Sprintf("GHSA-bench-%04d", i)},
			"summary":      "generated for the benchmark",
			"all_versions": i%3 == 0,
			"commits":      map[string]any{fmt.Sprintf("%040x", i+1): true},
			"versions":     map[string]any{fmt.Sprintf("v%d.0.0", i%5): true},
			"ranges":       []any{map[string]any{"introduced": "0", "fixed": fmt.Sprintf("%d.1.0", i%9)}},
		}
	}
	return map[string]any{"runpolicy": map[string]any{
		"settings":    map[string]any{"allowed_actions": map[string]any{"allow": allow}},
		"compromised": map[string]any{"actions": compromised},
	}}
}

// runContext is the run every decision judges: a pull request's push to a
// feature branch whose copy of the workflow differs from the default
// branch's, so that every built-in policy has work to do.
func runContext(name string) input.Context {
	base := strings.Repeat("0", 64)
	return input.Context{
		Event:      input.Event{Name: "workflow_run", Action: "requested", DeliveryID: "bench"},
		Repository: input.Repository{FullName: "acme/api", Owner: "acme", Name: "api", DefaultBranch: "main", Visibility: "private"},
		Run: input.Run{
			ID: 30433642, Attempt: 1, Number: 562, Event: "pull_request", Branch: "feature/x",
			HeadSHA: strings.Repeat("ab", 20), Actor: "octocat", TriggeringActor: "octocat",
			HeadRepository: "acme/api", PullRequests: []int{12},
		},
		WorkflowPath:        ".github/workflows/" + name,
		DefaultBranchSHA256: &base,
		DefaultBranchKnown:  true,
	}
}

// edited returns src with a comment line that differs for every i, so that
// its content hash was never seen before: a cold decision.
func edited(src []byte, i int) []byte {
	b := make([]byte, 0, len(src)+24)
	b = append(b, src...)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return fmt.Appendf(b, "# bench %d\n", i)
}

func size(n int) string {
	if n >= 10_000 {
		return fmt.Sprintf("%.0f KB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1000)
}
