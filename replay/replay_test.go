package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/jackc/pgx/v5"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/replay/replaytest"
	"github.com/runpolicy/runpolicy/test/pgtest"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// corpus is the repository's copy of real workflows.
const corpus = "../test/testdata/corpus/workflows"

// Candidate policies, as files of a bundle directory.
const (
	// noCheckout denies every use of actions/checkout.
	noCheckout = `package runpolicy.policies.no_checkout

deny contains {"uses": u.raw, "message": "actions/checkout is not allowed here"} if {
	some u in input.uses
	lower(u.name) == "actions/checkout"
}
`
	// compromisedOff turns the built-in compromised_actions policy off.
	compromisedOff = `{"runpolicy": {"settings": {"compromised_actions": {"mode": "off"}}}}`
	// harmless is a policy that finds nothing.
	harmless = `package runpolicy.policies.harmless

deny contains {"message": "never"} if {
	input.schema_version == 0
}
`
)

// backends returns a DSN per database kind: an SQLite file, and a
// Postgres database of the test's own when the server answers (required
// with RUNPOLICY_REQUIRE_POSTGRES).
func backends(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "runpolicy.db")}
	if !pgtest.Required() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			t.Logf("postgres not reachable, testing sqlite only: %v", err)
			return out
		}
		conn.Close(ctx)
	}
	_, out["postgres"] = pgtest.Database(t)
	return out
}

func openStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func builtin(t testing.TB) *engine.Engine {
	t.Helper()
	eng, err := engine.New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// fixture is what record recorded: the runs, and which use
// actions/checkout and were denied.
type fixture struct {
	runs, checkout, checkoutAllowed, denied int
	reviewdog                               store.RunKey
	// deniedAt are the denied runs' times.
	deniedAt []time.Time
}

// record judges every corpus workflow with the built-in policies, one run
// each in acme/<n%3>, at t0 + n minutes, and judges each run twice (its
// workflow_run and a workflow_job delivery), as the server does.
func record(t testing.TB, s *store.Store, t0 time.Time) fixture {
	t.Helper()
	ctx := context.Background()
	eng := builtin(t)
	facts, names, err := replaytest.Workflows(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var rec fixture
	for i, name := range names {
		r := replaytest.Run{Repository: fmt.Sprintf("acme/repo%d", i%3), ID: int64(1000 + i), At: t0.Add(time.Duration(i) * time.Minute)}
		doc := replaytest.Document(facts[name], name, r)
		d, err := replaytest.Decision(ctx, eng, fmt.Sprintf("dec-%d", i), doc, r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		job := r
		job.Event, job.At = "workflow_job", r.At.Add(time.Second)
		d2, err := replaytest.Decision(ctx, eng, fmt.Sprintf("dec-%d-job", i), doc, job)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDecision(ctx, d2); err != nil {
			t.Fatal(err)
		}
		rec.runs++
		uses := slices.ContainsFunc(doc.Uses, func(u input.Use) bool { return strings.EqualFold(u.Name, "actions/checkout") })
		if d.Outcome == store.OutcomeDeny {
			rec.denied++
			rec.deniedAt = append(rec.deniedAt, r.At)
		}
		if uses {
			rec.checkout++
			if d.Outcome == store.OutcomeAllow {
				rec.checkoutAllowed++
			}
		}
		if strings.HasPrefix(name, "reviewdog__") {
			rec.reviewdog = store.RunKey{Repository: r.Repository, RunID: r.ID, Attempt: 1}
		}
	}
	// A run that could not be judged: nothing to replay.
	if _, err := s.SaveDecision(ctx, store.Decision{ID: "not-judged", DeliveryID: "d-nj", Event: "workflow_run",
		Repository: "acme/repo0", RunID: 1, RunAttempt: 1, Outcome: store.OutcomeError, CreatedAt: t0,
		Log: []byte(`{"decision_id":"not-judged","outcome":"error","error":{"code":"github_unavailable"}}`)}); err != nil {
		t.Fatal(err)
	}
	if rec.denied == 0 || rec.checkoutAllowed == 0 || rec.reviewdog.RunID == 0 {
		t.Fatalf("fixture %+v: want denied runs, allowed runs using actions/checkout and the reviewdog run", rec)
	}
	return rec
}

// bundleDir writes a bundle directory.
func bundleDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func candidate(t *testing.T, p Policies, spec string) *engine.Engine {
	t.Helper()
	eng, err := p.Candidate(context.Background(), spec)
	if err != nil {
		t.Fatalf("Candidate(%q): %v", spec, err)
	}
	return eng
}

func TestReplay(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, dsn)
			t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
			rec := record(t, s, t0)
			req := Request{Since: t0.Add(-time.Minute), Until: time.Now(), Scope: store.Scope{All: true}}
			var p Policies

			t.Run("the recorded policies change nothing", func(t *testing.T) {
				res, err := Run(ctx, s, builtin(t), req, Options{Concurrency: 2})
				if err != nil {
					t.Fatal(err)
				}
				if res.Runs != rec.runs || res.Decisions != 2*rec.runs+1 || res.Replayed != 2*rec.runs || res.Skipped != 1 ||
					res.UnchangedRuns != rec.runs || res.NewlyDeniedRuns+res.NewlyAllowedRuns+res.FindingsChangedRuns != 0 || len(res.Policies) != 0 {
					t.Errorf("result = %+v; want %d runs unchanged, one decision skipped", res, rec.runs)
				}
			})

			t.Run("a new enforced policy", func(t *testing.T) {
				var calls, last int
				res, err := Run(ctx, s, candidate(t, p, bundleDir(t, map[string]string{"no_checkout.rego": noCheckout})), req,
					Options{Concurrency: 2, Progress: func(done, total int) { calls, last = calls+1, done }})
				if err != nil {
					t.Fatal(err)
				}
				if res.NewlyDeniedRuns != rec.checkoutAllowed || len(res.NewlyDenied) != rec.checkoutAllowed || res.NewlyAllowedRuns != 0 ||
					res.FindingsChangedRuns != rec.checkout-rec.checkoutAllowed {
					t.Errorf("newly denied %d (listed %d), findings changed %d; want %d newly denied, %d denied before with a new finding",
						res.NewlyDeniedRuns, len(res.NewlyDenied), res.FindingsChangedRuns, rec.checkoutAllowed, rec.checkout-rec.checkoutAllowed)
				}
				want := []PolicyChange{{Policy: "no_checkout", NewlyDenied: rec.checkoutAllowed, Added: rec.checkout}}
				if !slices.Equal(res.Policies, want) {
					t.Errorf("policies = %+v; want %+v", res.Policies, want)
				}
				c := res.NewlyDenied[0]
				if c.Recorded != Allowed || c.Candidate != Denied || len(c.Added) == 0 || c.Added[0].Policy != "no_checkout" ||
					len(c.Removed) != 0 || !strings.HasPrefix(c.URL, "https://github.com/acme/") || !strings.HasSuffix(c.Decision, "-job") {
					t.Errorf("first newly denied run = %+v", c)
				}
				if calls < res.Decisions || last != res.Decisions {
					t.Errorf("progress called %d times, last with %d done; want every one of %d", calls, last, res.Decisions)
				}
			})

			t.Run("a policy turned off", func(t *testing.T) {
				res, err := Run(ctx, s, candidate(t, p, bundleDir(t, map[string]string{"data.json": compromisedOff})), req, Options{})
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(res.NewlyAllowed, func(c RunChange) bool {
					return c.Repository == rec.reviewdog.Repository && c.RunID == rec.reviewdog.RunID
				})
				if i < 0 || res.NewlyDeniedRuns != 0 {
					t.Fatalf("newly allowed %+v, newly denied %d; want the reviewdog run allowed", res.NewlyAllowed, res.NewlyDeniedRuns)
				}
				if removed := res.NewlyAllowed[i].Removed; len(removed) == 0 || removed[0].Policy != "compromised_actions" {
					t.Errorf("the reviewdog run's dropped findings = %+v", removed)
				}
				pc := res.Policies[slices.IndexFunc(res.Policies, func(p PolicyChange) bool { return p.Policy == "compromised_actions" })]
				if pc.NewlyAllowed != res.NewlyAllowedRuns || pc.Removed < pc.NewlyAllowed || pc.Added != 0 {
					t.Errorf("compromised_actions = %+v; want %d newly allowed", pc, res.NewlyAllowedRuns)
				}
			})

			t.Run("a repository filter and a window", func(t *testing.T) {
				r := req
				r.Scope = store.Scope{Repositories: []string{"ACME/repo1"}}
				r.Until = t0.Add(10 * time.Minute)
				res, err := Run(ctx, s, builtin(t), r, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Runs != 3 { // runs 1, 4 and 7 of the first ten minutes
					t.Errorf("replayed %d runs; want 3 of acme/repo1 in the window", res.Runs)
				}
			})

			t.Run("a scope that sees nothing replays nothing", func(t *testing.T) {
				r := req
				r.Scope = store.Scope{}
				res, err := Run(ctx, s, builtin(t), r, Options{})
				if err != nil || res.Decisions != 0 || res.Runs != 0 {
					t.Errorf("replay of the zero scope = %+v, %v; want nothing", res, err)
				}
			})

			t.Run("too many decisions", func(t *testing.T) {
				_, err := Run(ctx, s, builtin(t), req, Options{MaxDecisions: 10})
				if err == nil || !strings.Contains(err.Error(), "narrow the time or the repositories") {
					t.Errorf("err = %v; want the window refused", err)
				}
			})

			t.Run("a policy that fails is a finding of its own", func(t *testing.T) {
				failing := `package runpolicy.policies.failing

conflict := input.schema_version

conflict := "other"

deny contains {"message": "x"} if conflict == 1
`
				res, err := Run(ctx, s, candidate(t, p, bundleDir(t, map[string]string{"failing.rego": failing})), req, Options{})
				if err != nil {
					t.Fatal(err)
				}
				// The engine isolates the failing policy: its error is an
				// enforced finding of its own, and the run is denied.
				if res.NewlyDeniedRuns != rec.runs-rec.denied || res.Policies[0].Policy != "failing" {
					t.Errorf("newly denied %d; want every run allowed before (%d): %+v", res.NewlyDeniedRuns, rec.runs-rec.denied, res.Policies)
				}
			})

			t.Run("an evaluation out of time denies the run", func(t *testing.T) {
				slow := `package runpolicy.policies.slow

deny contains {"message": "x"} if {
	count([1 | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000)]) < 0
}
`
				r := req
				r.Until = t0.Add(6 * time.Minute) // 6 runs, 12 documents
				rec := rec
				rec.runs, rec.denied = 6, 0
				for _, at := range rec.deniedAt {
					if at.Before(r.Until) {
						rec.denied++
					}
				}
				res, err := Run(ctx, s, candidate(t, p, bundleDir(t, map[string]string{"slow.rego": slow})), r,
					Options{EvalTimeout: 50 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if res.Errors != res.Replayed || res.NewlyDeniedRuns != rec.runs-rec.denied || res.NewlyAllowedRuns != 0 {
					t.Errorf("errors %d of %d, newly denied %d; want every document failed and every run allowed before (%d) denied",
						res.Errors, res.Replayed, res.NewlyDeniedRuns, rec.runs-rec.denied)
				}
				if f := res.NewlyDenied[0].Added; len(f) != 1 || f[0].Policy != PolicyUnreadable || !strings.Contains(f[0].Message, "took longer than 50ms") {
					t.Errorf("finding = %+v; want runpolicy's, naming the timeout", f)
				}
			})

			t.Run("cancelled", func(t *testing.T) {
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := Run(cctx, s, builtin(t), req, Options{}); !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v; want context.Canceled", err)
				}
			})
		})
	}
}

// gitPolicies makes a policy repository whose main branch holds a harmless
// policy and whose strict branch adds no_checkout.
func gitPolicies(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	commit := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Commit(name, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
			t.Fatal(err)
		}
	}
	commit("harmless.rego", harmless)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("strict"), Create: true}); err != nil {
		t.Fatal(err)
	}
	commit("no_checkout.rego", noCheckout)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("main")}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCandidate(t *testing.T) {
	ctx := context.Background()
	repo := gitPolicies(t)
	p := Policies{Sources: []bundles.SourceConfig{{Name: "org", URL: "file://" + repo, Ref: "main"}}}
	strictDir := bundleDir(t, map[string]string{"no_checkout.rego": noCheckout})

	facts, names, err := replaytest.Workflows(corpus)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, "ossf__scorecard__main") })
	scorecard := replaytest.Document(facts[names[i]], names[i], replaytest.Run{Repository: "acme/web", ID: 1})
	// checkoutDenied reports whether eng's no_checkout policy finds the
	// scorecard workflow's actions/checkout.
	checkoutDenied := func(eng *engine.Engine) bool {
		res, err := eng.Eval(ctx, scorecard)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(res.Violations, func(v engine.Violation) bool { return v.Policy == "no_checkout" })
	}

	tests := []struct {
		spec      string
		p         Policies
		denies    bool
		revisions []string
	}{
		{spec: "org@strict", p: p, denies: true, revisions: []string{"builtin", "org"}},
		{spec: "org@main", p: p, denies: false, revisions: []string{"builtin", "org"}},
		{spec: "org=" + strictDir, p: p, denies: true, revisions: []string{"builtin", "org"}},
		{spec: strictDir, p: p, denies: true, revisions: []string{"builtin", "org", strictDir}},
		{spec: strictDir, p: Policies{}, denies: true, revisions: []string{"builtin", strictDir}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			eng := candidate(t, tt.p, tt.spec)
			if got := checkoutDenied(eng); got != tt.denies {
				t.Errorf("candidate %s denies actions/checkout: %v; want %v", tt.spec, got, tt.denies)
			}
			var names []string
			for n := range eng.Revisions() {
				names = append(names, n)
			}
			slices.Sort(names)
			slices.Sort(tt.revisions)
			if !slices.Equal(names, tt.revisions) {
				t.Errorf("candidate %s bundles = %v; want %v", tt.spec, names, tt.revisions)
			}
		})
	}

	errs := []struct {
		spec string
		p    Policies
		want string
	}{
		{"", p, "no candidate policy"},
		{"org@", p, "is not a branch, tag or commit name"},
		{"org@../x", p, "is not a branch, tag or commit name"},
		{"org@no-such-branch", p, "no-such-branch"},
		{"nope=" + strictDir, p, "nope=" + strictDir},
		{strictDir, Policies{Sources: p.Sources, OnlyConfigured: true}, "want NAME@REF, NAME one of the configured bundle sources (org)"},
		{"other@main", Policies{OnlyConfigured: true}, "none configured"},
		{bundleDir(t, map[string]string{"bad.rego": "package x\nnot rego"}), p, "bad.rego"},
	}
	for _, tt := range errs {
		t.Run("error "+tt.spec, func(t *testing.T) {
			_, err := tt.p.Candidate(ctx, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Candidate(%q) error = %v; want one line with %q", tt.spec, err, tt.want)
			}
		})
	}

	eng, err := p.CandidateBundle(ctx, tarballOf(t, map[string]string{"no_checkout.rego": noCheckout}), "org")
	if err != nil || !checkoutDenied(eng) || len(eng.Revisions()) != 2 {
		t.Errorf("uploaded bundle replacing org: %v, revisions %v; want no_checkout in force, org replaced", err, eng.Revisions())
	}
	if _, err := p.CandidateBundle(ctx, nil, ""); err == nil {
		t.Error("an empty upload was taken")
	}
	if _, err := p.CandidateBundle(ctx, []byte("not a tarball"), ""); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("a bad upload: %v; want a one-line error", err)
	}
}

func TestCheckRef(t *testing.T) {
	for _, ok := range []string{"main", "v1.2.3", "feature/x", "0123456789abcdef0123456789abcdef01234567", "refs/heads/main"} {
		if err := checkRef(ok); err != nil {
			t.Errorf("checkRef(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "a..b", "a b", "a:b", "a~1", "a^", "/x", "x/", "x.lock", "a\nb", "x@{1}", strings.Repeat("a", 256)} {
		if err := checkRef(bad); err == nil {
			t.Errorf("checkRef(%q) accepted", bad)
		}
	}
}

// The result survives its JSON round trip through the store.
func TestResultJSON(t *testing.T) {
	r := Result{Candidate: map[string]string{"org": "abc"}, Runs: 2, NewlyDeniedRuns: 1,
		NewlyDenied: []RunChange{{Repository: "a/b", RunID: 1, Added: []Finding{{Policy: "p", Mode: "enforce", Message: "m"}}}},
		Policies:    []PolicyChange{{Policy: "p", NewlyDenied: 1, Added: 1}}, Elapsed: time.Second}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.NewlyDenied[0].Added[0] != r.NewlyDenied[0].Added[0] || back.Elapsed != time.Second {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
