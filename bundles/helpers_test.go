package bundles

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/gittest"
)

// The tests run against a small aggregator of their own instead of the
// built-in policies, so they exercise loading and swapping, not policy
// logic: runpolicy.main collects every runpolicy.policies.*.deny and
// refuses settings whose mode is not enforce, dry_run or off.
const baseRego = `package runpolicy.main

default settings := {}

settings := data.runpolicy.settings

modes := {"enforce", "dry_run", "off"}

mode(name) := object.get(settings, [name, "mode"], "enforce")

violations contains object.union(f, {"policy": name, "mode": mode(name)}) if {
	some name, pkg in data.runpolicy.policies
	some f in pkg.deny
}

decision := {
	"allow": count([v | some v in violations; v.mode == "enforce"]) == 0,
	"violations": [v | some v in violations],
	"warnings": [],
}

config_errors contains sprintf("settings.%s.mode: must be enforce, dry_run or off, got %v", [name, s.mode]) if {
	some name, s in settings
	not s.mode in modes
}
`

// markerFiles is an organization bundle whose one policy reports marker,
// so a decision shows which revision made it.
func markerFiles(marker string) map[string]string {
	return map[string]string{
		"policies/marker/marker.rego": fmt.Sprintf("package runpolicy.policies.marker\n\ndeny contains {\"message\": %q}\n", marker),
		"data.yaml":                   "runpolicy:\n  settings:\n    marker:\n      mode: dry_run\n",
	}
}

// writeFiles writes files (slash paths) under dir, replacing what was there.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// baseSource is a directory source holding the test aggregator.
func baseSource(t *testing.T) SourceConfig {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.rego": baseRego})
	return SourceConfig{Name: "base", Type: TypeDir, URL: dir, Interval: time.Hour}
}

// newEngine returns an engine without the built-in bundle, loaded with the
// base source, as a server starts before its manager takes over.
func newEngine(t *testing.T, base SourceConfig) *engine.Engine {
	t.Helper()
	b, err := Fetch(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), []engine.Bundle{b}, engine.WithoutBuiltin())
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// startManager starts a manager over base plus sources and stops it when
// the test ends. It returns Start's error for the test to judge.
func startManager(t *testing.T, sources []SourceConfig, opts ...ManagerOption) (*Manager, *engine.Engine, *prometheus.Registry, error) {
	t.Helper()
	base := baseSource(t)
	eng := newEngine(t, base)
	reg := prometheus.NewRegistry()
	opts = append([]ManagerOption{WithBuiltin(false), WithRegisterer(reg)}, opts...)
	m, err := NewManager(eng, append([]SourceConfig{base}, sources...), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return m, eng, reg, m.Start(ctx)
}

// waitFor polls cond until it holds or a generous deadline passes. It
// asserts that something happens, never how fast.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// status returns the named source's status.
func status(t *testing.T, m *Manager, name string) SourceStatus {
	t.Helper()
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for source %s", name)
	return SourceStatus{}
}

// markerOf evaluates a small input and returns the marker the org policy
// reported, checking that the decision names the revision it used.
func markerOf(t *testing.T, eng *engine.Engine) (marker, revision string) {
	t.Helper()
	d, err := eng.EvalValue(context.Background(), ast.NewObject())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Violations) != 1 {
		t.Fatalf("want one violation from the marker policy, got %+v", d.Violations)
	}
	return d.Violations[0].Message, d.Revisions["org"]
}

// gitRepo is a repository on disk that a test commits to.
type gitRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, dir: dir, repo: repo}
}

// commit writes files (deleting the listed ones first) and commits them on
// the current branch, returning the commit SHA.
func (g *gitRepo) commit(msg string, files map[string]string, remove ...string) string {
	g.t.Helper()
	wt, err := g.repo.Worktree()
	if err != nil {
		g.t.Fatal(err)
	}
	for _, r := range remove {
		if _, err := wt.Remove(r); err != nil {
			g.t.Fatal(err)
		}
	}
	writeFiles(g.t, g.dir, files)
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		g.t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author:            &object.Signature{Name: "Security Team", Email: "security@example.com", When: time.Now()},
		AllowEmptyCommits: true,
	})
	if err != nil {
		g.t.Fatal(err)
	}
	return h.String()
}

// tag tags HEAD (annotated when msg is set).
func (g *gitRepo) tag(name, msg string) {
	g.t.Helper()
	head, err := g.repo.Head()
	if err != nil {
		g.t.Fatal(err)
	}
	var opts *git.CreateTagOptions
	if msg != "" {
		opts = &git.CreateTagOptions{Message: msg, Tagger: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}
	}
	if _, err := g.repo.CreateTag(name, head.Hash(), opts); err != nil {
		g.t.Fatal(err)
	}
}

// gitServer serves a repository over git's smart HTTP protocol
// (gittest.Handler), counting ref listings and fetches.
type gitServer struct {
	*httptest.Server
	gittest.Counts
	token string // when set, required as x-access-token's password
}

func newGitServer(t *testing.T, dir string) *gitServer {
	t.Helper()
	s := &gitServer{}
	repo := gittest.Handler(dir, &s.Counts)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" {
			if user, pass, ok := r.BasicAuth(); !ok || user != "x-access-token" || pass != s.token {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		repo.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// metricValue reads one counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	}
	t.Fatalf("metric is neither counter nor gauge")
	return 0
}

// seriesCount counts the series of one metric family in reg.
func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}
