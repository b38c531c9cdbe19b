package bundles

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runpolicy/runpolicy/engine"
)

// TestHotSwapUnderLoad swaps 50 revisions in while goroutines evaluate:
// every decision must succeed and come wholly from one revision (its
// policy's marker equals the revision the decision reports).
func TestHotSwapUnderLoad(t *testing.T) {
	// A Kubernetes ConfigMap layout: files are symlinks into ..data, and
	// ..data is swapped atomically to point at the next revision.
	root := t.TempDir()
	publish := func(n int) {
		rev := fmt.Sprintf("rev-%d", n)
		dir := filepath.Join(root, ".."+rev)
		writeFiles(t, dir, map[string]string{
			"marker.rego": fmt.Sprintf("package runpolicy.policies.marker\n\ndeny contains {\"message\": %q}\n", rev),
			".manifest":   fmt.Sprintf(`{"revision": %q}`, rev),
		})
		tmp := filepath.Join(root, "..data_tmp")
		if err := os.Symlink(".."+rev, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(0)
	for _, f := range []string{"marker.rego", ".manifest"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	m, eng, _, err := startManager(t, []SourceConfig{{
		Name: "org", Type: TypeDir, URL: root, Interval: time.Hour, Repository: "acme/policies",
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var evals atomic.Int64
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				d, err := eng.EvalValue(context.Background(), ast.NewObject())
				switch {
				case err != nil:
					errs <- err
					return
				case len(d.Violations) != 1:
					errs <- fmt.Errorf("half-loaded state: %d violations", len(d.Violations))
					return
				case d.Violations[0].Message != d.Revisions["org"]:
					errs <- fmt.Errorf("decision mixes revisions: policy says %s, revision is %s", d.Violations[0].Message, d.Revisions["org"])
					return
				}
				evals.Add(1)
			}
		})
	}
	for n := 1; n <= 50; n++ {
		publish(n)
		m.Refresh(context.Background(), "acme/policies")
		want := fmt.Sprintf("rev-%d", n)
		waitFor(t, want+" to activate", func() bool { return status(t, m, "org").Revision == want })
	}
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if evals.Load() == 0 {
		t.Error("no evaluation ran during the swaps")
	}
	if got := metricValue(t, m.metrics.activations.WithLabelValues("org")); got != 51 {
		t.Errorf("%v activations, want 51", got)
	}
}

// TestOverlappingRoots checks that two sources claiming the same package
// fail at startup with both names, while the first still loads.
func TestOverlappingRoots(t *testing.T) {
	org, team := t.TempDir(), t.TempDir()
	writeFiles(t, org, markerFiles("org"))
	writeFiles(t, team, map[string]string{"marker.rego": "package runpolicy.policies.marker.team\n\ndeny contains {\"message\": \"team\"}\n"})
	m, eng, _, err := startManager(t, []SourceConfig{
		{Name: "org", Type: TypeDir, URL: org, Interval: 10 * time.Millisecond},
		{Name: "team", Type: TypeDir, URL: team},
	})
	if err == nil {
		t.Fatal("overlapping roots started")
	}
	for _, want := range []string{"bundle source team", "overlaps", "bundle org"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if m.Ready() {
		t.Error("ready with a source never activated")
	}
	if marker, _ := markerOf(t, eng); marker != "org" {
		t.Errorf("marker %q, want the org source still enforced", marker)
	}
	if got := status(t, m, "team"); got.Revision != "" || got.LastError == "" {
		t.Errorf("team status %+v, want no revision and the error", got)
	}
	// org was refused together with team, then accepted alone: later
	// checks of the unchanged org must not bring the shared error back.
	checked := status(t, m, "org").LastCheck
	waitFor(t, "org to be checked again", func() bool { return status(t, m, "org").LastCheck.After(checked) })
	if got := status(t, m, "org"); got.LastError != "" {
		t.Errorf("org shows error %q though its revision is active", got.LastError)
	}
}

// TestReadyAfterFirstGoodActivation checks that a manager is unready until
// every source has had a good revision, then stays ready.
func TestReadyAfterFirstGoodActivation(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("broken", map[string]string{"marker.rego": "package runpolicy.policies.marker\n\ndeny contains {"})
	base := baseSource(t)
	m, err := NewManager(newEngine(t, base), []SourceConfig{base, {Name: "org", Type: TypeGit, URL: repo.dir, Interval: 10 * time.Millisecond}}, WithBuiltin(false))
	if err != nil {
		t.Fatal(err)
	}
	if m.Ready() {
		t.Fatal("ready before Start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = m.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "bundle source org") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Start error %q, want one line naming the org source", err)
	}
	if m.Ready() {
		t.Fatal("ready with the only org revision broken")
	}
	if err := m.Start(ctx); err == nil {
		t.Error("a second Start was accepted")
	}
	fix := repo.commit("fix", markerFiles("fixed"), "marker.rego")
	waitFor(t, "the fix to make the manager ready", m.Ready)
	if got := status(t, m, "org").Revision; got != fix {
		t.Errorf("revision %s, want %s", got, fix)
	}
}

// TestRunTests checks that with run_tests a revision whose own tests fail
// is refused, and that the tests see the whole set (base aggregator too).
func TestRunTests(t *testing.T) {
	// The test package lies outside runpolicy.policies, which the test
	// aggregator walks.
	const test = `package tests.marker

test_marker if {
	some v in data.runpolicy.main.decision.violations
	v.message == "one"
}
`
	for _, runTests := range []bool{true, false} {
		t.Run(fmt.Sprint("run_tests=", runTests), func(t *testing.T) {
			repo := newGitRepo(t)
			files := markerFiles("one")
			files["policies/marker/marker_test.rego"] = test
			first := repo.commit("v1", files)
			m, eng, _, err := startManager(t, []SourceConfig{{
				Name: "org", Type: TypeGit, URL: repo.dir, Interval: 10 * time.Millisecond, RunTests: runTests,
			}})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if got := status(t, m, "org").Revision; got != first {
				t.Fatalf("revision %s, want %s (its test passes)", got, first)
			}
			second := repo.commit("v2 breaks its test", markerFiles("two"))
			if runTests {
				waitFor(t, "the failing test to be reported", func() bool { return status(t, m, "org").FailedRevision == second })
				st := status(t, m, "org")
				if st.Revision != first || !strings.Contains(st.LastError, "1 of 1 tests failed: data.tests.marker.test_marker") {
					t.Errorf("status %+v, want %s kept and the failed test named", st, first)
				}
				if got := metricValue(t, m.metrics.failures.WithLabelValues("org", "test")); got != 1 {
					t.Errorf("%v test failures counted, want 1", got)
				}
				return
			}
			waitFor(t, "v2 to activate without tests", func() bool { return status(t, m, "org").Revision == second })
			if marker, _ := markerOf(t, eng); marker != "two" {
				t.Errorf("marker %q, want two", marker)
			}
		})
	}
}

// TestBuiltinStatus checks that the built-in bundle is listed first, and
// that WithBuiltin must match the engine.
func TestBuiltinStatus(t *testing.T) {
	eng, err := engine.New(context.Background(), nil)
	if err != nil {
		t.Skipf("built-in bundle does not load in this tree: %v", err)
	}
	m, err := NewManager(eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !m.Ready() {
		t.Error("a manager with no sources is not ready after Start")
	}
	st := m.Status()
	if len(st) != 1 || st[0].Name != engine.BuiltinName || st[0].Revision != eng.Revisions()[engine.BuiltinName] {
		t.Errorf("status %+v, want the built-in bundle and its revision", st)
	}
	if _, err := NewManager(eng, nil, WithBuiltin(false)); err == nil {
		t.Error("WithBuiltin(false) accepted for an engine that carries the built-in bundle")
	}
}
