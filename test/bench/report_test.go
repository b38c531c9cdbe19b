package main

import (
	"strings"
	"testing"
	"time"
)

// TestLargeSettingsFigureUsesSameRounds checks that the large-settings
// figures compare against default settings measured in the large run's
// rounds when there is such a reference, and against the default run's
// own median otherwise.
func TestLargeSettingsFigureUsesSameRounds(t *testing.T) {
	const name = "large settings ≤ 2 × default, " + rpWarm + " (typical)"
	newReport := func() *report {
		r := &report{workloads: []workload{{name: "typical"}}}
		at := func(variant, contender string, median time.Duration) {
			r.add(variant, "typical", contender, result{stats: stats{n: 1, median: median}})
		}
		for _, c := range []string{rpCold, rpWarm, opaLimit, parserOnly, opaSidecar} {
			at("default", c, 100*time.Microsecond)
		}
		at("large", rpWarm, 250*time.Microsecond) // 2.5 × the default run's median
		at("large", rpCold, 150*time.Microsecond)
		return r
	}
	find := func(r *report) figure {
		for _, f := range r.figures() {
			if f.name == name {
				return f
			}
		}
		t.Fatalf("no figure %q", name)
		return figure{}
	}

	if f := find(newReport()); f.pass || strings.Contains(f.measured, "same rounds") {
		t.Errorf("without a reference: %+v, want a failure against the default run", f)
	}
	r := newReport()
	r.addReference("large", "typical", rpWarm, 150*time.Microsecond) // the machine was slower then
	if f := find(r); !f.pass || !strings.Contains(f.measured, "= 1.67 (default settings measured in the same rounds)") {
		t.Errorf("with a reference: %+v, want 250 µs / 150 µs = 1.67 against it", f)
	}
}

func TestRewriteKeepsHandWrittenSections(t *testing.T) {
	old := "# Benchmarks\n\nold figures\n\n" + keptMarker + "\n\n## Scaling\n\nby hand\n"
	if got := keptSections(old); !strings.HasPrefix(got, "\n"+keptMarker) || !strings.Contains(got, "## Scaling\n\nby hand\n") || strings.Contains(got, "old figures") {
		t.Errorf("keptSections = %q, want the marker and what follows it only", got)
	}
	if got := keptSections("# Benchmarks\n"); got != "" {
		t.Errorf("keptSections without the marker = %q, want empty", got)
	}
}

// TestColdFigureIsReported checks that the retired cold target (issue 19)
// is reported as a ratio without a verdict, however slow cold is, while the
// warm figure keeps its target.
func TestColdFigureIsReported(t *testing.T) {
	r := &report{workloads: []workload{{name: "typical"}}}
	at := func(contender string, median time.Duration) {
		r.add("default", "typical", contender, result{stats: stats{n: 1, median: median}})
	}
	at(rpCold, 10*time.Millisecond) // far beyond any target
	at(rpWarm, 100*time.Microsecond)
	at(opaLimit, 100*time.Microsecond)
	at(parserOnly, 100*time.Microsecond)
	at(opaSidecar, 400*time.Microsecond)
	got := map[string]figure{}
	for _, f := range r.figures() {
		got[f.name] = f
	}
	cold, ok := got["cold beyond the engine's limit, in parser's limits (typical)"]
	if !ok || cold.verdict() != "reported" || !strings.Contains(cold.measured, "+ 99.00 × the parser") {
		t.Errorf("cold figure = %+v, want a ratio (99.00 × the parser) reported without a verdict", cold)
	}
	if warm := got["warm ≤ 1.2 × engine's limit (typical)"]; warm.verdict() != "PASS" {
		t.Errorf("warm figure = %+v, want PASS", warm)
	}
	if !strings.Contains(r.markdown(), "| reported |") {
		t.Error("BENCHMARKS.md does not mark the cold figure as reported")
	}
}
